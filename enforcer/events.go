//go:build linux

package enforcer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// Event is one verdict reported by the programs. TCP reports connection
// attempts (SYN without ACK); UDP and SCTP report the first packet of a
// flow; every dropped packet is reported.
type Event struct {
	Time    time.Time
	Ifindex int
	// Dir is the subject's policy that was enforced: Egress for packets the
	// pod on Ifindex sent, Ingress for packets delivered to it.
	Dir              Direction
	Allowed          bool
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            string // "TCP", "UDP" or "SCTP"
	// Subject is the identity of the pod on Ifindex (0 if not an endpoint).
	Subject uint32
	// Peer is the peer key of the rule that admitted the packet (identity,
	// class id or PeerAny); without a rule, the peer's identity or 0.
	Peer uint32
	// PolicyIndex and Rule locate the admitting rule; both are -1 when the
	// subject is not isolated or no rule matched. Policy is its name.
	PolicyIndex int
	Policy      string
	Rule        int
}

func (e Event) String() string {
	verdict := "DENY"
	if e.Allowed {
		verdict = "ALLOW"
	}
	why := "no policy"
	if e.PolicyIndex >= 0 {
		why = fmt.Sprintf("%s rule %d", e.Policy, e.Rule)
	} else if !e.Allowed {
		why = "no rule matched"
	}
	return fmt.Sprintf("%s %s %s:%d -> %s:%d %s (%s)", verdict, e.Proto,
		e.Src, e.SrcPort, e.Dst, e.DstPort, e.Dir, why)
}

// Reason says in words why the kernel decided as it did, from the point of
// view of the policy side that was enforced: "allowed by netpol-lab/web
// ingress rule 0", "allowed: not isolated for egress", or "dropped: no
// ingress rule of the policies selecting it matches".
func (e Event) Reason() string {
	switch {
	case e.Allowed && e.PolicyIndex >= 0:
		return fmt.Sprintf("allowed by %s %s rule %d", e.Policy, e.Dir, e.Rule)
	case e.Allowed:
		return "allowed: not isolated for " + e.Dir.String()
	}
	return "dropped: no " + e.Dir.String() + " rule of the policies selecting it matches"
}

// ProtoName returns "TCP", "UDP" or "SCTP" for an IP protocol number.
func ProtoName(proto uint8) string {
	switch proto {
	case ProtoTCP:
		return "TCP"
	case ProtoUDP:
		return "UDP"
	case ProtoSCTP:
		return "SCTP"
	}
	return fmt.Sprintf("proto-%d", proto)
}

// Events streams decoded verdict events until ctx is done, then closes the
// channel. The ring buffer has a single consumer position: run one Events
// reader per pin directory at a time.
func (d *Dataplane) Events(ctx context.Context) (<-chan Event, error) {
	rd, err := ringbuf.NewReader(d.objs.Events)
	if err != nil {
		return nil, fmt.Errorf("opening events ring buffer: %w", err)
	}
	offset, err := monotonicOffset()
	if err != nil {
		rd.Close()
		return nil, err
	}

	out := make(chan Event, 256)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		rd.Close() // unblocks Read
	}()
	go func() {
		defer close(out)
		defer close(done)
		names := d.objs.PolicyNames
		for {
			rec, err := rd.Read()
			if err != nil {
				if errors.Is(err, ringbuf.ErrClosed) || ctx.Err() != nil {
					return
				}
				continue
			}
			var raw netpolEvent
			if err := binary.Read(bytes.NewReader(rec.RawSample), binary.NativeEndian, &raw); err != nil {
				continue
			}
			ev := decodeEvent(raw, offset, names)
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// monotonicOffset converts bpf_ktime_get_ns (CLOCK_MONOTONIC) to wall time.
func monotonicOffset() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, fmt.Errorf("reading monotonic clock: %w", err)
	}
	return time.Duration(time.Now().UnixNano() - ts.Nano()), nil
}

func decodeEvent(raw netpolEvent, offset time.Duration, names *ebpf.Map) Event {
	ev := Event{
		Time:        time.Unix(0, int64(raw.Ts)+int64(offset)),
		Ifindex:     int(raw.Ifindex),
		Dir:         Direction(raw.Dir),
		Allowed:     raw.Verdict == 1,
		Src:         keyAddr(raw.Saddr),
		Dst:         keyAddr(raw.Daddr),
		SrcPort:     raw.Sport,
		DstPort:     raw.Dport,
		Proto:       ProtoName(raw.Proto),
		Subject:     raw.Subject,
		Peer:        raw.Peer,
		PolicyIndex: -1,
		Rule:        -1,
	}
	if raw.Policy != NoPolicy {
		ev.PolicyIndex = int(raw.Policy)
		ev.Rule = int(raw.Rule)
		var n netpolPolicyName
		if err := names.Lookup(uint32(raw.Policy), &n); err == nil {
			ev.Policy = nameString(n)
		}
	}
	return ev
}

// Counters are packet counts since the maps were created, summed over CPUs.
type Counters struct {
	// AllowedNew: packets allowed by the policy path (not replies).
	AllowedNew uint64
	// Denied: packets dropped by policy.
	Denied uint64
	// Reply: packets passed as replies of an allowed flow (conntrack hit).
	Reply uint64
	// NotPoliced: non-IPv4, ICMP, other protocols and non-first fragments.
	NotPoliced uint64
	// EventsLost: events dropped because the ring buffer was full.
	EventsLost uint64
}

// Counters reads the per-CPU counters and sums them.
func (d *Dataplane) Counters() (Counters, error) {
	var sums [5]uint64
	for i := range sums {
		var perCPU []uint64
		if err := d.objs.Counters.Lookup(uint32(i), &perCPU); err != nil {
			return Counters{}, fmt.Errorf("reading counter %d: %w", i, err)
		}
		for _, v := range perCPU {
			sums[i] += v
		}
	}
	return Counters{
		AllowedNew: sums[0],
		Denied:     sums[1],
		Reply:      sums[2],
		NotPoliced: sums[3],
		EventsLost: sums[4],
	}, nil
}
