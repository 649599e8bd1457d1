package labs

import (
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/matrix"
)

// good is a valid lab; the error cases below each break one thing.
const good = `name: t
title: T
scenario: netpol-lab
tasks:
- name: one
  title: One
  brief: b
  hints: [h]
  explanation: e
  expect:
    rules:
    - "* -> * allow"
    - "* -> netpol-lab/backend deny"
  solution: |
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: deny-backend, namespace: netpol-lab}
    spec:
      podSelector: {matchLabels: {app: backend}}
`

func TestParseGood(t *testing.T) {
	l, err := Parse("labs/01-t.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	task := l.Tasks[0]
	if task.Points != 10 || task.Enforcer != EnforcerEBPF || len(task.Solution) != 1 || len(task.Start) != 0 {
		t.Errorf("defaults: points %d enforcer %q solution %d start %d", task.Points, task.Enforcer, len(task.Solution), len(task.Start))
	}
	// netpol-lab: client, frontend(80), backend(8080), coredns(53 UDP+TCP):
	// 3 sources x 4 destination ports + coredns x 2 = 3*... count by hand:
	// client->frontend,backend,dns*2 = 4; frontend->backend,dns*2 = 3;
	// backend->frontend,dns*2 = 3; coredns->frontend,backend = 2.
	exp := task.Expected()
	if len(exp.Results) != 12 {
		t.Fatalf("expected matrix has %d cells, want 12", len(exp.Results))
	}
	denied := 0
	for _, c := range exp.Results {
		if !c.Allowed {
			denied++
			if c.To != "netpol-lab/backend" {
				t.Errorf("%s denied, only cells to the backend should be", c.Key())
			}
		}
	}
	if denied != 3 {
		t.Errorf("%d cells denied, want the 3 to the backend", denied)
	}
	if probs := l.Lint(); len(probs) != 0 {
		t.Errorf("lint: %v", probs)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, old, new string
		want                 []string
	}{
		{"unknown field", "labs/01-t.yaml", "  brief: b\n", "  brief: b\n  hint: x\n", []string{"labs/01-t.yaml", "lab t", `unknown field "tasks[0].hint"`}},
		{"file name", "labs/01-other.yaml", "", "", []string{"lab t: name", "does not match the file name"}},
		{"no scenario", "labs/01-t.yaml", "scenario: netpol-lab", "scenario: nope", []string{"lab t: scenario", `unknown scenario "nope"`}},
		{"bad rule", "labs/01-t.yaml", `"* -> netpol-lab/backend deny"`, `"* -> netpol-lab/backend block"`, []string{"task one: expect.rules[1]", `verdict "block"`}},
		{"unknown pod", "labs/01-t.yaml", `"* -> netpol-lab/backend deny"`, `"* -> netpol-lab/db deny"`, []string{"task one: expect.rules[1]", "no pod netpol-lab/db"}},
		{"rule matches nothing", "labs/01-t.yaml", `"* -> netpol-lab/backend deny"`, `"* -> netpol-lab/client deny"`, []string{"expect.rules[1]", "matches no cell"}},
		{"undecided cells", "labs/01-t.yaml", `    - "* -> * allow"` + "\n", "", []string{"task one: expect", "no rule decides kube-system/coredns -> netpol-lab/frontend:80/TCP", "and 4 more"}},
		{"internet without host", "labs/01-t.yaml", `"* -> * allow"`, `"* -> internet allow"`, []string{"expect.rules[0]", "no internet host"}},
		{"bad policy", "labs/01-t.yaml", "podSelector: {matchLabels: {app: backend}}", "podSelector: {matchLabels: {app: backend}}\n      policyTypes: [Sideways]", []string{"task one: solution", "NetworkPolicy netpol-lab/deny-backend is invalid", "spec.policyTypes[0]"}},
		{"policy namespace", "labs/01-t.yaml", "namespace: netpol-lab}", "namespace: elsewhere}", []string{"task one: solution", `namespace "elsewhere" is not in the scenario`}},
		{"missing hints", "labs/01-t.yaml", "  hints: [h]\n", "", []string{"task one: hints", "at least one hint"}},
		{"bad enforcer", "labs/01-t.yaml", "  brief: b\n", "  brief: b\n  enforcer: calico\n", []string{"task one: enforcer", `unsupported value "calico"`}},
		{"remove unknown", "labs/01-t.yaml", "  brief: b\n", "  brief: b\n  remove: [netpol-lab/nope]\n", []string{"task one: remove[0]", "not in the task's starting policies"}},
		{"inherit first", "labs/01-t.yaml", "    rules:\n", "    inherit: true\n    rules:\n", []string{"task one: expect.inherit", "no previous task"}},
		{"label unknown pod", "labs/01-t.yaml", "  brief: b\n", "  brief: b\n  labels: [{pod: netpol-lab/nope, set: {a: b}}]\n", []string{"task one: labels[0].pod", `no pod "netpol-lab/nope"`}},
		{"malformed", "labs/01-t.yaml", "tasks:\n", "tasks: [\n", []string{"labs/01-t.yaml", "malformed YAML"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := good
			if tc.old != "" || tc.new != "" {
				if !strings.Contains(src, tc.old) {
					t.Fatalf("test bug: %q not in the lab", tc.old)
				}
				src = strings.Replace(src, tc.old, tc.new, 1)
			}
			_, err := Parse(tc.file, []byte(src))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestLintFindsBrokenLabs makes sure lint can fail: a solution that does
// not produce the expected matrix, and a task already solved at start.
func TestLintFindsBrokenLabs(t *testing.T) {
	wrong := strings.Replace(good, `"* -> netpol-lab/backend deny"`, `"* -> netpol-lab/frontend deny"`, 1)
	l, err := Parse("labs/01-t.yaml", []byte(wrong))
	if err != nil {
		t.Fatal(err)
	}
	probs := l.Lint()
	if len(probs) != 1 || !strings.Contains(probs[0].Message, "reference solution does not produce the expected matrix") ||
		!strings.Contains(probs[0].Message, "netpol-lab/client -> netpol-lab/backend:8080/TCP (expected allowed, got blocked)") {
		t.Errorf("lint = %v", probs)
	}
	solved := strings.Replace(good, `    - "* -> netpol-lab/backend deny"`+"\n", "", 1)
	solved = strings.Replace(solved, "app: backend", "app: nothing-has-this", 1)
	if l, err = Parse("labs/01-t.yaml", []byte(solved)); err != nil {
		t.Fatal(err)
	}
	if probs := l.Lint(); len(probs) != 1 || !strings.Contains(probs[0].Message, "already passes") {
		t.Errorf("lint = %v", probs)
	}
}

// TestCatalogue lints every embedded lab through the engine and checks the
// course's promises: every non-observe task fails from its starting state,
// so no task is solved before the learner acts, and the catalogue covers
// the subject.
func TestCatalogue(t *testing.T) {
	all, err := List()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 16 {
		t.Errorf("%d labs; the catalogue has at least 16", len(all))
	}
	for _, l := range all {
		for _, p := range l.Lint() {
			t.Errorf("%s", p)
		}
		first := l.Tasks[0]
		if d := matrix.Compare(first.Predict(first.StartWorld()), first.Expected()); len(d) == 0 {
			t.Errorf("%s: the starting state passes the first task", first.ID())
		}
		for _, task := range l.Tasks {
			if task.Observe {
				continue
			}
			if d := matrix.Compare(task.Predict(task.StartWorld()), task.Expected()); len(d) == 0 {
				t.Errorf("%s: the starting state already passes", task.ID())
			}
		}
	}
	for _, name := range []string{"flat-network", "default-deny", "db-isolation", "peers", "match-expressions",
		"untrusted-egress", "dns", "internet-egress", "chain-of-trust", "namespace-isolation", "both-sides",
		"combine-or", "ports", "enforcer", "least-privilege", "rollback"} {
		if _, err := Get(name); err != nil {
			t.Errorf("catalogue: %v", err)
		}
	}
}

// TestChainOfTrust checks by hand the cell the lesson is about: a
// compromised UI cannot reach the vector database.
func TestChainOfTrust(t *testing.T) {
	l, err := Get("chain-of-trust")
	if err != nil {
		t.Fatal(err)
	}
	idx := l.Tasks[0].Expected().Index()
	for _, tc := range []struct {
		k    matrix.Key
		want bool
	}{
		{matrix.Key{From: "ai/ui", To: "ai/vectordb", Port: 6333, Protocol: "TCP"}, false},
		{matrix.Key{From: "ai/api", To: "ai/vectordb", Port: 6334, Protocol: "TCP"}, true},
		{matrix.Key{From: "ingress-nginx/controller", To: "ai/ui", Port: 3000, Protocol: "TCP"}, true},
		{matrix.Key{From: "ingress-nginx/controller", To: "ai/api", Port: 8000, Protocol: "TCP"}, false},
		{matrix.Key{From: "ai/ui", To: InternetIP, Port: 443, Protocol: "TCP"}, true},
	} {
		c, ok := idx[tc.k]
		if !ok || c.Allowed != tc.want {
			t.Errorf("%s: present %v allowed %v, want allowed %v", tc.k, ok, c.Allowed, tc.want)
		}
	}
	if c := l.Tasks[1].Expected().Index()[matrix.Key{From: "ai/ui", To: InternetIP, Port: 443, Protocol: "TCP"}]; c.Allowed {
		t.Error("task 2: the UI may still reach the internet")
	}
}
