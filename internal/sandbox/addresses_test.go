package sandbox

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/world"
)

// The world no longer invents pod addresses, so the sandbox, which really
// gives pods their addresses, must: a world read from files without
// status.podIP still comes up, on the sandbox's pod network.
func TestAddressPods(t *testing.T) {
	w := &world.World{Pods: []*world.Pod{
		{Namespace: "x", Name: "a"},
		{Namespace: "x", Name: "b", IP: netip.MustParseAddr("10.244.0.2")},
	}}
	got, err := addressPods(w)
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Pod("x/a"); a.IP != netip.MustParseAddr("10.244.0.3") || !a.IPAssigned {
		t.Errorf("x/a = %s (assigned %v), want 10.244.0.3, the next free address after the gateway and b's", a.IP, a.IPAssigned)
	}
	if w.Pod("x/a").IP.IsValid() {
		t.Errorf("addressPods changed the caller's world")
	}
	if same, _ := addressPods(got); same != got {
		t.Errorf("a world whose pods all have addresses was copied")
	}
	w.Pods = append(w.Pods, &world.Pod{Namespace: "x", Name: "h", HostNetwork: true, IP: netip.MustParseAddr("172.18.0.2")})
	if _, err := addressPods(w); err == nil || !strings.Contains(err.Error(), "x/h") {
		t.Errorf("hostNetwork pod: err = %v, want a refusal naming x/h", err)
	}
}
