package enforcer

import (
	"fmt"
	"net/netip"
	"time"
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
