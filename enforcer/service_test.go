//go:build linux

package enforcer

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/vishvananda/netns"
)

// TestServicesJudgedAtDestination runs the programs the way a kind node
// sees pod-to-Service traffic: at the sender's veth the destination is still
// the ClusterIP, at the receiver's veth it is the receiver's pod IP. With
// EgressAtDestination the sender's egress policy is judged at the receiver;
// without it (the sandbox) nothing changes.
func TestServicesJudgedAtDestination(t *testing.T) {
	requirePrivileged(t)
	d, err := Open(testPinDir(t, netns.None()))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	var (
		client  = netip.MustParseAddr("10.244.1.2") // egress-isolated, may reach web:80 only
		web     = netip.MustParseAddr("10.244.2.3") // not isolated
		db      = netip.MustParseAddr("10.244.2.4") // not isolated
		webSvc  = netip.MustParseAddr("10.96.0.20")
		dbSvc   = netip.MustParseAddr("10.96.0.30")
		outside = netip.MustParseAddr("192.0.2.1")
	)
	s := State{
		Endpoints: map[netip.Addr]EndpointInfo{
			client: {Identity: 1, IsolatedEgress: true},
			web:    {Identity: 2},
			db:     {Identity: 3},
		},
		Rules: map[PolicyKey][]PortRange{
			{Subject: 1, Peer: 2, Dir: Egress, Proto: ProtoTCP}: {{Lo: 80, Hi: 80, Policy: 0, Rule: 0}},
		},
		Policies:            []string{"ns/client-egress"},
		Services:            []netip.Addr{webSvc, dbSvc},
		EgressAtDestination: true,
	}
	if _, err := d.Sync(s); err != nil {
		t.Fatal(err)
	}
	cur, err := d.Current()
	if err != nil {
		t.Fatal(err)
	}
	if !cur.EgressAtDestination || !slices.Equal(cur.Services, []netip.Addr{webSvc, dbSvc}) {
		t.Fatalf("Current() services = %v, egress at destination = %v", cur.Services, cur.EgressAtDestination)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := d.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}

	syn := func(src, dst netip.Addr, sport, dport uint16) pkt {
		return pkt{proto: ProtoTCP, src: src, dst: dst, sport: sport, dport: dport, tcpFlags: tcpSYN}
	}
	steps := []struct {
		name string
		from bool // from_pod (sender's veth) or to_pod (receiver's veth)
		p    pkt
		want uint32
	}{
		{"to web's ClusterIP passes the sender's veth", true, syn(client, webSvc, 40000, 80), retPass},
		{"after DNAT, web:80 is admitted by client's egress", false, syn(client, web, 40000, 80), retPass},
		{"to db's ClusterIP passes the sender's veth", true, syn(client, dbSvc, 40001, 5432), retPass},
		{"after DNAT, db is denied by client's egress", false, syn(client, db, 40001, 5432), retDrop},
		{"web on another port is denied at the receiver", false, syn(client, web, 40002, 81), retDrop},
		{"an address that is no Service is judged at the source", true, syn(client, outside, 40003, 80), retDrop},
		{"a pod IP is still judged at the source", true, syn(client, db, 40004, 5432), retDrop},
		{"an unisolated sender passes at the receiver", false, syn(web, db, 40005, 5432), retPass},
	}
	for _, st := range steps {
		prog := d.objs.ToPod
		if st.from {
			prog = d.objs.FromPod
		}
		if got := run(t, prog, st.p); got != st.want {
			t.Errorf("%s: returned %#x, want %#x", st.name, got, st.want)
		}
	}
	// The denial at the receiver is reported as the sender's egress.
	var sawEgressDeny bool
	for _, e := range drain(events, 20) {
		if !e.Allowed && e.Src == client && e.Dst == db && e.DstPort == 5432 && e.Ifindex == 1 {
			if e.Dir != Egress || e.Subject != 1 {
				t.Errorf("receiver-side denial event = %+v, want the sender's egress", e)
			}
			sawEgressDeny = true
		}
	}
	if !sawEgressDeny {
		t.Error("no event for the denial at the receiver")
	}

	// The node itself reaches its pods whatever their policies (kubelet's
	// probes), and they answer it.
	node := netip.MustParseAddr("172.18.0.3")
	s.Hosts = []netip.Addr{node}
	s.Endpoints[db] = EndpointInfo{Identity: 3, IsolatedIngress: true, IsolatedEgress: true}
	if _, err := d.Sync(s); err != nil {
		t.Fatal(err)
	}
	if got := run(t, d.objs.ToPod, syn(node, db, 42000, 5432)); got != retPass {
		t.Errorf("node -> isolated pod returned %#x, want pass", got)
	}
	if got := run(t, d.objs.FromPod, syn(db, node, 42001, 10250)); got != retPass {
		t.Errorf("isolated pod -> node returned %#x, want pass", got)
	}
	if got := run(t, d.objs.ToPod, syn(outside, db, 42002, 5432)); got != retDrop {
		t.Errorf("another address -> isolated pod returned %#x, want drop", got)
	}
	s.Hosts = nil
	s.Endpoints[db] = EndpointInfo{Identity: 3}

	// The sandbox's behaviour: without the switch a ClusterIP is an
	// ordinary address judged at the source, and the receiver checks only
	// its own ingress.
	s.EgressAtDestination = false
	if _, err := d.Sync(s); err != nil {
		t.Fatal(err)
	}
	if got := run(t, d.objs.FromPod, syn(client, webSvc, 41000, 80)); got != retDrop {
		t.Errorf("switch off: ClusterIP at the source returned %#x, want drop", got)
	}
	if got := run(t, d.objs.ToPod, syn(client, db, 41001, 5432)); got != retPass {
		t.Errorf("switch off: receiver judged the sender's egress (%#x)", got)
	}
	s.Services = nil
	if st, err := d.Sync(s); err != nil || st.Removed != 2 {
		t.Errorf("removing services: %v, %v (want 2 removed)", st, err)
	}
}
