package course_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/course"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/internal/kindlab"
	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/progress"
	"github.com/netlab/netlab/internal/testenv"
	"github.com/netlab/netlab/labs"
)

// requireKind skips outside CI when the host cannot make kind clusters
// (no root, Docker or node image) and fails under CI=true.
func requireKind(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("creates kind clusters (minutes)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := kindlab.Preflight(ctx, "")
	testenv.Require(t, err == nil, fmt.Sprint(err))
	// The learner's kubeconfig is not the test's business.
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "kubeconfig"))
}

// TestKindCourse runs the enforcer lab on a kind cluster: the policy
// bites with netlab's enforcer, then the same policy is ignored once the
// node agents are switched to --enforcer none (a DaemonSet rollout), and
// the check grades both with real probes through the API server.
func TestKindCourse(t *testing.T) {
	requireKind(t)
	ctx := context.Background()
	instance := fmt.Sprintf("t%d-kc", os.Getpid()%10000)
	store := progress.Store{Path: filepath.Join(t.TempDir(), "progress.json")}
	s := &course.Session{Store: store, Instance: instance, Self: self, Timeout: time.Second, Backend: backend.Kind, Progress: os.Stderr}
	t.Cleanup(func() {
		if err := kindlab.Down(instance, "", nil); err != nil {
			t.Errorf("down: %v", err)
		}
		if left := kindlab.Leftovers(instance); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	})
	lab, err := labs.Get("enforcer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(ctx, lab.Name); err != nil {
		t.Fatal(err)
	}
	rt := s.Runtime()
	if rt.Backend() != backend.Kind {
		t.Fatalf("runtime %s, want kind", rt.Backend())
	}
	res, m, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed || res.Verdict != grade.OverPermissive {
		t.Fatalf("start state: %s, want over-permissive", res.Verdict)
	}
	// CoreDNS plays the scenario's kube-system/coredns, and probes start
	// inside it too (netlab's ephemeral container): nothing is predicted.
	fromDNS := 0
	for _, c := range m.Results {
		if c.Detail == course.DetailPredicted {
			t.Errorf("cell %s predicted, not measured", c.Key())
		}
		if c.From == "kube-system/coredns" {
			fromDNS++
		}
	}
	if fromDNS == 0 {
		t.Errorf("no cells measured from kube-system/coredns")
	}

	first := lab.Tasks[0]
	if _, err := rt.Apply(ctx, first.Solution); err != nil {
		t.Fatal(err)
	}
	if res, _, err = s.Check(ctx); err != nil || !res.Passed {
		t.Fatalf("reference solution on kind: %v %+v", err, res)
	}
	// The kernel's verdicts, read from every node while a probe runs.
	if m, err = rt.Probe(ctx, backend.ProbeOptions{Timeout: time.Second, Why: true}); err != nil {
		t.Fatal(err)
	}
	c := m.Index()[matrix.Key{From: "netpol-lab/client", To: "netpol-lab/backend", Port: 8080, Protocol: "TCP"}]
	want := "ingress of netpol-lab/backend: dropped: no ingress rule of the policies selecting it matches"
	if c.Allowed || !slices.Contains(c.Why, want) {
		t.Errorf("client -> backend:8080 on kind: allowed %v, verdicts %q; want blocked with %q", c.Allowed, c.Why, want)
	}
	next, advanced, err := s.Next(ctx)
	if err != nil || !advanced || next.Task.Name != "without-enforcer" {
		t.Fatalf("next: %v %v %v", advanced, next.Task, err)
	}
	if st, _ := kindlab.Load(instance); st.Enforcement != kindlab.EnforceNone {
		t.Fatalf("after entering without-enforcer the lab enforces %q", st.Enforcement)
	}
	w, err := rt.World(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Policies) == 0 {
		t.Fatal("the policy should still be stored without an enforcer")
	}
	if res, _, err = s.Check(ctx); err != nil || !res.Passed {
		t.Fatalf("without an enforcer everything is open: %v %+v", err, res)
	}
}

// TestKindGrade grades a good submission of default-deny on a fresh kind
// cluster.
func TestKindGrade(t *testing.T) {
	requireKind(t)
	lab, err := labs.Get("default-deny")
	if err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{
		"deny-ingress/p.yaml": lab.Tasks[0].SolutionYAML,
		"deny-all/p.yaml":     lab.Tasks[1].SolutionYAML,
	})
	answers, err := course.ReadSubmission(dir, lab)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("t%d-kg", os.Getpid()%10000)
	rep, errs, err := course.Grade(context.Background(), lab, answers, course.GradeOptions{Backend: backend.Kind, Instance: name, Self: self, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if left := kindlab.Leftovers(name); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	if rep.Points != 20 || rep.Passed != 2 || len(errs) != 0 {
		for _, r := range rep.Results {
			t.Logf("%s: %s %v/%d missing %v leaked %v unmeasured %v", r.Task, r.Verdict, r.Points, r.MaxPoints, r.Missing, r.Leaked, r.Unmeasured)
		}
		t.Fatalf("good submission on kind: %v/%d points, %d passed, errors %v", rep.Points, rep.MaxPoints, rep.Passed, errs)
	}
}
