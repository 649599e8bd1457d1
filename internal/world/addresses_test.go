package world_test

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/world"
)

// A pod without status.podIP has no address in a cluster; Load used to
// give it one of 10.244.0.0/16, which then matched ipBlocks (issue 9,
// item 3).
func TestLoadGivesNoAddressWithoutPodIP(t *testing.T) {
	p := writeFile(t, t.TempDir(), "w.yaml", `apiVersion: v1
kind: Pod
metadata: {name: a, namespace: shop}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: shop}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.7}
`)
	w, notes := mustLoad(t, p)
	a := w.Pod("shop/a")
	if a.IP.IsValid() || a.IPAssigned {
		t.Errorf("shop/a has no status.podIP but got address %s (assigned %v)", a.IP, a.IPAssigned)
	}
	if got := w.Unaddressed(); len(got) != 1 || got[0] != a {
		t.Errorf("Unaddressed() = %v, want [shop/a]", got)
	}
	if strings.Contains(notes, "got addresses") {
		t.Errorf("notes say addresses were assigned:\n%s", notes)
	}
	if got := w.PodByIP(netip.Addr{}); got != nil {
		t.Errorf("PodByIP(zero) = %s, want no pod", got.Key())
	}
}

func TestAssignPodIPs(t *testing.T) {
	mk := func() *world.World {
		w := &world.World{Pods: []*world.Pod{
			{Namespace: "x", Name: "a"},
			{Namespace: "x", Name: "b", IP: netip.MustParseAddr("10.9.0.2")},
			{Namespace: "x", Name: "c"},
			{Namespace: "x", Name: "h", HostNetwork: true},
		}}
		return w
	}
	t.Run("named CIDR, name order, skips held addresses", func(t *testing.T) {
		w := mk()
		var notes strings.Builder
		if err := world.AssignPodIPs(w, netip.MustParsePrefix("10.9.0.77/24"), nil, &notes); err != nil {
			t.Fatal(err)
		}
		// 10.9.0.0 is the network, .1 the gateway, .2 is b's.
		for key, want := range map[string]string{"x/a": "10.9.0.3", "x/b": "10.9.0.2", "x/c": "10.9.0.4"} {
			if p := w.Pod(key); p.IP != netip.MustParseAddr(want) || p.IPAssigned != (key != "x/b") {
				t.Errorf("%s = %s (assigned %v), want %s", key, p.IP, p.IPAssigned, want)
			}
		}
		if h := w.Pod("x/h"); h.IP.IsValid() {
			t.Errorf("hostNetwork pod got %s; it is its node, not on the pod network", h.IP)
		}
		if !strings.Contains(notes.String(), "10.9.0.0/24") || !strings.Contains(notes.String(), "x/a=10.9.0.3") {
			t.Errorf("notes = %q, want the CIDR and each assignment", notes.String())
		}
	})
	t.Run("too small: nothing assigned", func(t *testing.T) {
		w := mk()
		err := world.AssignPodIPs(w, netip.MustParsePrefix("10.9.0.0/30"), nil, nil)
		if err == nil || !strings.Contains(err.Error(), "10.9.0.0/30") || !strings.Contains(err.Error(), "2 pods") {
			t.Fatalf("err = %v, want one naming the CIDR and the 2 pods", err)
		}
		if len(w.Unaddressed()) != 2 {
			t.Errorf("a failed assignment changed the world: %d unaddressed, want 2", len(w.Unaddressed()))
		}
	})
	t.Run("pick and IPv6", func(t *testing.T) {
		w := mk()
		err := world.AssignPodIPs(w, netip.MustParsePrefix("fd00::/120"), func(p *world.Pod) bool { return p.Name == "c" }, nil)
		if err != nil {
			t.Fatal(err)
		}
		if a, c := w.Pod("x/a"), w.Pod("x/c"); a.IP.IsValid() || c.IP != netip.MustParseAddr("fd00::2") {
			t.Errorf("a = %s (want none), c = %s (want fd00::2)", a.IP, c.IP)
		}
	})
}

// A real cluster's dump was rejected: hostNetwork pods share their node's
// address and finished pods keep addresses running pods reuse (issue 9,
// item 4). The dump mirrors a 2-node kind cluster made by netlab.
func TestLoadKindDump(t *testing.T) {
	w, notes := mustLoad(t, filepath.Join("testdata", "kind-2node.yaml"))
	if len(w.Namespaces) != 7 || len(w.Pods) != 15 || len(w.Services) != 4 || len(w.Policies) != 5 {
		t.Errorf("got %d namespaces, %d pods, %d services, %d policies; want 7, 15 (17 less 2 finished), 4, 5",
			len(w.Namespaces), len(w.Pods), len(w.Services), len(w.Policies))
	}
	for _, gone := range []string{"default/migrate-db-x7k2m", "default/smoke-test"} {
		if w.Pod(gone) != nil {
			t.Errorf("finished pod %s is in the world", gone)
		}
	}
	if !strings.Contains(notes, "left out 2 pods that are not running") {
		t.Errorf("notes do not say how many finished pods were left out:\n%s", notes)
	}
	if b := w.Pod("netpol-lab/backend"); b == nil || b.IP != netip.MustParseAddr("10.244.1.3") || b.HostNetwork {
		t.Errorf("netpol-lab/backend = %+v, want 10.244.1.3 (the finished job's old address)", b)
	}
	hosts := 0
	for _, p := range w.Pods {
		if p.HostNetwork {
			hosts++
			if p.IP != netip.MustParseAddr("172.18.0.3") && p.IP != netip.MustParseAddr("172.18.0.2") {
				t.Errorf("hostNetwork pod %s has %s, want its node's address", p.Key(), p.IP)
			}
		}
	}
	if hosts != 8 {
		t.Errorf("%d hostNetwork pods, want 8 (4 control-plane, 2 kube-proxy, 2 node agents)", hosts)
	}
	if p := w.PodByIP(netip.MustParseAddr("172.18.0.3")); p != nil {
		t.Errorf("PodByIP(node address) = %s; a node's address is no pod's", p.Key())
	}
	if p := w.Pod("default/big-batch"); p == nil || p.IP.IsValid() {
		t.Errorf("unscheduled default/big-batch = %+v, want it in the world without an address", p)
	}
}

func TestBuildDuplicatePodIPStillAnError(t *testing.T) {
	p := writeFile(t, t.TempDir(), "w.yaml", `apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.7, phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.7, phase: Pending}
---
apiVersion: v1
kind: Pod
metadata: {name: h, namespace: x}
spec: {hostNetwork: true, containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.7, phase: Running}
`)
	_, _, err := load(t, p)
	if err == nil || !strings.Contains(err.Error(), "x/b") || strings.Contains(err.Error(), "x/h") {
		t.Errorf("err = %v, want only x/b rejected for sharing x/a's address (pods that run or will run, not the hostNetwork one)", err)
	}
}
