// Package enforcer is netlab's eBPF NetworkPolicy dataplane: two tc programs
// on each pod's host-side veth and a loader that keeps their maps in sync with
// a desired State.
//
// The package knows nothing about Kubernetes objects. A compiler
// (netpol.Engine.Lower) computes a State (endpoints with identities and
// isolation, CIDR classes for ipBlocks, and allowed port ranges keyed by
// subject, peer, direction and protocol) and calls Dataplane.Sync, which
// writes only the difference into the kernel. Maps are pinned in a bpffs
// directory, so a restarted process picks up the same maps and links: a
// restart never opens or closes traffic.
//
// State, its parts, Event and State.Verdict (the programs' decision in Go)
// build on every system; loading and attaching the programs needs Linux,
// and elsewhere Open, OpenMaps and Remove fail with ErrUnsupported.
package enforcer

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrUnsupported is what the kernel side (Open, OpenMaps, Remove and the
// Dataplane methods) returns outside Linux.
var ErrUnsupported = errors.New("enforcer: the eBPF dataplane needs Linux")

// Direction is the policy direction of the subject pod.
type Direction uint8

const (
	// Ingress policy: traffic delivered to the subject pod.
	Ingress Direction = 0
	// Egress policy: traffic sent by the subject pod.
	Egress Direction = 1
)

func (d Direction) String() string {
	switch d {
	case Ingress:
		return "ingress"
	case Egress:
		return "egress"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// IP protocol numbers the dataplane polices.
const (
	ProtoTCP  uint8 = 6
	ProtoUDP  uint8 = 17
	ProtoSCTP uint8 = 132
)

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

// PeerAny is the peer of a rule that admits every peer (an empty from/to).
const PeerAny uint32 = 0xffffffff

// MaxRanges is how many port ranges one PolicyKey can hold.
const MaxRanges = 16

// NoPolicy is the policy and rule index of events that no rule decided.
const NoPolicy = 0xffff

// EndpointInfo is what the dataplane knows about a pod IP.
type EndpointInfo struct {
	// Identity is the numeric id of the pod's namespace + label set.
	Identity uint32
	// IsolatedIngress / IsolatedEgress: some policy selecting the pod has
	// that policy type, so only what a rule admits is allowed.
	IsolatedIngress, IsolatedEgress bool
}

// PortRange is an inclusive range of destination ports (Lo=0, Hi=65535 for
// any port) together with the policy and rule that admitted it, for events.
type PortRange struct {
	Lo, Hi       uint16
	Policy, Rule uint16
}

// PolicyKey says who may talk to whom: the subject identity, the peer (an
// identity, a CIDR class id, or PeerAny), the subject's policy direction and
// the IP protocol (ProtoTCP, ProtoUDP or ProtoSCTP).
type PolicyKey struct {
	Subject, Peer uint32
	Dir           Direction
	Proto         uint8
}

// State is the complete desired content of the dataplane maps.
type State struct {
	// Endpoints maps pod IPv4 addresses to their identity and isolation.
	Endpoints map[netip.Addr]EndpointInfo
	// Classes maps IPv4 CIDRs to class ids; the longest prefix matching an
	// address gives the class that decides ipBlock membership.
	Classes map[netip.Prefix]uint32
	// Rules maps keys to at most MaxRanges port ranges. A key with no
	// ranges admits nothing and is treated as absent.
	Rules map[PolicyKey][]PortRange
	// Policies names the policy indexes of PortRange ("namespace/name").
	Policies []string

	// Services are ClusterIPs whose backends are pods. With
	// EgressAtDestination, a packet from a pod to one of them passes the
	// sender's egress check at its own veth: kube-proxy rewrites the
	// destination only later, in the node's network namespace.
	Services []netip.Addr
	// EgressAtDestination makes the ingress program check the sending
	// pod's egress policy too, where the packet is delivered and both pod
	// IPs are known. The kind backend sets it; the sandbox (no kube-proxy)
	// does not, and judges egress at the source only.
	EgressAtDestination bool
	// Hosts are the node's own addresses: traffic between them and the
	// node's pods is never policed (NetworkPolicy lets a node reach its
	// pods, which kubelet's probes need). Empty in the sandbox.
	Hosts []netip.Addr
}

// SyncStats counts the map entries a Sync wrote or deleted, over the
// endpoints, cidr_classes, policy, services, hosts and config maps (policy names
// are not counted).
type SyncStats struct {
	Added, Changed, Removed int
}

func (s SyncStats) String() string {
	return fmt.Sprintf("%d added, %d changed, %d removed", s.Added, s.Changed, s.Removed)
}

// Class is the class of a, the longest prefix of s.Classes that contains
// it, as the programs' LPM lookup finds it (0 if none).
func (s *State) Class(a netip.Addr) uint32 {
	best, bits := uint32(0), -1
	for p, c := range s.Classes {
		if p.Contains(a) && p.Bits() > bits {
			best, bits = c, p.Bits()
		}
	}
	return best
}

// Verdict evaluates s for one packet the way the programs do in a sandbox
// (without connection tracking, services or hosts): the source's egress
// where the source is a known endpoint, then the destination's ingress.
func (s *State) Verdict(src, dst netip.Addr, port uint16, proto uint8) bool {
	if src == dst {
		return true // a pod's traffic to itself never leaves it
	}
	if ep, ok := s.Endpoints[src]; ok && ep.IsolatedEgress && !s.admits(ep.Identity, dst, Egress, port, proto) {
		return false
	}
	if ep, ok := s.Endpoints[dst]; ok && ep.IsolatedIngress && !s.admits(ep.Identity, src, Ingress, port, proto) {
		return false
	}
	return true
}

// admits reports whether a rule of subject for dir admits peer on port:
// the programs look up the keys PeerAny, the peer's identity and its class.
func (s *State) admits(subject uint32, peer netip.Addr, dir Direction, port uint16, proto uint8) bool {
	keys := []uint32{PeerAny}
	if ep, ok := s.Endpoints[peer]; ok {
		keys = append(keys, ep.Identity)
	}
	if c := s.Class(peer); c != 0 {
		keys = append(keys, c)
	}
	for _, k := range keys {
		for _, r := range s.Rules[PolicyKey{subject, k, dir, proto}] {
			if port >= r.Lo && port <= r.Hi {
				return true
			}
		}
	}
	return false
}
