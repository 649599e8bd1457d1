package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/testenv"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/internal/worldgen"
	"github.com/netlab/netlab/scenarios"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// self is a netlab binary built for the tests: the agents and the enforcer
// run as separate processes, as they do for users.
var self string

func TestMain(m *testing.M) { testenv.Main(m, &self) }

func up(t *testing.T, name string, w *world.World) {
	t.Helper()
	if _, err := sandbox.Up(context.Background(), w, sandbox.Options{Name: name, Self: self}); err != nil {
		t.Fatalf("up %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := sandbox.Down(name, nil); err != nil && !strings.Contains(err.Error(), "no such lab") {
			t.Errorf("down %s: %v", name, err)
		}
		if left := sandbox.Leftovers(name); len(left) > 0 {
			t.Errorf("lab %s left behind: %v", name, left)
		}
	})
}

func probe(t *testing.T, name string, o sandbox.ProbeOptions) *matrix.Matrix {
	t.Helper()
	o.Self = self
	if o.Timeout == 0 {
		o.Timeout = 700 * time.Millisecond
	}
	m, err := sandbox.Probe(context.Background(), name, o)
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	return m
}

// expect returns the engine's verdicts for the measured cells.
func expect(w *world.World, got *matrix.Matrix) *matrix.Matrix {
	e := netpol.New(w)
	want := &matrix.Matrix{}
	for _, c := range got.Results {
		src, _ := e.ResolveEndpoint(c.From)
		dst, _ := e.ResolveEndpoint(c.To)
		c.Allowed = e.Allowed(src, dst, c.Port, corev1.Protocol(c.Protocol))
		c.Detail = ""
		want.Results = append(want.Results, c)
	}
	return want
}

func mustEqual(t *testing.T, what string, w *world.World, got *matrix.Matrix) {
	t.Helper()
	if len(got.Results) == 0 {
		t.Fatalf("%s: empty matrix", what)
	}
	e := netpol.New(w)
	for _, mm := range matrix.Compare(got, expect(w, got)) {
		src, _ := e.ResolveEndpoint(mm.Key.From)
		dst, _ := e.ResolveEndpoint(mm.Key.To)
		t.Errorf("%s: %s measured %v (%s), engine says %v: %s", what, mm.Key, mm.Got.Allowed, mm.Got.Detail, mm.Expected.Allowed,
			e.Explain(src, dst, mm.Key.Port, corev1.Protocol(mm.Key.Protocol)).Summary)
	}
}

func scenarioWorld(t *testing.T, extra string) *world.World {
	t.Helper()
	name, data, err := scenarios.Get("netpol-lab")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := world.Parse(name, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if extra != "" {
		more, err := world.Parse("extra.yaml", []byte(extra), nil)
		if err != nil {
			t.Fatal(err)
		}
		objs.Merge(more)
	}
	w, err := world.Build(objs, nil)
	if err != nil {
		t.Fatal(err)
	}
	world.AssignIPs(w, nil) // the sandbox's addresses, as for every lab
	return w
}

func policies(t *testing.T, yaml string) *world.Objects {
	t.Helper()
	objs, err := world.Parse("policy.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func cell(t *testing.T, m *matrix.Matrix, from, to string, port int32, proto string) matrix.Cell {
	t.Helper()
	c, ok := m.Index()[matrix.Key{From: from, To: to, Port: port, Protocol: proto}]
	if !ok {
		t.Fatalf("no cell %s -> %s:%d/%s", from, to, port, proto)
	}
	return c
}

const otherNS = `
apiVersion: v1
kind: Namespace
metadata: {name: monitoring, labels: {team: ops}}
---
apiVersion: v1
kind: Pod
metadata: {name: prometheus, namespace: monitoring, labels: {app: prometheus}}
spec: {containers: [{name: c, ports: [{containerPort: 9090}]}]}
`

// TestNetpolLabLesson walks the course's steps on real packets and checks
// every cell against the engine after each step.
func TestNetpolLabLesson(t *testing.T) {
	testenv.RequireRoot(t)
	lab := fmt.Sprintf("t%d-lesson", os.Getpid()%10000)
	w := scenarioWorld(t, otherNS)
	up(t, lab, w)
	all := sandbox.ProbeOptions{Internet: true}

	m := probe(t, lab, all)
	if m.Allowed() != len(m.Results) {
		t.Fatalf("a flat network allows everything; %d of %d allowed", m.Allowed(), len(m.Results))
	}
	steps := []struct{ name, yaml string }{
		{"default-deny", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: netpol-lab}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}`},
		{"allow frontend->backend:8080 both sides", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: fe-out, namespace: netpol-lab}
spec:
  podSelector: {matchLabels: {app: frontend}}
  egress: [{to: [{podSelector: {matchLabels: {app: backend}}}], ports: [{port: 8080}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: be-in, namespace: netpol-lab}
spec:
  podSelector: {matchLabels: {app: backend}}
  ingress: [{from: [{podSelector: {matchLabels: {app: frontend}}}], ports: [{port: 8080}]}]`},
		{"DNS egress", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns, namespace: netpol-lab}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]`},
		{"ipBlock to the internet, except internal", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: internet, namespace: netpol-lab}
spec:
  podSelector: {matchLabels: {app: client}}
  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}], ports: [{port: 443}]}]`},
		{"namespaceSelector across namespaces", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: scrape, namespace: netpol-lab}
spec:
  podSelector: {matchLabels: {app: frontend}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: ops}}}], ports: [{port: http}]}]`},
	}
	for _, st := range steps {
		objs := policies(t, st.yaml)
		if _, err := sandbox.ApplyPolicies(lab, objs.PolicyList()); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		s, err := sandbox.Load(lab)
		if err != nil {
			t.Fatal(err)
		}
		m := probe(t, lab, all)
		mustEqual(t, st.name, s.World, m)
		switch st.name {
		case "default-deny":
			if c := cell(t, m, "netpol-lab/client", "netpol-lab/backend", 8080, "TCP"); c.Allowed || c.Detail != "timeout" {
				t.Errorf("default-deny: client->backend %+v, want a timeout", c)
			}
		case "allow frontend->backend:8080 both sides":
			// The kernel's own account of each side, from the event stream.
			w := probe(t, lab, sandbox.ProbeOptions{Why: true, From: []string{"netpol-lab/frontend", "netpol-lab/client"}, To: []string{"netpol-lab/backend"}})
			wantWhy(t, cell(t, w, "netpol-lab/frontend", "netpol-lab/backend", 8080, "TCP"),
				"egress of netpol-lab/frontend: allowed by netpol-lab/fe-out egress rule 0",
				"ingress of netpol-lab/backend: allowed by netpol-lab/be-in ingress rule 0")
			wantWhy(t, cell(t, w, "netpol-lab/client", "netpol-lab/backend", 8080, "TCP"),
				"egress of netpol-lab/client: dropped: no egress rule of the policies selecting it matches")
		case "ipBlock to the internet, except internal":
			if !cell(t, m, "netpol-lab/client", "203.0.113.10", 443, "TCP").Allowed || cell(t, m, "netpol-lab/client", "203.0.113.10", 80, "TCP").Allowed {
				t.Errorf("client should reach the internet on 443 only")
			}
		case "namespaceSelector across namespaces":
			if !cell(t, m, "monitoring/prometheus", "netpol-lab/frontend", 80, "TCP").Allowed {
				t.Errorf("monitoring/prometheus should reach frontend:80")
			}
		}
	}
	// Forgetting DNS egress makes names go dark: by name, the lookup fails.
	if _, err := sandbox.DeletePolicies(lab, []string{"netpol-lab/dns"}); err != nil {
		t.Fatal(err)
	}
	m = probe(t, lab, sandbox.ProbeOptions{ByName: true, From: []string{"netpol-lab/frontend"}})
	if c := cell(t, m, "netpol-lab/frontend", "netpol-lab/backend", 8080, "TCP"); c.Allowed || c.Detail != "dns-failed" {
		t.Errorf("without DNS egress frontend->backend by name = %+v, want dns-failed", c)
	}
	// A label change moves a pod into a policy's selector.
	if _, err := sandbox.Label(lab, "netpol-lab/client", false, []string{"app=frontend"}, true); err != nil {
		t.Fatal(err)
	}
	s, _ := sandbox.Load(lab)
	m = probe(t, lab, sandbox.ProbeOptions{})
	mustEqual(t, "after relabel", s.World, m)
	if !cell(t, m, "netpol-lab/client", "netpol-lab/backend", 8080, "TCP").Allowed {
		t.Errorf("client relabelled app=frontend should reach backend:8080")
	}
}

// TestDifferential brings up random worlds with random policies and checks
// every measured cell against the engine. The seed is printed on failure.
func TestDifferential(t *testing.T) {
	testenv.RequireRoot(t)
	base := time.Now().UnixNano() % 1000000
	if s := os.Getenv("NETLAB_SEED"); s != "" {
		fmt.Sscan(s, &base)
	}
	worlds := 30
	if testing.Short() {
		worlds = 5
	}
	cells := 0
	for i := 0; i < worlds; i++ {
		seed := base + int64(i)
		w := worldgen.Generate(seed, worldgen.Options{Namespaces: 2, Pods: 5, Policies: 3})
		lab := fmt.Sprintf("t%d-d%d", os.Getpid()%10000, i)
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			up(t, lab, w)
			m := probe(t, lab, sandbox.ProbeOptions{Timeout: 500 * time.Millisecond, Internet: true})
			cells += len(m.Results)
			mustEqual(t, fmt.Sprintf("seed %d (rerun with NETLAB_SEED=%d)", seed, seed), w, m)
			if err := sandbox.Down(lab, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Logf("%d worlds, %d cells compared (base seed %d)", worlds, cells, base)
}

// TestInvalidPolicyChangesNothing: a policy that fails compilation or a
// label change that fails validation leaves the lab exactly as it was.
func TestInvalidChangeChangesNothing(t *testing.T) {
	testenv.RequireRoot(t)
	lab := fmt.Sprintf("t%d-bad", os.Getpid()%10000)
	up(t, lab, scenarioWorld(t, ""))
	before, _ := sandbox.Load(lab)
	if _, err := sandbox.Label(lab, "netpol-lab/client", false, []string{"bad key!=x"}, true); err == nil {
		t.Fatal("invalid label accepted")
	}
	if _, err := sandbox.DeletePolicies(lab, []string{"netpol-lab/nope"}); err == nil {
		t.Fatal("deleting a missing policy succeeded")
	}
	// A namespace the lab does not have: the API server's answer, and not
	// even the valid policy before it is applied.
	evil := policies(t, `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ok, namespace: netpol-lab}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: x, namespace: evil}
spec: {podSelector: {}}`)
	if _, err := sandbox.ApplyPolicies(lab, evil.PolicyList()); err == nil || !strings.Contains(err.Error(), `namespaces "evil" not found`) {
		t.Fatalf("a policy in a namespace the lab does not have: %v", err)
	}
	after, _ := sandbox.Load(lab)
	if after.Generation != before.Generation || len(after.World.Policies) != 0 {
		t.Fatalf("state changed: generation %d -> %d", before.Generation, after.Generation)
	}
	m := probe(t, lab, sandbox.ProbeOptions{})
	if m.Allowed() != len(m.Results) {
		t.Fatalf("lab changed: %d of %d allowed", m.Allowed(), len(m.Results))
	}
}

// TestKillEnforcer: kill -9 the enforcer in the middle of a probe and start
// it again: not one cell changes.
func TestKillEnforcer(t *testing.T) {
	testenv.RequireRoot(t)
	lab := fmt.Sprintf("t%d-kill", os.Getpid()%10000)
	up(t, lab, scenarioWorld(t, ""))
	objs := policies(t, `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: be-in, namespace: netpol-lab}
spec:
  podSelector: {matchLabels: {app: backend}}
  ingress: [{from: [{podSelector: {matchLabels: {app: frontend}}}]}]`)
	if _, err := sandbox.ApplyPolicies(lab, objs.PolicyList()); err != nil {
		t.Fatal(err)
	}
	before := probe(t, lab, sandbox.ProbeOptions{})
	s, _ := sandbox.Load(lab)
	done := make(chan *matrix.Matrix)
	go func() {
		m, err := sandbox.Probe(context.Background(), lab, sandbox.ProbeOptions{Self: self, Timeout: 700 * time.Millisecond})
		if err != nil {
			t.Error(err)
		}
		done <- m
	}()
	time.Sleep(100 * time.Millisecond)
	if err := syscall.Kill(s.EnforcerPID, syscall.SIGKILL); err != nil {
		t.Fatalf("kill enforcer: %v", err)
	}
	during := <-done
	cmd := exec.Command(self, "enforcer", "run", "--name", lab)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	time.Sleep(300 * time.Millisecond)
	afterRestart := probe(t, lab, sandbox.ProbeOptions{})
	for name, m := range map[string]*matrix.Matrix{"during kill": during, "after restart": afterRestart} {
		if d := matrix.Compare(m, before); len(d) > 0 {
			t.Errorf("%s: %d cells changed, first %s", name, len(d), d[0].Key)
		}
	}
	mustEqual(t, "after restart", s.World, afterRestart)
}

type networkingPolicy = networkingv1.NetworkPolicy

func scenariosGet() (string, []byte, error) { return scenarios.Get("netpol-lab") }

// wantWhy checks a cell's enforcer verdicts (probe --why), in order.
func wantWhy(t *testing.T, c matrix.Cell, want ...string) {
	t.Helper()
	if strings.Join(c.Why, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: enforcer verdicts\n  %s\nwant\n  %s", c.Key(), strings.Join(c.Why, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestEnforcerNone: a lab started with --enforcer none stores policies and
// blocks nothing; switching enforcement on makes the same policies bite,
// and switching it off opens everything again.
func TestEnforcerNone(t *testing.T) {
	testenv.RequireRoot(t)
	lab := fmt.Sprintf("t%d-none", os.Getpid()%10000)
	w := scenarioWorld(t, "")
	if _, err := sandbox.Up(context.Background(), w, sandbox.Options{Name: lab, Self: self, Enforcement: sandbox.EnforceNone}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sandbox.Down(lab, nil); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	deny := policies(t, `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: netpol-lab}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}`)
	if _, err := sandbox.ApplyPolicies(lab, deny.PolicyList()); err != nil {
		t.Fatal(err)
	}
	opts := sandbox.ProbeOptions{From: []string{"netpol-lab/"}, Timeout: 300 * time.Millisecond}
	if m := probe(t, lab, opts); m.Allowed() != len(m.Results) {
		t.Fatalf("enforcer none: %d of %d cells allowed, want all", m.Allowed(), len(m.Results))
	}
	if _, err := sandbox.SetEnforcement(lab, sandbox.EnforceEBPF); err != nil {
		t.Fatal(err)
	}
	s, _ := sandbox.Load(lab)
	m := probe(t, lab, opts)
	mustEqual(t, "enforcing", s.World, m)
	if m.Allowed() != 0 {
		t.Fatalf("default-deny enforced: %d cells allowed, want 0", m.Allowed())
	}
	if _, err := sandbox.SetEnforcement(lab, sandbox.EnforceNone); err != nil {
		t.Fatal(err)
	}
	if m := probe(t, lab, opts); m.Allowed() != len(m.Results) {
		t.Fatalf("enforcer none again: %d of %d cells allowed, want all", m.Allowed(), len(m.Results))
	}
	if _, err := sandbox.SetEnforcement(lab, "cilium"); err == nil || !strings.Contains(err.Error(), `unknown enforcer "cilium"`) {
		t.Fatalf("SetEnforcement(cilium) = %v, want an unknown-enforcer error", err)
	}
}
