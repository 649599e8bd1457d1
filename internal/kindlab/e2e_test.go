package kindlab

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/netlabimage"
	"github.com/netlab/netlab/internal/testenv"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/internal/worldgen"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// requireKind skips the test outside CI and fails it under CI=true when
// the host cannot run it: a Docker test that silently skips in CI proves
// nothing. It returns the node image to use.
func requireKind(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("creates a kind cluster (minutes)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	img, err := Preflight(ctx, os.Getenv("NETLAB_NODE_IMAGE"))
	testenv.Require(t, err == nil, fmt.Sprint(err))
	return img
}

func policy(ns, name string, spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	world.DefaultNetworkPolicy(np)
	return np
}

func examplePolicies(t *testing.T, file string) []*networkingv1.NetworkPolicy {
	t.Helper()
	objs, err := world.Read([]string{filepath.Join("../../assets/examples/netpol-lab", file)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return objs.PolicyList()
}

// TestKindLab is the end-to-end run: a 2-node kind cluster, the netpol-lab
// scenario through default-deny, DNS egress, allow rules and a cross-node
// policy, probed by IP, by name and through Services, checked cell by cell
// against the engine; then the differential test on random policy sets;
// then deletion, leaving nothing behind.
func TestKindLab(t *testing.T) {
	nodeImg := requireKind(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()

	dir := t.TempDir()
	StateRoot = filepath.Join(dir, "state")
	bin, err := netlabimage.BuildStatic(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("nl-e2e-%d", os.Getpid()%100000)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	t.Cleanup(func() {
		if err := Down(name, kubeconfig, nil); err != nil {
			t.Errorf("down: %v", err)
		}
		if left := Leftovers(name); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	})

	w := netpolLab(t)
	start := time.Now()
	res, err := Up(ctx, w, Options{Name: name, Nodes: 2, NodeImage: nodeImg, Self: bin, Kubeconfig: kubeconfig, Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	for _, s := range res.Stages {
		stages = append(stages, fmt.Sprintf("%s %.1fs", s.Name, s.Duration.Seconds()))
	}
	t.Logf("up: %.1fs (%s)", time.Since(start).Seconds(), strings.Join(stages, ", "))

	// The learner's kubeconfig has kind's context.
	if data, err := os.ReadFile(kubeconfig); err != nil || !strings.Contains(string(data), "kind-"+name) {
		t.Errorf("kubeconfig %s lacks context kind-%s (%v)", kubeconfig, name, err)
	}
	// Re-running up on a lab that is up is safe and quick.
	again := time.Now()
	if _, err := Up(ctx, w, Options{Name: name, Nodes: 2, NodeImage: nodeImg, Self: bin, Kubeconfig: kubeconfig}); err != nil {
		t.Fatalf("second up: %v", err)
	}
	t.Logf("second up: %.1fs", time.Since(again).Seconds())

	c, _, err := Client(name)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := TakeSnapshot(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	nodesUsed := map[string]bool{}
	for _, p := range snap.World.Pods {
		if p.Namespace == "netpol-lab" {
			nodesUsed[p.Node] = true
		}
	}
	if len(nodesUsed) != 2 {
		t.Fatalf("lab pods on %v: want both nodes, so traffic crosses nodes", nodesUsed)
	}

	check := func(what string, o ProbeOptions) *matrix.Matrix {
		t.Helper()
		o.Timeout = time.Second
		t0 := time.Now()
		m, err := Probe(ctx, name, o)
		if err != nil {
			t.Fatalf("%s: probe: %v", what, err)
		}
		w, err := World(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if bad := Disagreements(w, m); len(bad) > 0 {
			t.Errorf("%s: %d of %d cells disagree with the engine:\n  %s", what, len(bad), len(m.Results), strings.Join(bad, "\n  "))
		} else {
			t.Logf("%s: %d cells agree with the engine (probe %.2fs)", what, len(m.Results), time.Since(t0).Seconds())
		}
		return m
	}
	apply := func(pols ...*networkingv1.NetworkPolicy) {
		t.Helper()
		t0 := time.Now()
		if err := ApplyPolicies(ctx, name, pols); err != nil {
			t.Fatal(err)
		}
		t.Logf("applied %d policies: enforced on every node in %s", len(pols), time.Since(t0).Round(time.Millisecond))
	}

	m := check("open", ProbeOptions{})
	for _, cell := range m.Results {
		if !cell.Allowed {
			t.Errorf("open cluster: %s blocked (%s)", cell.Key(), cell.Detail)
		}
	}
	check("open, through Services", ProbeOptions{Services: true})
	check("open, by pod DNS name", ProbeOptions{ByName: true})

	apply(examplePolicies(t, "01-default-deny.yaml")...)
	check("default-deny", ProbeOptions{})
	mByName := check("default-deny, by name", ProbeOptions{ByName: true})
	for _, cell := range mByName.Results {
		if strings.HasPrefix(cell.From, "netpol-lab/") && cell.Detail != matrix.DetailDNSFailed {
			t.Errorf("default-deny without DNS egress: %s resolved (%s)", cell.Key(), cell.Detail)
			break
		}
	}
	check("default-deny, through Services", ProbeOptions{Services: true})

	apply(examplePolicies(t, "02-allow-dns.yaml")...)
	m = check("allow DNS, by name", ProbeOptions{ByName: true})
	for _, cell := range m.Results {
		if cell.Detail == matrix.DetailDNSFailed {
			t.Errorf("DNS egress allowed, but %s did not resolve", cell.Key())
		}
	}
	apply(examplePolicies(t, "03-frontend-to-backend.yaml")...)
	m = check("frontend to backend", ProbeOptions{})
	check("frontend to backend, through Services by name", ProbeOptions{Services: true, ByName: true})
	fb := m.Index()[matrix.Key{From: "netpol-lab/frontend", To: "netpol-lab/backend", Port: 8080, Protocol: "TCP"}]
	if !fb.Allowed {
		t.Errorf("frontend -> backend:8080 blocked (%s)", fb.Detail)
	}

	// A cross-node policy: the client (on another node than the backend or
	// not, whichever it is) is allowed by namespace label, then relabelled
	// out of it.
	apply(
		policy("netpol-lab", "client-egress", networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "client"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "api"}}}}}},
		}),
		policy("netpol-lab", "backend-from-lab", networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "backend"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"purpose": "lab"}},
				PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "client"}},
			}}}},
		}),
	)
	m = check("cross-node client to backend", ProbeOptions{})
	if c := m.Index()[matrix.Key{From: "netpol-lab/client", To: "netpol-lab/backend", Port: 8080, Protocol: "TCP"}]; !c.Allowed {
		t.Errorf("client -> backend blocked (%s)", c.Detail)
	}
	// What `kubectl get ns,pods,svc,netpol -A -o yaml | netlab sim -f -`
	// reads agrees with the probe.
	dumpAgrees(t, ctx, name, m)
	if err := Label(ctx, name, "netpol-lab", true, []string{"purpose=other"}, true); err != nil {
		t.Fatal(err)
	}
	m = check("namespace relabelled", ProbeOptions{Services: true})
	if c := m.Index()[matrix.Key{From: "netpol-lab/client", To: "netpol-lab/backend", Port: 8080, Protocol: "TCP"}]; c.Allowed {
		t.Error("client -> backend still allowed after the namespace left the selector")
	}
	if err := DeletePolicies(ctx, name, []string{"netpol-lab/default-deny", "netpol-lab/nope"}); err == nil {
		t.Error("deleting a missing policy succeeded")
	}

	differential(t, ctx, name)
}

// differential deploys a random world with a Service per pod and checks
// the measured matrix against the engine for random policy sets, by pod IP
// and through every Service's ClusterIP.
func differential(t *testing.T, ctx context.Context, name string) {
	c, _, err := Client(name)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	// Remove the lab's policies; the random world lives in its own
	// namespaces.
	pols, err := c.NetworkingV1().NetworkPolicies("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, np := range pols.Items {
		c.NetworkingV1().NetworkPolicies(np.Namespace).Delete(ctx, np.Name, metav1.DeleteOptions{})
	}
	opts := worldgen.Options{Namespaces: 2, Pods: 6, Policies: 3, External: nil}
	base := worldgen.Generate(1000, worldgen.Options{Namespaces: 2, Pods: 6})
	for _, p := range base.Pods {
		p.Labels = maps.Clone(p.Labels)
		p.Labels["netlab-pod"] = p.Name
		var ports []world.ServicePort
		for _, cp := range p.Ports {
			ports = append(ports, world.ServicePort{Name: strings.ToLower(fmt.Sprintf("p%d-%s", cp.Port, cp.Protocol)), Port: 1000 + cp.Port, TargetPort: intstrInt(cp.Port), Protocol: cp.Protocol})
		}
		base.Services = append(base.Services, &world.Service{Namespace: p.Namespace, Name: "svc-" + p.Name,
			Selector: map[string]string{"netlab-pod": p.Name}, Ports: ports, IPAssigned: true})
	}
	nl, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	objs := ScenarioManifests(base, st.Image, SchedulableNodes(nl.Items))
	if err := applyScenario(ctx, c, objs); err != nil {
		t.Fatal(err)
	}
	if err := waitPodsReady(ctx, c, objs.Pods); err != nil {
		t.Fatal(err)
	}
	st.Namespaces = []string{"ns0", "ns1"}
	if err := st.save(); err != nil {
		t.Fatal(err)
	}
	cells := 0
	for seed := int64(1); seed <= 10; seed++ {
		set := worldgen.Generate(seed, opts).Policies
		if err := DeletePolicies(ctx, name, nil); err != nil {
			t.Fatal(err)
		}
		old, _ := c.NetworkingV1().NetworkPolicies("").List(ctx, metav1.ListOptions{})
		for _, np := range old.Items {
			c.NetworkingV1().NetworkPolicies(np.Namespace).Delete(ctx, np.Name, metav1.DeleteOptions{})
		}
		if err := ApplyPolicies(ctx, name, set); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		for _, o := range []ProbeOptions{{}, {Services: true}} {
			o.Timeout = time.Second
			m, err := Probe(ctx, name, o)
			if err != nil {
				t.Fatal(err)
			}
			w, err := World(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			cells += len(m.Results)
			if bad := Disagreements(w, m); len(bad) > 0 {
				t.Errorf("seed %d (services %v): %d of %d cells disagree:\n  %s", seed, o.Services, len(bad), len(m.Results), strings.Join(bad, "\n  "))
			}
		}
	}
	t.Logf("differential: 10 policy sets, %d cells compared (by pod IP and by ClusterIP)", cells)
}
