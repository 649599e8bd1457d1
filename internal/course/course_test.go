package course_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/course"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/internal/progress"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/testenv"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/labs"
)

var self string

func TestMain(m *testing.M) { testenv.Main(m, &self) }

const denyBackend = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-backend, namespace: netpol-lab}
spec:
  podSelector: {matchLabels: {app: backend}}
  policyTypes: [Ingress]`

const denyIngress = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: my-deny, namespace: netpol-lab}
spec: {podSelector: {}, policyTypes: [Ingress]}`

const denyAll = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: my-deny-all, namespace: netpol-lab}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}`

func apply(t *testing.T, lab, yaml string) {
	t.Helper()
	objs, err := world.Parse("test.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sandbox.ApplyPolicies(lab, objs.PolicyList()); err != nil {
		t.Fatal(err)
	}
}

func policyNames(t *testing.T, lab string) string {
	t.Helper()
	st, err := sandbox.Load(lab)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, np := range st.World.Policies {
		names = append(names, np.Namespace+"/"+np.Name)
	}
	return strings.Join(names, ",")
}

// TestSession walks the default-deny lab as a learner would: a failing
// start, hints, a wrong answer, a right one, a restart of the sandbox in
// the middle, the solution, and reset.
func TestSession(t *testing.T) {
	testenv.RequireRoot(t)
	ctx := context.Background()
	instance := fmt.Sprintf("t%d-course", os.Getpid()%10000)
	store := progress.Store{Path: filepath.Join(t.TempDir(), "progress.json")}
	s := &course.Session{Store: store, Instance: instance, Self: self, Timeout: 500 * time.Millisecond}
	t.Cleanup(func() {
		sandbox.Down(instance, nil)
		if left := sandbox.Leftovers(instance); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	})
	lab, err := labs.Get("default-deny")
	if err != nil {
		t.Fatal(err)
	}

	if _, _, err := s.Check(ctx); err != course.ErrNoCurrent {
		t.Fatalf("check before start: %v, want ErrNoCurrent", err)
	}
	pos, err := s.Start(ctx, "default-deny")
	if err != nil {
		t.Fatal(err)
	}
	if pos.Task.Name != "deny-ingress" {
		t.Fatalf("start: task %s, want deny-ingress", pos.Task.Name)
	}

	// The flat start fails: everything into netpol-lab is allowed.
	res, _, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed || res.Verdict != grade.OverPermissive || len(res.Leaked) == 0 || res.Points != 0 {
		t.Fatalf("start state: verdict %s, %d leaked, %v points; want over-permissive with 0 points", res.Verdict, len(res.Leaked), res.Points)
	}

	// Hints come one at a time and stop at the last.
	for i, want := range []int{1, 2} {
		text, n, of, err := s.Hint()
		if err != nil {
			t.Fatal(err)
		}
		if n != want || of != len(lab.Tasks[0].Hints) || text != lab.Tasks[0].Hints[want-1] {
			t.Fatalf("hint call %d: hint %d/%d %q, want hint %d", i+1, n, of, text, want)
		}
	}
	if _, _, _, err := s.Hint(); err != course.ErrNoMoreHints {
		t.Fatalf("hint past the last: %v, want ErrNoMoreHints", err)
	}

	// Isolating only the backend still leaks into client and frontend.
	apply(t, instance, denyBackend)
	res, _, err = s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed || res.Points <= 0 || res.Points >= 10 {
		t.Fatalf("backend only: passed %v with %v points; want partial credit", res.Passed, res.Points)
	}
	for _, c := range res.Leaked {
		if strings.HasSuffix(c.To, "/backend") || c.Why == "" {
			t.Errorf("leaked cell %s (why %q): the backend is isolated and every leak needs an explanation", c.Cell, c.Why)
		}
	}

	// Next refuses to move on before a pass.
	if pos, advanced, err := s.Next(ctx); err != nil || advanced || pos.Task.Name != "deny-ingress" {
		t.Fatalf("next before a pass: advanced %v to %v (%v)", advanced, pos.Task, err)
	}
	// The right answer passes and moves on.
	apply(t, instance, denyIngress)
	res, m, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed || res.Points != 10 || len(m.Results) != res.Cells {
		t.Fatalf("right answer: passed %v, %v points, %d cells measured for %d graded", res.Passed, res.Points, len(m.Results), res.Cells)
	}
	next, advanced, err := s.Next(ctx)
	if err != nil || !advanced || next.Task == nil || next.Task.Name != "deny-all" {
		t.Fatalf("next after a pass: advanced %v to %v (%v)", advanced, next.Task, err)
	}

	// Progress survives the sandbox going away.
	if err := sandbox.Down(instance, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Check(ctx); err == nil || !strings.Contains(err.Error(), "lab start default-deny") {
		t.Fatalf("check without a running lab: %v, want advice to start it", err)
	}
	pos, err = s.Start(ctx, "default-deny")
	if err != nil {
		t.Fatal(err)
	}
	if pos.Task.Name != "deny-all" {
		t.Fatalf("restart: task %s, want deny-all", pos.Task.Name)
	}
	res, _, err = s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed {
		t.Fatal("deny-all passed from its starting state")
	}

	// Reset removes the learner's policies.
	before := policyNames(t, instance)
	apply(t, instance, denyBackend)
	if _, err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if after := policyNames(t, instance); after != before {
		t.Fatalf("after reset: policies %s, want %s", after, before)
	}

	// Seeing the solution costs the task's points.
	sol, err := s.Solution()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sol.SolutionYAML, "kind: NetworkPolicy") {
		t.Fatalf("solution: %q", sol.SolutionYAML)
	}
	apply(t, instance, denyAll)
	if res, _, err = s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if next, _, err = s.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if !res.Passed || !next.Finished() {
		t.Fatalf("deny-all: passed %v, finished %v", res.Passed, next.Finished())
	}
	f, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	lp := f.Labs["default-deny"]
	if lp.Passed["deny-ingress"].Points != 10 || lp.Passed["deny-all"].Points != 0 || lp.Score() != 10 {
		t.Fatalf("saved scores %+v, want 10 for deny-ingress and 0 for deny-all (solution shown)", lp.Passed)
	}
}
