//go:build linux

package nodeagent

import (
	"context"
	"encoding/json"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/clusterworld"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/scenarios"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func TestCNIConfig(t *testing.T) {
	cases := []struct {
		plugin  string
		cidr    string
		wantErr string
		check   func(t *testing.T, c Conflist)
	}{
		{plugin: PluginPTP, cidr: "10.244.1.0/24", check: func(t *testing.T, c Conflist) {
			p := c.Plugins[0]
			if p.Type != "ptp" || p.Bridge != "" || *p.IPMasq || p.MTU != 1500 {
				t.Errorf("ptp plugin = %+v", p)
			}
			if r := p.IPAM.Ranges[0][0]; r.Subnet != "10.244.1.0/24" || r.Gateway != "10.244.1.1" {
				t.Errorf("range = %+v", r)
			}
		}},
		{plugin: PluginBridge, cidr: "10.244.2.0/24", check: func(t *testing.T, c Conflist) {
			p := c.Plugins[0]
			if p.Type != "bridge" || p.Bridge != BridgeName || !p.IsGateway || !p.HairpinMode || *p.IPMasq {
				t.Errorf("bridge plugin = %+v", p)
			}
		}},
		{plugin: PluginPTP, cidr: "10.244.3.7/24", check: func(t *testing.T, c Conflist) {
			if got := c.Plugins[0].IPAM.Ranges[0][0].Subnet; got != "10.244.3.0/24" {
				t.Errorf("unmasked podCIDR not masked: %s", got)
			}
		}},
		{plugin: "macvlan", cidr: "10.244.1.0/24", wantErr: `CNI plugin "macvlan"`},
		{plugin: PluginPTP, cidr: "fd00::/64", wantErr: "want an IPv4 prefix"},
		{plugin: PluginPTP, cidr: "10.244.1.0/31", wantErr: "too small"},
	}
	for _, c := range cases {
		data, err := CNIConfig(c.plugin, netip.MustParsePrefix(c.cidr), 1500)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s %s: err = %v, want %q", c.plugin, c.cidr, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", c.plugin, c.cidr, err)
			continue
		}
		var conf Conflist
		if err := json.Unmarshal(data, &conf); err != nil {
			t.Fatal(err)
		}
		if conf.Name != NetworkName || len(conf.Plugins) != 2 || conf.Plugins[1].Type != "portmap" || conf.Plugins[0].IPAM.Type != "host-local" {
			t.Errorf("%s: conflist = %+v", c.plugin, conf)
		}
		c.check(t, conf)
	}
}

func TestWriteCNIConfigAndChoosePlugin(t *testing.T) {
	dir := t.TempDir()
	data, _ := CNIConfig(PluginPTP, netip.MustParsePrefix("10.244.1.0/24"), 1500)
	for i, want := range []bool{true, false} {
		changed, err := WriteCNIConfig(dir, data)
		if err != nil || changed != want {
			t.Errorf("write %d: changed=%v err=%v, want changed=%v", i, changed, err, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != ConfigName {
		t.Errorf("CNI dir holds %v, want only %s", entries, ConfigName)
	}

	bin := t.TempDir()
	if _, err := ChoosePlugin(bin); err == nil || !strings.Contains(err.Error(), "host-local") {
		t.Errorf("empty bin dir: %v", err)
	}
	touch := func(n string) { os.WriteFile(filepath.Join(bin, n), nil, 0o755) }
	touch("host-local")
	if _, err := ChoosePlugin(bin); err == nil {
		t.Error("no ptp/bridge: want an error")
	}
	touch("bridge")
	if p, _ := ChoosePlugin(bin); p != PluginBridge {
		t.Errorf("bridge only: chose %s", p)
	}
	os.Symlink("/usr/lib/cni/ptp", filepath.Join(bin, "ptp")) // dangling here, as in the node agent's mount
	if p, _ := ChoosePlugin(bin); p != PluginPTP {
		t.Errorf("ptp and bridge: chose %s, want ptp", p)
	}
}

func node(name, cidr, ip string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if cidr != "" {
		n.Spec.PodCIDR = cidr
		n.Spec.PodCIDRs = []string{cidr}
	}
	if ip != "" {
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: ip}}
	}
	return n
}

func TestRoutes(t *testing.T) {
	cases := []struct {
		name    string
		nodes   []*corev1.Node
		want    []string
		wantErr string
	}{
		{"single node", []*corev1.Node{node("cp", "10.244.0.0/24", "172.18.0.2")}, nil, ""},
		{"two workers", []*corev1.Node{
			node("w2", "10.244.2.0/24", "172.18.0.4"),
			node("cp", "10.244.0.0/24", "172.18.0.2"),
			node("w1", "10.244.1.0/24", "172.18.0.3"),
		}, []string{"10.244.1.0/24 via 172.18.0.3 (w1)", "10.244.2.0/24 via 172.18.0.4 (w2)"}, ""},
		{"not yet allocated or addressed", []*corev1.Node{
			node("cp", "10.244.0.0/24", "172.18.0.2"),
			node("w1", "", "172.18.0.3"),
			node("w2", "10.244.2.0/24", ""),
		}, nil, ""},
		{"overlap with self", []*corev1.Node{
			node("cp", "10.244.0.0/24", "172.18.0.2"),
			node("w1", "10.244.0.0/16", "172.18.0.3"),
		}, nil, "node w1: spec.podCIDR 10.244.0.0/16 overlaps node cp's"},
		{"overlap between others", []*corev1.Node{
			node("cp", "10.244.0.0/24", "172.18.0.2"),
			node("w1", "10.244.1.0/24", "172.18.0.3"),
			node("w2", "10.244.1.0/25", "172.18.0.4"),
		}, nil, "overlaps"},
	}
	for _, c := range cases {
		got, err := Routes("cp", c.nodes)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: err = %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var s []string
		for _, r := range got {
			s = append(s, r.String())
		}
		if !slices.Equal(s, c.want) {
			t.Errorf("%s: routes = %v, want %v", c.name, s, c.want)
		}
	}
}

// recorder is a Syncer that keeps what it was given.
type recorder struct {
	mu     sync.Mutex
	states []enforcer.State
}

func (r *recorder) Sync(s enforcer.State) (enforcer.SyncStats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, s)
	return enforcer.SyncStats{Added: 1}, nil
}

func (r *recorder) last() (enforcer.State, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.states) == 0 {
		return enforcer.State{}, 0
	}
	return r.states[len(r.states)-1], len(r.states)
}

// clusterObjects renders a world as the API server would hold it, pods
// spread over two nodes.
func clusterObjects(w *world.World) []runtime.Object {
	var out []runtime.Object
	for _, ns := range w.Namespaces {
		out = append(out, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.Name, Labels: maps.Clone(ns.Labels)}})
	}
	for i, p := range w.Pods {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, Labels: maps.Clone(p.Labels)},
			Spec:       corev1.PodSpec{NodeName: []string{"cp", "w1"}[i%2], Containers: []corev1.Container{{Name: "agent", Image: "netlab"}}},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: p.IP.String()},
		}
		pod.Spec.NodeName = p.Node
		for _, cp := range p.Ports {
			pod.Spec.Containers[0].Ports = append(pod.Spec.Containers[0].Ports, corev1.ContainerPort{Name: cp.Name, ContainerPort: cp.Port, Protocol: cp.Protocol})
		}
		out = append(out, pod)
	}
	for _, s := range w.Services {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name},
			Spec: corev1.ServiceSpec{Selector: maps.Clone(s.Selector), ClusterIP: s.ClusterIP.String()}}
		for _, sp := range s.Ports {
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: sp.Name, Port: sp.Port, TargetPort: sp.TargetPort, Protocol: sp.Protocol})
		}
		out = append(out, svc)
	}
	for _, np := range w.Policies {
		out = append(out, np.DeepCopy())
	}
	return out
}

// scenarioWorld is the netpol-lab scenario with the example policies.
func scenarioWorld(t *testing.T) *world.World {
	t.Helper()
	name, data, err := scenarios.Get("netpol-lab")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := world.Parse(name, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	pols, err := world.Read([]string{"../../assets/examples/netpol-lab"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	objs.Merge(pols)
	w, err := world.Build(objs, nil)
	if err != nil {
		t.Fatal(err)
	}
	world.AssignIPs(w, nil) // stands for the pods' cluster addresses
	for i, p := range w.Pods {
		p.Node = []string{"cp", "w1"}[i%2]
	}
	return w
}

// TestReconcileMatchesEngine feeds the informers from a fake API server and
// checks that the maps the node agent would write are exactly what the
// engine's lowering gives for the same world, plus the Service switches;
// then that a new policy and a label change reach the maps.
func TestReconcileMatchesEngine(t *testing.T) {
	w := scenarioWorld(t)
	objs := clusterObjects(w)
	// Things a cluster has that are not on the pod network.
	objs = append(objs,
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "netlab-system", Name: "node-agent-x"},
			Spec: corev1.PodSpec{HostNetwork: true}, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "172.18.0.2"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "netpol-lab", Name: "pending"}, Status: corev1.PodStatus{Phase: corev1.PodPending}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "netpol-lab", Name: "headless"}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "backend"}}},
	)
	client := fake.NewClientset(objs...)
	rec := &recorder{}
	r := NewReconciler(client, "cp", rec, t.Logf)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(); err != nil {
		t.Fatal(err)
	}
	got, _ := rec.last()

	dp, err := netpol.New(w).Lower()
	if err != nil {
		t.Fatal(err)
	}
	want := *dp
	want.EgressAtDestination = true
	want.Services = servicesOf(w)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reconciled state differs from the engine's:\n got %+v\nwant %+v", got, want)
	}
	if len(got.Services) != 3 || len(got.Endpoints) != len(w.Pods) {
		t.Errorf("%d services, %d endpoints; want 3 and %d", len(got.Services), len(got.Endpoints), len(w.Pods))
	}
	snap, _ := r.Snapshot()
	if st := r.Status(); st.WorldHash != clusterworld.Hash(snap) || st.Error != "" || st.Policies != len(w.Policies) {
		t.Errorf("status = %+v", st)
	}

	// Changes arrive through the informers and are enforced.
	go r.Run(ctx, time.Hour)
	waitFor := func(what string, ok func(enforcer.State) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if s, n := rec.last(); n > 0 && ok(s) {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		s, _ := rec.last()
		t.Fatalf("%s: not enforced within 5s; last state %+v", what, s)
	}
	allowAll := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "netpol-lab", Name: "allow-client-all"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "client"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
		},
	}
	if _, err := client.NetworkingV1().NetworkPolicies("netpol-lab").Create(ctx, allowAll, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("new policy", func(s enforcer.State) bool { return slices.Contains(s.Policies, "netpol-lab/allow-client-all") })

	// Relabel the client as a frontend: it now shares the frontend's
	// selectors, so its identity must be recompiled accordingly.
	pod, err := client.CoreV1().Pods("netpol-lab").Get(ctx, "client", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Labels["app"] = "frontend"
	if _, err := client.CoreV1().Pods("netpol-lab").Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	next := w.Clone()
	next.Pod("netpol-lab/client").Labels["app"] = "frontend"
	np := allowAll.DeepCopy()
	world.DefaultNetworkPolicy(np)
	next.Policies = append(next.Policies, np)
	next.Sort()
	ndp, err := netpol.New(next).Lower()
	if err != nil {
		t.Fatal(err)
	}
	wantNext := *ndp
	waitFor("relabel", func(s enforcer.State) bool {
		return reflect.DeepEqual(s.Endpoints, wantNext.Endpoints) && reflect.DeepEqual(s.Rules, wantNext.Rules)
	})
}

func TestClusterWorldSkipsWhatIsNotOnThePodNetwork(t *testing.T) {
	old := metav1.NewTime(time.Unix(1000, 0))
	young := metav1.NewTime(time.Unix(2000, 0))
	pods := []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "done", CreationTimestamp: old}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded, PodIP: "10.244.0.5"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "reused", CreationTimestamp: young}, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.0.5"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "stale", CreationTimestamp: old}, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.0.6"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "fresh", CreationTimestamp: young}, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.0.6"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "host"}, Spec: corev1.PodSpec{HostNetwork: true}, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "172.18.0.2"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "v6"}, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "fd00::5"}},
	}
	w, err := clusterworld.Build(clusterworld.Objects{Pods: pods})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, p := range w.Pods {
		keys = append(keys, p.Key()+"="+p.IP.String())
	}
	if want := []string{"a/fresh=10.244.0.6", "a/reused=10.244.0.5"}; !slices.Equal(keys, want) {
		t.Errorf("pods = %v, want %v", keys, want)
	}
	if ns := w.Namespace("a"); ns == nil || ns.Labels[world.NamespaceNameLabel] != "a" {
		t.Errorf("implied namespace a missing its name label: %+v", ns)
	}
}
