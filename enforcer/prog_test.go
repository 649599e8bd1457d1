//go:build linux

package enforcer

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netns"
)

// Return values of the programs as BPF_PROG_TEST_RUN reports them.
const (
	retPass = 0xffffffff // TC_ACT_UNSPEC: next program, or pass
	retDrop = 2          // TC_ACT_SHOT
)

const (
	tcpSYN = 0x02
	tcpACK = 0x10
)

// pkt describes a crafted Ethernet frame for BPF_PROG_TEST_RUN.
type pkt struct {
	etherType  uint16 // default IPv4
	proto      uint8
	src, dst   netip.Addr
	sport      uint16
	dport      uint16
	tcpFlags   uint8
	fragOffset uint16 // in 8-byte units
}

func (p pkt) bytes() []byte {
	eth := []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0, 0}
	et := p.etherType
	if et == 0 {
		et = 0x0800
	}
	binary.BigEndian.PutUint16(eth[12:], et)
	switch et {
	case 0x0806: // ARP request
		return append(eth, make([]byte, 28)...)
	case 0x86dd: // IPv6 + TCP
		ip6 := make([]byte, 40+20)
		ip6[0] = 0x60
		binary.BigEndian.PutUint16(ip6[4:], 20)
		ip6[6] = 6
		ip6[7] = 64
		return append(eth, ip6...)
	}

	var l4 []byte
	switch p.proto {
	case ProtoTCP:
		l4 = make([]byte, 20)
		l4[12] = 5 << 4
		l4[13] = p.tcpFlags
	case ProtoUDP:
		l4 = make([]byte, 8)
		binary.BigEndian.PutUint16(l4[4:], 8)
	case ProtoSCTP:
		l4 = make([]byte, 12)
	default: // ICMP echo request
		l4 = []byte{8, 0, 0, 0, 0, 1, 0, 1}
	}
	if p.proto != 1 {
		binary.BigEndian.PutUint16(l4[0:], p.sport)
		binary.BigEndian.PutUint16(l4[2:], p.dport)
	}
	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
	binary.BigEndian.PutUint16(ip[6:], p.fragOffset&0x1fff)
	ip[8] = 64
	ip[9] = p.proto
	s, d := p.src.As4(), p.dst.As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	out := append(eth, ip...)
	return append(out, l4...)
}

func run(tb testing.TB, prog *ebpf.Program, p pkt) uint32 {
	tb.Helper()
	ret, err := prog.Run(&ebpf.RunOptions{Data: p.bytes()})
	if err != nil {
		tb.Fatalf("test run: %v", err)
	}
	return ret
}

// TestProgramDecisions runs the programs on crafted packets: protocols the
// network tests cannot easily produce (SCTP, IPv6, ARP, fragments) and the
// event rules.
func TestProgramDecisions(t *testing.T) {
	requirePrivileged(t)
	d, err := Open(testPinDir(t, netns.None()))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	peer, subj := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	free := netip.MustParseAddr("10.0.0.3") // endpoint that is not isolated
	if _, err := d.Sync(State{
		Endpoints: map[netip.Addr]EndpointInfo{
			peer: {Identity: 1},
			subj: {Identity: 2, IsolatedIngress: true, IsolatedEgress: true},
			free: {Identity: 3},
		},
		Rules: map[PolicyKey][]PortRange{
			{Subject: 2, Peer: 1, Dir: Ingress, Proto: ProtoSCTP}: {{Lo: 9000, Hi: 9000, Policy: 0, Rule: 4}},
		},
		Policies: []string{"ns/sctp"},
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := d.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		prog *ebpf.Program
		p    pkt
		want uint32
	}{
		{"SCTP allowed port", d.objs.ToPod, pkt{proto: ProtoSCTP, src: peer, dst: subj, sport: 5000, dport: 9000}, retPass},
		{"SCTP other port", d.objs.ToPod, pkt{proto: ProtoSCTP, src: peer, dst: subj, sport: 5000, dport: 9001}, retDrop},
		{"TCP is not SCTP", d.objs.ToPod, pkt{proto: ProtoTCP, src: peer, dst: subj, sport: 5000, dport: 9000, tcpFlags: tcpSYN}, retDrop},
		{"UDP is not SCTP", d.objs.ToPod, pkt{proto: ProtoUDP, src: peer, dst: subj, sport: 5000, dport: 9000}, retDrop},
		{"SCTP reply passes egress isolation", d.objs.FromPod, pkt{proto: ProtoSCTP, src: subj, dst: peer, sport: 9000, dport: 5000}, retPass},
		{"SCTP new flow denied by egress isolation", d.objs.FromPod, pkt{proto: ProtoSCTP, src: subj, dst: peer, sport: 9000, dport: 5001}, retDrop},
		{"ICMP not policed", d.objs.ToPod, pkt{proto: 1, src: peer, dst: subj}, retPass},
		{"ARP not policed", d.objs.ToPod, pkt{etherType: 0x0806}, retPass},
		{"IPv6 not policed", d.objs.ToPod, pkt{etherType: 0x86dd}, retPass},
		{"non-first fragment not policed", d.objs.ToPod, pkt{proto: ProtoTCP, src: peer, dst: subj, fragOffset: 100}, retPass},
		{"first fragment policed", d.objs.ToPod, pkt{proto: ProtoTCP, src: peer, dst: subj, sport: 1, dport: 2, tcpFlags: tcpSYN}, retDrop},
		{"unknown subject allowed", d.objs.ToPod, pkt{proto: ProtoTCP, src: peer, dst: netip.MustParseAddr("10.9.9.9"), sport: 1, dport: 2}, retPass},
	}
	before, err := d.Counters()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if got := run(t, c.prog, c.p); got != c.want {
			t.Errorf("%s: returned %#x, want %#x", c.name, got, c.want)
		}
	}
	after, err := d.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if got := after.NotPoliced - before.NotPoliced; got != 4 {
		t.Errorf("not-policed counter moved by %d, want 4", got)
	}
	if got := after.Denied - before.Denied; got != 5 {
		t.Errorf("denied counter moved by %d, want 5", got)
	}
	if got := after.Reply - before.Reply; got != 1 {
		t.Errorf("reply counter moved by %d, want 1", got)
	}
	if got := after.AllowedNew - before.AllowedNew; got != 2 {
		t.Errorf("allowed counter moved by %d, want 2", got)
	}
	// Events so far: 1 allowed SCTP flow, 5 denials, 1 allowed first packet
	// to the unknown subject (TCP without SYN: no event).
	wantEvents := 1 + 5
	got := drain(events, wantEvents)
	if len(got) != wantEvents {
		t.Fatalf("got %d events, want %d: %v", len(got), wantEvents, got)
	}
	if e := got[0]; !e.Allowed || e.Proto != "SCTP" || e.Policy != "ns/sctp" || e.Rule != 4 || e.DstPort != 9000 ||
		e.Src != peer || e.Dst != subj || e.Dir != Ingress || e.Ifindex != 1 {
		t.Errorf("SCTP allow event = %+v", e)
	}

	// Event volume: TCP reports SYNs only, UDP the first packet of a flow.
	flows := []pkt{
		{proto: ProtoTCP, src: free, dst: peer, sport: 7000, dport: 80, tcpFlags: tcpSYN},
		{proto: ProtoTCP, src: free, dst: peer, sport: 7000, dport: 80, tcpFlags: tcpACK},
		{proto: ProtoTCP, src: free, dst: peer, sport: 7000, dport: 80, tcpFlags: tcpSYN | tcpACK},
		{proto: ProtoUDP, src: free, dst: peer, sport: 7000, dport: 53},
		{proto: ProtoUDP, src: free, dst: peer, sport: 7000, dport: 53},
	}
	for _, p := range flows {
		if ret := run(t, d.objs.FromPod, p); ret != retPass {
			t.Errorf("not isolated: %+v returned %#x", p, ret)
		}
	}
	got = drain(events, 3)
	if len(got) != 2 || got[0].Proto != "TCP" || got[1].Proto != "UDP" {
		t.Errorf("want one TCP and one UDP event, got %v", got)
	}
	for _, e := range got {
		if !e.Allowed || e.Dir != Egress || e.PolicyIndex != -1 || e.Subject != 3 || e.Peer != 1 {
			t.Errorf("unisolated event = %+v", e)
		}
	}
}

// drain reads up to n events, waiting a little for stragglers.
func drain(ch <-chan Event, n int) []Event {
	var out []Event
	timeout := time.After(500 * time.Millisecond)
	for len(out) < n {
		select {
		case e := <-ch:
			out = append(out, e)
		case <-timeout:
			return out
		}
	}
	return out
}

// BenchmarkProgram measures the cost of one packet through to_pod with
// BPF_PROG_TEST_RUN, for an isolated subject whose admitting rule is found
// by the last lookup (CIDR class) and for a denied packet, with a small and
// a large policy map. ns/op is the kernel's own per-packet time.
func BenchmarkProgram(b *testing.B) {
	requirePrivileged(b)
	peer, subj := netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.1.0.2")
	for _, entries := range []int{10, 10000} {
		b.Run(fmt.Sprintf("entries=%d", entries), func(b *testing.B) {
			d, err := Open(testPinDir(b, netns.None()))
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			s := State{
				Endpoints: map[netip.Addr]EndpointInfo{
					peer: {Identity: 1},
					subj: {Identity: 2, IsolatedIngress: true},
				},
				Classes: map[netip.Prefix]uint32{netip.MustParsePrefix("10.1.0.0/16"): 5000},
				Rules: map[PolicyKey][]PortRange{
					{Subject: 2, Peer: 5000, Dir: Ingress, Proto: ProtoTCP}: {{Lo: 443, Hi: 443}, {Lo: 8000, Hi: 8080}, {Lo: 80, Hi: 80}},
				},
			}
			for i := 1; i < entries; i++ {
				s.Rules[PolicyKey{Subject: uint32(1000 + i), Peer: uint32(i), Dir: Ingress, Proto: ProtoTCP}] = port(80)
			}
			if _, err := d.Sync(s); err != nil {
				b.Fatal(err)
			}
			for _, c := range []struct {
				name string
				port uint16
				want uint32
			}{{"allowed", 80, retPass}, {"denied", 81, retDrop}} {
				b.Run(c.name, func(b *testing.B) {
					p := pkt{proto: ProtoTCP, src: peer, dst: subj, sport: 40000, dport: c.port, tcpFlags: tcpACK}
					ret, perPacket, err := d.objs.ToPod.Benchmark(p.bytes(), b.N, b.ResetTimer)
					if err != nil {
						b.Fatal(err)
					}
					if ret != c.want {
						b.Fatalf("returned %#x, want %#x", ret, c.want)
					}
					b.ReportMetric(float64(perPacket.Nanoseconds()), "ns/op")
				})
			}
		})
	}
}
