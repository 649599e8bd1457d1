//go:build linux

package enforcer

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"maps"
	"net"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Identities of the test pods; x is a host outside the endpoints map.
const (
	idA uint32 = 101
	idB uint32 = 102
	idC uint32 = 103
)

// lab is a topology of pods a, b, c (endpoints) and x (not an endpoint)
// with a Dataplane attached to every host-side veth.
type lab struct {
	*topo
	d      *Dataplane
	pinDir string
}

func newLab(t *testing.T) *lab {
	t.Helper()
	requirePrivileged(t)
	tp := newTopo(t, "a=10.250.1.1", "b=10.250.1.2", "c=10.250.1.3", "x=10.250.1.100")
	pinDir := testPinDir(t, tp.host)
	d, err := Open(pinDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	tp.attachAll(d)
	return &lab{topo: tp, d: d, pinDir: pinDir}
}

// endpoints returns a, b and c as endpoints, none isolated.
func (l *lab) endpoints() map[netip.Addr]EndpointInfo {
	return map[netip.Addr]EndpointInfo{
		l.pods["a"].addr: {Identity: idA},
		l.pods["b"].addr: {Identity: idB},
		l.pods["c"].addr: {Identity: idC},
	}
}

func (l *lab) sync(t *testing.T, s State) SyncStats {
	t.Helper()
	st, err := l.d.Sync(s)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return st
}

func isolate(eps map[netip.Addr]EndpointInfo, a netip.Addr, ingress, egress bool) {
	ep := eps[a]
	ep.IsolatedIngress, ep.IsolatedEgress = ingress, egress
	eps[a] = ep
}

func port(p uint16) []PortRange { return []PortRange{{Lo: p, Hi: p}} }

func TestNoStateAllowsAll(t *testing.T) {
	l := newLab(t)
	l.expect(
		cell{"a", "b", "tcp", 80, true},
		cell{"b", "c", "tcp", 8001, true},
		cell{"c", "a", "udp", 53, true},
		cell{"x", "a", "tcp", 81, true},
		cell{"a", "x", "udp", 5353, true},
	)
	// Endpoints without isolation change nothing either.
	l.sync(t, State{Endpoints: l.endpoints()})
	l.expect(
		cell{"a", "b", "tcp", 80, true},
		cell{"x", "c", "udp", 53, true},
	)
}

func TestIngressIsolation(t *testing.T) {
	l := newLab(t)
	eps := l.endpoints()
	isolate(eps, l.pods["b"].addr, true, false)
	l.sync(t, State{
		Endpoints: eps,
		Rules:     map[PolicyKey][]PortRange{{Subject: idB, Peer: idA, Dir: Ingress, Proto: ProtoTCP}: port(80)},
	})
	l.expect(
		cell{"a", "b", "tcp", 80, true},
		cell{"a", "b", "tcp", 81, false},  // other port
		cell{"a", "b", "udp", 53, false},  // other protocol
		cell{"c", "b", "tcp", 80, false},  // other peer
		cell{"x", "b", "tcp", 80, false},  // not an endpoint
		cell{"b", "a", "tcp", 80, true},   // b's egress is not isolated
		cell{"c", "a", "tcp", 81, true},   // a is not isolated
		cell{"b", "c", "udp", 5353, true}, // replies into b pass
	)
}

func TestEgressIsolation(t *testing.T) {
	l := newLab(t)
	eps := l.endpoints()
	isolate(eps, l.pods["a"].addr, false, true)
	l.sync(t, State{
		Endpoints: eps,
		Rules: map[PolicyKey][]PortRange{
			{Subject: idA, Peer: idB, Dir: Egress, Proto: ProtoTCP}:     port(80),
			{Subject: idA, Peer: PeerAny, Dir: Egress, Proto: ProtoUDP}: port(53),
		},
	})
	l.expect(
		cell{"a", "b", "tcp", 80, true},
		cell{"a", "b", "tcp", 81, false},
		cell{"a", "c", "tcp", 80, false},
		cell{"a", "x", "tcp", 80, false},
		cell{"a", "c", "udp", 53, true}, // PeerAny
		cell{"a", "x", "udp", 53, true}, // PeerAny covers non-endpoints too
		cell{"a", "b", "udp", 5353, false},
		cell{"b", "a", "tcp", 80, true}, // a's replies pass its egress isolation
		cell{"x", "a", "udp", 5353, true},
	)
}

func TestPortRanges(t *testing.T) {
	l := newLab(t)
	eps := l.endpoints()
	isolate(eps, l.pods["b"].addr, true, false)
	l.sync(t, State{
		Endpoints: eps,
		Rules: map[PolicyKey][]PortRange{
			{Subject: idB, Peer: PeerAny, Dir: Ingress, Proto: ProtoTCP}: {{Lo: 8000, Hi: 8001}, {Lo: 8003, Hi: 8003}},
			{Subject: idB, Peer: idC, Dir: Ingress, Proto: ProtoUDP}:     {{Lo: 0, Hi: 65535}},
		},
	})
	l.expect(
		cell{"a", "b", "tcp", 8000, true},
		cell{"a", "b", "tcp", 8001, true},
		cell{"a", "b", "tcp", 8002, false},
		cell{"x", "b", "tcp", 8003, true},
		cell{"a", "b", "tcp", 80, false},
		cell{"c", "b", "udp", 53, true},
		cell{"c", "b", "udp", 5353, true},
		cell{"a", "b", "udp", 53, false},
	)
}

func TestIPBlock(t *testing.T) {
	l := newLab(t)
	eps := l.endpoints()
	isolate(eps, l.pods["b"].addr, true, false)
	isolate(eps, l.pods["c"].addr, false, true)
	// The compiler gives each region of the address space that ipBlocks
	// tell apart its own class, so that the longest prefix decides:
	// b admits 10.250.1.96/28 except 10.250.1.100/32 on port 80 and
	// 10.250.1.0/31 (pod a) on 81; c may send to 10.250.1.64/26 on 8000,
	// which covers the regions of the block and of its except.
	const (
		clsBlock  = 1000 // 10.250.1.96/28 minus the except
		clsExcept = 1001 // 10.250.1.100/32 (x)
		clsPodA   = 1002 // 10.250.1.0/31
		clsWide   = 1003 // the rest of 10.250.1.64/26
	)
	classes := map[netip.Prefix]uint32{
		netip.MustParsePrefix("10.250.1.96/28"):  clsBlock,
		netip.MustParsePrefix("10.250.1.100/32"): clsExcept,
		netip.MustParsePrefix("10.250.1.0/31"):   clsPodA,
		netip.MustParsePrefix("10.250.1.64/26"):  clsWide,
	}
	rules := map[PolicyKey][]PortRange{
		{Subject: idB, Peer: clsBlock, Dir: Ingress, Proto: ProtoTCP}: port(80),
		{Subject: idB, Peer: clsPodA, Dir: Ingress, Proto: ProtoTCP}:  port(81),
		{Subject: idC, Peer: clsWide, Dir: Egress, Proto: ProtoTCP}:   port(8000),
		{Subject: idC, Peer: clsBlock, Dir: Egress, Proto: ProtoTCP}:  port(8000),
		{Subject: idC, Peer: clsExcept, Dir: Egress, Proto: ProtoTCP}: port(8000),
	}
	l.sync(t, State{Endpoints: eps, Classes: classes, Rules: rules})
	l.expect(
		cell{"x", "b", "tcp", 80, false}, // in the block but excepted
		cell{"a", "b", "tcp", 81, true},  // pod IP inside an ipBlock
		cell{"c", "b", "tcp", 81, false}, // pod IP outside it
		cell{"a", "b", "tcp", 80, false},
		cell{"c", "x", "tcp", 8000, true}, // egress to a non-endpoint by CIDR
		cell{"c", "x", "tcp", 8001, false},
		cell{"c", "a", "tcp", 8000, false},
	)

	// Dropping the except puts x back into the block.
	delete(classes, netip.MustParsePrefix("10.250.1.100/32"))
	if st := l.sync(t, State{Endpoints: eps, Classes: classes, Rules: rules}); st != (SyncStats{Removed: 1}) {
		t.Errorf("dropping the except: stats %v, want 1 removed", st)
	}
	l.expect(cell{"x", "b", "tcp", 80, true})
}

func TestConntrackReplies(t *testing.T) {
	l := newLab(t)
	eps := l.endpoints()
	isolate(eps, l.pods["a"].addr, true, false) // a: default deny ingress
	isolate(eps, l.pods["b"].addr, true, false)
	l.sync(t, State{
		Endpoints: eps,
		Rules: map[PolicyKey][]PortRange{
			{Subject: idB, Peer: idA, Dir: Ingress, Proto: ProtoTCP}: port(80),
			{Subject: idB, Peer: idA, Dir: Ingress, Proto: ProtoUDP}: port(53),
		},
	})
	before, err := l.d.Counters()
	if err != nil {
		t.Fatal(err)
	}
	l.expect(
		cell{"a", "b", "tcp", 80, true}, // SYN-ACK and data come back into isolated a
		cell{"a", "b", "udp", 53, true},
		cell{"b", "a", "tcp", 80, false}, // but b cannot open a connection to a
		cell{"b", "a", "udp", 53, false},
	)
	after, err := l.d.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if after.Reply <= before.Reply {
		t.Errorf("reply counter did not move: %d -> %d", before.Reply, after.Reply)
	}
}

func TestRemovingRuleCutsEstablishedFlow(t *testing.T) {
	l := newLab(t)
	eps := l.endpoints()
	isolate(eps, l.pods["b"].addr, true, false)
	rules := map[PolicyKey][]PortRange{{Subject: idB, Peer: idA, Dir: Ingress, Proto: ProtoTCP}: port(80)}
	l.sync(t, State{Endpoints: eps, Rules: rules})

	c, err := l.pods["a"].dialTCP(l.pods["b"].addr, 80)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if err := echo(c, "before"); err != nil {
		t.Fatalf("established flow does not work: %v", err)
	}

	if st := l.sync(t, State{Endpoints: eps}); st != (SyncStats{Removed: 1}) {
		t.Errorf("removing the rule: stats %v, want 1 removed", st)
	}
	err = echo(c, "after")
	var ne net.Error
	if err == nil {
		t.Fatal("established flow still works after its rule was removed")
	} else if !errors.As(err, &ne) || !ne.Timeout() {
		t.Logf("flow cut with %v", err)
	}
}

func TestSyncAppliesDifferences(t *testing.T) {
	requirePrivileged(t)
	d, err := Open(testPinDir(t, netns.None()))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	a, b := netip.MustParseAddr("10.250.2.1"), netip.MustParseAddr("10.250.2.2")
	keyAB := PolicyKey{Subject: 2, Peer: 1, Dir: Ingress, Proto: ProtoTCP}
	s := State{
		Endpoints: map[netip.Addr]EndpointInfo{a: {Identity: 1}, b: {Identity: 2, IsolatedIngress: true}},
		Classes: map[netip.Prefix]uint32{
			netip.MustParsePrefix("192.0.2.0/24"): 7,
			netip.MustParsePrefix("0.0.0.0/0"):    8,
		},
		Rules: map[PolicyKey][]PortRange{
			keyAB: {{Lo: 80, Hi: 80, Policy: 0, Rule: 0}, {Lo: 443, Hi: 443, Policy: 1, Rule: 3}},
			{Subject: 2, Peer: 7, Dir: Egress, Proto: ProtoSCTP}: {{Lo: 0, Hi: 65535, Policy: 1}},
		},
		Policies: []string{"ns1/allow-web", "ns1/allow-sctp"},
	}
	check := func(what string, s State, want SyncStats) {
		t.Helper()
		got, err := d.Sync(s)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got != want {
			t.Errorf("%s: stats %v, want %v", what, got, want)
		}
		cur, err := d.Current()
		if err != nil {
			t.Fatal(err)
		}
		if !statesEqual(cur, s) {
			t.Errorf("%s: Current() = %+v, want %+v", what, cur, s)
		}
	}
	check("first sync", s, SyncStats{Added: 6})
	check("same state again", s, SyncStats{})

	// One change, one addition and one removal, one in each map.
	s.Endpoints[a] = EndpointInfo{Identity: 1, IsolatedEgress: true}
	s.Rules[PolicyKey{Subject: 1, Peer: PeerAny, Dir: Egress, Proto: ProtoUDP}] = port(53)
	delete(s.Classes, netip.MustParsePrefix("0.0.0.0/0"))
	s.Policies = []string{"ns1/allow-web", "ns1/allow-sctp", "ns1/allow-dns"}
	check("one of each", s, SyncStats{Added: 1, Changed: 1, Removed: 1})

	// A rule whose ranges change is a change.
	s.Rules[keyAB] = port(8080)
	check("ranges changed", s, SyncStats{Changed: 1})

	// Too many ranges: rejected, and nothing else in the same State lands.
	bad := State{
		Endpoints: map[netip.Addr]EndpointInfo{a: {Identity: 99}},
		Rules:     map[PolicyKey][]PortRange{keyAB: make([]PortRange, MaxRanges+1)},
	}
	if _, err := d.Sync(bad); err == nil || !strings.Contains(err.Error(), "port ranges") {
		t.Errorf("17 ranges: err = %v, want a port ranges error", err)
	}
	cur, err := d.Current()
	if err != nil {
		t.Fatal(err)
	}
	if !statesEqual(cur, s) {
		t.Errorf("a rejected Sync changed the maps: %+v", cur)
	}
	// Exactly MaxRanges fit.
	full := make([]PortRange, MaxRanges)
	for i := range full {
		full[i] = PortRange{Lo: uint16(1000 + i), Hi: uint16(1000 + i)}
	}
	s.Rules[keyAB] = full
	check("16 ranges", s, SyncStats{Changed: 1})

	check("empty state", State{}, SyncStats{Removed: 2 + 1 + 3})
}

// statesEqual compares States the way the maps see them (nil == empty).
func statesEqual(a, b State) bool {
	return maps.Equal(a.Endpoints, b.Endpoints) &&
		maps.Equal(a.Classes, b.Classes) &&
		maps.EqualFunc(a.Rules, b.Rules, slices.Equal) &&
		slices.Equal(a.Policies, b.Policies)
}

func TestCompileRejectsInvalidState(t *testing.T) {
	// Pure validation: runs without privileges.
	v4 := netip.MustParseAddr("10.0.0.1")
	tcp := PolicyKey{Subject: 1, Peer: 2, Proto: ProtoTCP}
	cases := map[string]State{
		"17 ranges":      {Rules: map[PolicyKey][]PortRange{tcp: make([]PortRange, 17)}},
		"IPv6 endpoint":  {Endpoints: map[netip.Addr]EndpointInfo{netip.MustParseAddr("fd00::1"): {}}},
		"IPv6 class":     {Classes: map[netip.Prefix]uint32{netip.MustParsePrefix("fd00::/8"): 1}},
		"ICMP rule":      {Rules: map[PolicyKey][]PortRange{{Subject: 1, Proto: 1}: port(0)}},
		"bad direction":  {Rules: map[PolicyKey][]PortRange{{Subject: 1, Proto: ProtoTCP, Dir: 2}: port(80)}},
		"reversed range": {Rules: map[PolicyKey][]PortRange{tcp: {{Lo: 90, Hi: 80}}}},
		"long name":      {Policies: []string{strings.Repeat("n", maxPolicyName+1)}},
		"conflicting prefixes": {Classes: map[netip.Prefix]uint32{
			netip.MustParsePrefix("10.0.0.1/8"): 1,
			netip.MustParsePrefix("10.0.0.0/8"): 2,
		}},
	}
	for name, s := range cases {
		if _, err := compile(s); err == nil {
			t.Errorf("%s: compile accepted an invalid state", name)
		}
	}
	ks, err := compile(State{
		Endpoints: map[netip.Addr]EndpointInfo{v4: {Identity: 5, IsolatedIngress: true, IsolatedEgress: true}},
		Classes:   map[netip.Prefix]uint32{netip.MustParsePrefix("10.1.2.3/16"): 4},
		Rules:     map[PolicyKey][]PortRange{tcp: make([]PortRange, 16), {Subject: 3, Proto: ProtoUDP}: nil},
		Policies:  []string{strings.Repeat("n", maxPolicyName)},
	})
	if err != nil {
		t.Fatalf("valid state rejected: %v", err)
	}
	if ep := ks.endpoints[addrKey(v4)]; ep.Identity != 5 || ep.Flags != flagIsolatedIngress|flagIsolatedEgress {
		t.Errorf("endpoint = %+v", ep)
	}
	// The key holds the address bytes in packet order.
	var raw [4]byte
	binary.NativeEndian.PutUint32(raw[:], addrKey(v4))
	if raw != [4]byte{10, 0, 0, 1} {
		t.Errorf("address key bytes = %v", raw)
	}
	if _, ok := ks.classes[netpolLpmKey{Prefixlen: 16, Addr: addrKey(netip.MustParseAddr("10.1.0.0"))}]; !ok {
		t.Errorf("class prefix not masked: %v", ks.classes)
	}
	if len(ks.rules) != 1 {
		t.Errorf("a key without ranges must be absent, got %d rules", len(ks.rules))
	}
}

func TestEventsAndCounters(t *testing.T) {
	l := newLab(t)
	eps := l.endpoints()
	isolate(eps, l.pods["b"].addr, true, false)
	l.sync(t, State{
		Endpoints: eps,
		Rules: map[PolicyKey][]PortRange{
			{Subject: idB, Peer: idA, Dir: Ingress, Proto: ProtoTCP}: {{Lo: 80, Hi: 80, Policy: 1, Rule: 2}},
		},
		Policies: []string{"x/unrelated", "x/allow-a-to-b"},
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := l.d.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before, err := l.d.Counters()
	if err != nil {
		t.Fatal(err)
	}

	l.expect(
		cell{"a", "b", "tcp", 80, true},
		cell{"c", "b", "tcp", 80, false},
	)
	if err := l.pods["c"].ping(l.pods["b"].addr); err != nil {
		t.Errorf("ICMP to an isolated pod must pass: %v", err)
	}

	a, b, c := l.pods["a"], l.pods["b"], l.pods["c"]
	var allowed, denied, egress *Event
	deadline := time.After(2 * time.Second)
	for allowed == nil || denied == nil || egress == nil {
		select {
		case ev := <-events:
			t.Logf("event: %v", ev)
			switch {
			case ev.Ifindex == b.ifindex && ev.Src == a.addr && ev.Allowed:
				allowed = &ev
			case ev.Ifindex == b.ifindex && ev.Src == c.addr && !ev.Allowed:
				denied = &ev
			case ev.Ifindex == a.ifindex && ev.Dst == b.addr && ev.Allowed:
				egress = &ev
			}
		case <-deadline:
			t.Fatalf("missing events: allowed=%v denied=%v egress=%v", allowed, denied, egress)
		}
	}

	if got := *allowed; got.Dst != b.addr || got.DstPort != 80 || got.Proto != "TCP" || got.Dir != Ingress ||
		got.Policy != "x/allow-a-to-b" || got.PolicyIndex != 1 || got.Rule != 2 ||
		got.Subject != idB || got.Peer != idA || time.Since(got.Time).Abs() > time.Minute {
		t.Errorf("allowed event = %+v", got)
	}
	if got := *denied; got.Dst != b.addr || got.DstPort != 80 || got.Proto != "TCP" || got.Dir != Ingress ||
		got.Policy != "" || got.PolicyIndex != -1 || got.Rule != -1 || got.Subject != idB || got.Peer != idC {
		t.Errorf("denied event = %+v", got)
	}
	// a is not isolated: its egress event carries no policy.
	if got := *egress; got.Dir != Egress || got.PolicyIndex != -1 || got.Subject != idA || got.Peer != idB {
		t.Errorf("egress event = %+v", got)
	}

	after, err := l.d.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if after.AllowedNew <= before.AllowedNew || after.Denied <= before.Denied ||
		after.Reply <= before.Reply || after.NotPoliced <= before.NotPoliced {
		t.Errorf("counters did not all move: before %+v, after %+v", before, after)
	}

	// Cancelling the context closes the channel.
	cancel()
	for range events {
	}
}

// ping sends one ICMP echo request from the pod and waits for the reply.
func (p *pod) ping(dst netip.Addr) error {
	var conn net.Conn
	err := inNS(p.ns, func() (err error) {
		conn, err = net.Dial("ip4:icmp", dst.String())
		return err
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	msg := []byte{8, 0, 0, 0, 0x4e, 0x4c, 0, 1, 'p', 'i', 'n', 'g'}
	binary.BigEndian.PutUint16(msg[2:], icmpChecksum(msg))
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write(msg); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return err
		}
		// Raw IPv4 sockets may deliver the IP header too.
		b := buf[:n]
		if n > 20 && b[0]>>4 == 4 {
			b = b[int(b[0]&0x0f)*4:]
		}
		if len(b) >= 8 && b[0] == 0 && b[4] == 0x4e && b[5] == 0x4c {
			return nil
		}
	}
}

func icmpChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func TestRestartKeepsEnforcement(t *testing.T) {
	l := newLab(t)
	eps := l.endpoints()
	isolate(eps, l.pods["b"].addr, true, false)
	s := State{
		Endpoints: eps,
		Rules:     map[PolicyKey][]PortRange{{Subject: idB, Peer: idA, Dir: Ingress, Proto: ProtoTCP}: port(80)},
		Policies:  []string{"x/allow-a"},
	}
	l.sync(t, s)
	cells := []cell{
		{"a", "b", "tcp", 80, true},
		{"c", "b", "tcp", 80, false},
		{"b", "c", "tcp", 80, true},
	}
	l.expect(cells...)

	// Nothing of ours holds a file descriptor now: the pins keep it going.
	if err := l.d.Close(); err != nil {
		t.Fatal(err)
	}
	l.expect(cells...)

	d2, err := Open(l.pinDir)
	if err != nil {
		t.Fatalf("re-opening: %v", err)
	}
	defer d2.Close()
	cur, err := d2.Current()
	if err != nil {
		t.Fatal(err)
	}
	if !statesEqual(cur, s) {
		t.Errorf("state after restart = %+v, want %+v", cur, s)
	}
	// Re-attaching switches the links to the new programs, not adding more.
	l.attachAll(d2)
	l.attachAll(d2)
	for _, p := range l.pods {
		for _, at := range []ebpf.AttachType{ebpf.AttachTCXIngress, ebpf.AttachTCXEgress} {
			if n := l.tcxPrograms(t, p.ifindex, at); n != 1 {
				t.Errorf("%s: %d programs at %v, want 1", p.name, n, at)
			}
		}
	}
	l.expect(cells...)
	st, err := d2.Sync(s)
	if err != nil {
		t.Fatal(err)
	}
	if st != (SyncStats{}) {
		t.Errorf("re-syncing the same state after restart: %v", st)
	}
}

// tcxPrograms counts the programs attached at ifindex with TCX.
func (t *topo) tcxPrograms(tb testing.TB, ifindex int, at ebpf.AttachType) int {
	var n int
	err := t.inHost(func() error {
		res, err := link.QueryPrograms(link.QueryOptions{Target: ifindex, Attach: at})
		if err != nil {
			return err
		}
		n = len(res.Programs)
		return nil
	})
	if err != nil {
		tb.Fatalf("querying programs on %d: %v", ifindex, err)
	}
	return n
}

func TestDetachAndRemove(t *testing.T) {
	l := newLab(t)
	eps := l.endpoints()
	isolate(eps, l.pods["b"].addr, true, false)
	isolate(eps, l.pods["c"].addr, true, false)
	l.sync(t, State{Endpoints: eps})
	l.expect(
		cell{"a", "b", "tcp", 80, false},
		cell{"a", "c", "tcp", 80, false},
	)

	// Detach b only.
	if err := l.inHost(func() error { return l.d.Detach(l.pods["b"].ifindex) }); err != nil {
		t.Fatal(err)
	}
	if err := l.inHost(func() error { return l.d.Detach(l.pods["b"].ifindex) }); err != nil {
		t.Errorf("detaching twice: %v", err)
	}
	l.expect(
		cell{"a", "b", "tcp", 80, true},
		cell{"a", "c", "tcp", 80, false},
	)

	if err := l.inHost(func() error { return Remove(l.pinDir) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(l.pinDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pin dir still exists after Remove: %v", err)
	}
	for _, p := range l.pods {
		for _, at := range []ebpf.AttachType{ebpf.AttachTCXIngress, ebpf.AttachTCXEgress} {
			if n := l.tcxPrograms(t, p.ifindex, at); n != 0 {
				t.Errorf("%s: %d programs still attached at %v", p.name, n, at)
			}
		}
	}
	l.expect(
		cell{"a", "b", "tcp", 80, true},
		cell{"a", "c", "tcp", 80, true},
	)
	if err := Remove(l.pinDir); err != nil {
		t.Errorf("removing twice: %v", err)
	}
}

func TestNetlinkFallback(t *testing.T) {
	l := newLab(t)
	// Start over on clsact + cls_bpf instead of TCX.
	if err := l.inHost(func() error { return Remove(l.pinDir) }); err != nil {
		t.Fatal(err)
	}
	d, err := Open(l.pinDir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.forceNetlink = true
	l.attachAll(d)
	l.attachAll(d) // idempotent: replaces, does not stack

	b := l.pods["b"]
	for _, parent := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
		if n := l.ourFilters(t, b.ifindex, parent); n != 1 {
			t.Errorf("%d filters of ours at parent %x, want 1", n, parent)
		}
	}
	if n := l.tcxPrograms(t, b.ifindex, ebpf.AttachTCXEgress); n != 0 {
		t.Errorf("TCX programs attached in fallback mode: %d", n)
	}

	eps := l.endpoints()
	isolate(eps, b.addr, true, false)
	if _, err := d.Sync(State{
		Endpoints: eps,
		Rules:     map[PolicyKey][]PortRange{{Subject: idB, Peer: idA, Dir: Ingress, Proto: ProtoTCP}: port(80)},
	}); err != nil {
		t.Fatal(err)
	}
	l.expect(
		cell{"a", "b", "tcp", 80, true},
		cell{"c", "b", "tcp", 80, false},
	)

	if err := l.inHost(func() error { return d.Detach(b.ifindex) }); err != nil {
		t.Fatal(err)
	}
	if n := l.ourFilters(t, b.ifindex, netlink.HANDLE_MIN_EGRESS); n != 0 {
		t.Errorf("%d filters left after Detach", n)
	}
	l.expect(cell{"c", "b", "tcp", 80, true})

	l.attachAll(d)
	l.expect(cell{"c", "b", "tcp", 80, false})
	if err := l.inHost(func() error { return Remove(l.pinDir) }); err != nil {
		t.Fatal(err)
	}
	for _, p := range l.pods {
		for _, parent := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
			if n := l.ourFilters(t, p.ifindex, parent); n != 0 {
				t.Errorf("%s: %d filters left after Remove", p.name, n)
			}
		}
	}
	l.expect(cell{"c", "b", "tcp", 80, true})
}

// ourFilters counts netlab cls_bpf filters on ifindex at parent.
func (t *topo) ourFilters(tb testing.TB, ifindex int, parent uint32) int {
	var n int
	err := t.inHost(func() error {
		lk, err := netlink.LinkByIndex(ifindex)
		if err != nil {
			return err
		}
		filters, err := netlink.FilterList(lk, parent)
		if err != nil {
			return err
		}
		for _, f := range filters {
			if bf, ok := f.(*netlink.BpfFilter); ok && strings.HasPrefix(bf.Name, netlinkFilterPrefix) {
				n++
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("listing filters: %v", err)
	}
	return n
}

func TestOpenRejectsNonBPFFS(t *testing.T) {
	requirePrivileged(t)
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "bpf filesystem") {
		t.Errorf("Open on a plain directory: err = %v", err)
	}
}

func TestEventDecoding(t *testing.T) {
	// Pure decoding, no privileges: the Go and C layouts must agree.
	if n := binary.Size(netpolEvent{}); n != 40 {
		t.Errorf("event is %d bytes, the C struct is 40", n)
	}
	raw := netpolEvent{Saddr: addrKey(netip.MustParseAddr("10.0.0.1")), Daddr: addrKey(netip.MustParseAddr("10.0.0.2")),
		Sport: 1234, Dport: 80, Proto: ProtoSCTP, Dir: 1, Verdict: 0, Policy: NoPolicy, Rule: NoPolicy, Ifindex: 7}
	ev := decodeEvent(raw, 0, nil)
	want := Event{Time: time.Unix(0, 0), Ifindex: 7, Dir: Egress, Src: netip.MustParseAddr("10.0.0.1"),
		Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: 1234, DstPort: 80, Proto: "SCTP", PolicyIndex: -1, Rule: -1}
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("decoded %+v, want %+v", ev, want)
	}
}
