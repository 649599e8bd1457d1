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
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/testenv"
	"github.com/netlab/netlab/labs"
)

// writeTree creates files (path -> content) under a fresh directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadSubmissionRejects(t *testing.T) {
	lab, err := labs.Get("default-deny")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		files map[string]string
		want  []string // in the error of every task
	}{
		{"bad YAML", map[string]string{"p.yaml": "kind: NetworkPolicy\n  metadata: [\n"},
			[]string{"p.yaml"}},
		{"invalid policy", map[string]string{"p.yaml": `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad-port, namespace: netpol-lab}
spec:
  podSelector: {}
  ingress: [{ports: [{port: 70000}]}]`},
			[]string{"p.yaml", "bad-port", "spec.ingress[0].ports[0].port"}},
		{"a pod (changing the world)", map[string]string{"p.yaml": `
apiVersion: v1
kind: Pod
metadata: {name: backend, namespace: netpol-lab, labels: {app: frontend}}
spec: {containers: [{name: c, image: x}]}`},
			[]string{"p.yaml", "Pod netpol-lab/backend", "only contain NetworkPolicies"}},
		{"expectations in disguise", map[string]string{"expected.yaml": `
name: default-deny
tasks:
- name: deny-ingress
  expect: {rules: ["* -> * allow"]}`},
			[]string{"expected.yaml", "Kind"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			answers, err := course.ReadSubmission(writeTree(t, tc.files), lab)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range answers {
				if a.Err == nil {
					t.Fatalf("task %s: accepted", a.Task.Name)
				}
				for _, w := range tc.want {
					if !strings.Contains(a.Err.Error(), w) {
						t.Errorf("task %s: error %q does not mention %q", a.Task.Name, a.Err, w)
					}
				}
			}
		})
	}
	if _, err := course.ReadSubmission(filepath.Join(t.TempDir(), "nope"), lab); err == nil {
		t.Error("a missing submission directory was accepted")
	}
	dir := writeTree(t, map[string]string{"deny-all/remove.txt": "netpol-lab/not-there\n"})
	answers, _ := course.ReadSubmission(dir, lab)
	if e := answers[1].Err; e == nil || !strings.Contains(e.Error(), "remove.txt:1") {
		t.Errorf("removing a policy that is not a starting one: %v", e)
	}
}

// TestGrade grades submissions for real: a fresh sandbox lab each, real
// probes, expectations from the binary.
func TestGrade(t *testing.T) {
	testenv.RequireRoot(t)
	lab, err := labs.Get("default-deny")
	if err != nil {
		t.Fatal(err)
	}
	good := map[string]string{
		"deny-ingress/p.yaml": lab.Tasks[0].SolutionYAML,
		"deny-all/p.yaml":     lab.Tasks[1].SolutionYAML,
	}
	cases := []struct {
		name    string
		files   map[string]string
		points  func(p float64) bool
		passed  int
		verdict []grade.Verdict
		errs    int
	}{
		{"good", good, func(p float64) bool { return p == 20 }, 2, []grade.Verdict{grade.Pass, grade.Pass}, 0},
		{"by number", map[string]string{"1/p.yaml": good["deny-ingress/p.yaml"], "2/p.yaml": good["deny-all/p.yaml"]},
			func(p float64) bool { return p == 20 }, 2, []grade.Verdict{grade.Pass, grade.Pass}, 0},
		{"partial: second task not done", map[string]string{"deny-ingress/p.yaml": good["deny-ingress/p.yaml"]},
			func(p float64) bool { return p == 10 }, 1, []grade.Verdict{grade.Pass, grade.OverPermissive}, 0},
		{"over-permissive: only the backend", map[string]string{"p.yaml": denyBackend},
			func(p float64) bool { return p > 0 && p < 10 }, 0, []grade.Verdict{grade.OverPermissive, grade.OverPermissive}, 0},
		{"hostile: a policy in kube-system that cuts DNS", map[string]string{
			"deny-ingress/p.yaml": good["deny-ingress/p.yaml"] + `
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: cut-dns, namespace: kube-system}
spec: {podSelector: {}, policyTypes: [Ingress]}`,
			"deny-all/p.yaml": good["deny-all/p.yaml"]},
			func(p float64) bool { return p >= 10 && p < 20 }, 1, []grade.Verdict{grade.TooStrict, grade.Pass}, 0},
		{"malformed everywhere", map[string]string{"p.yaml": "::: not yaml"},
			func(p float64) bool { return p == 0 }, 0, []grade.Verdict{grade.Invalid, grade.Invalid}, 2},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			answers, err := course.ReadSubmission(writeTree(t, tc.files), lab)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("t%d-g%d", os.Getpid()%10000, i)
			rep, errs, err := course.Grade(context.Background(), lab, answers, course.GradeOptions{Instance: name, Self: self, Timeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if left := sandbox.Leftovers(name); len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
			var got []grade.Verdict
			for _, r := range rep.Results {
				got = append(got, r.Verdict)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.verdict) || rep.Passed != tc.passed || !tc.points(rep.Points) || len(errs) != tc.errs || rep.MaxPoints != 20 {
				t.Errorf("verdicts %v, %d passed, %v/%d points, errors %v", got, rep.Passed, rep.Points, rep.MaxPoints, errs)
			}
		})
	}
}
