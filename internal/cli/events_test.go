package cli

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/scenarios"
)

// TestEventText words kernel verdicts with pod names and, for drops, the
// policies that isolate the side that dropped.
func TestEventText(t *testing.T) {
	old := sandbox.StateRoot
	sandbox.StateRoot = t.TempDir()
	t.Cleanup(func() { sandbox.StateRoot = old })

	file, data, err := scenarios.Get("netpol-lab")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, []byte(`
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: backend-allow, namespace: netpol-lab}
spec:
  podSelector: {matchLabels: {app: backend}}
  ingress: [{from: [{podSelector: {matchLabels: {app: frontend}}}]}]
`)...)
	objs, err := world.Parse(file, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := world.Build(objs, nil)
	if err != nil {
		t.Fatal(err)
	}
	world.AssignIPs(w, nil) // a sandbox lab's world: every pod has its address
	st := sandbox.State{Name: "ev", World: w}
	js, _ := json.Marshal(st)
	os.MkdirAll(sandbox.Dir("ev"), 0o755)
	if err := os.WriteFile(filepath.Join(sandbox.Dir("ev"), "state.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := newEventDescriber(backend.Where("ev", ""))
	if err != nil {
		t.Fatal(err)
	}
	ip := func(key string) netip.Addr { return w.Pod(key).IP }
	cases := []struct {
		ev   enforcer.Event
		want string
	}{
		{enforcer.Event{Dir: enforcer.Ingress, Src: ip("netpol-lab/client"), Dst: ip("netpol-lab/backend"), DstPort: 8080, Proto: "TCP", PolicyIndex: -1},
			"DROP  netpol-lab/client -> netpol-lab/backend:8080/TCP (no ingress rule of netpol-lab/backend-allow matches)"},
		{enforcer.Event{Dir: enforcer.Ingress, Allowed: true, Src: ip("netpol-lab/frontend"), Dst: ip("netpol-lab/backend"), DstPort: 8080, Proto: "TCP", PolicyIndex: 0, Policy: "netpol-lab/backend-allow", Rule: 0},
			"ALLOW netpol-lab/frontend -> netpol-lab/backend:8080/TCP (allowed by netpol-lab/backend-allow ingress rule 0)"},
		{enforcer.Event{Dir: enforcer.Egress, Allowed: true, Src: ip("netpol-lab/client"), Dst: netip.MustParseAddr("203.0.113.10"), DstPort: 443, Proto: "TCP", PolicyIndex: -1},
			"ALLOW netpol-lab/client -> 203.0.113.10:443/TCP (allowed: not isolated for egress)"},
	}
	for _, tc := range cases {
		if got := d.describe(tc.ev); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

// TestEventsOnlyNew: verdicts left in the enforcer's buffer from before
// the reader started are not shown as live (before, 'events' replayed an
// earlier probe's verdicts); --since moves the cutoff back.
func TestEventsOnlyNew(t *testing.T) {
	now := time.Now()
	in := make(chan enforcer.Event, 4)
	in <- enforcer.Event{Time: now.Add(-time.Minute), DstPort: 1}
	in <- enforcer.Event{Time: now.Add(-time.Second), DstPort: 2}
	in <- enforcer.Event{Time: now.Add(time.Millisecond), DstPort: 3}
	close(in)
	var got []uint16
	for ev := range newerThan(context.Background(), in, now) {
		got = append(got, ev.DstPort)
	}
	if len(got) != 1 || got[0] != 3 {
		t.Fatalf("events after the start: ports %v, want [3]", got)
	}

	in = make(chan enforcer.Event, 4)
	in <- enforcer.Event{Time: now.Add(-time.Minute), DstPort: 1}
	in <- enforcer.Event{Time: now.Add(-time.Second), DstPort: 2}
	close(in)
	got = nil
	for ev := range newerThan(context.Background(), in, now.Add(-30*time.Second)) {
		got = append(got, ev.DstPort)
	}
	if len(got) != 1 || got[0] != 2 {
		t.Fatalf("--since 30s: ports %v, want [2]", got)
	}
	if _, stderr, code := run(t, "events", "--since", "-1m", "--name", "x"); code == 0 || !strings.Contains(stderr, "--since") {
		t.Errorf("a negative --since: exit %d, %q", code, stderr)
	}
}
