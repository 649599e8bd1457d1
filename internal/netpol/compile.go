package netpol

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
)

// This file lowers the engine's model into the form a packet filter can
// evaluate with a handful of hash lookups: endpoints (IP -> identity and
// isolation), address classes (longest-prefix match -> class), and rules
// keyed by (subject, peer, direction, protocol) holding port ranges. The
// eBPF enforcer loads exactly this; Verdict evaluates it the way the kernel
// program does, so tests can prove the lowering exact against Allowed.
//
// Dataplane identities are finer than the engine's: two pods share one only
// if they have the same namespace and labels, the same named ports, and the
// same address class. Those three are everything a lookup can depend on
// (selectors, named-port resolution on the destination, ipBlock membership),
// so keying rules by dataplane identity loses nothing.

// PeerAny is the peer of rules that admit every peer (an empty from/to).
const PeerAny uint32 = 0xffffffff

// ClassBase is added to class numbers so they never collide with identities.
const ClassBase uint32 = 0x80000000

// DPEndpoint is what the dataplane knows of a pod address.
type DPEndpoint struct {
	Identity        uint32
	IsolatedIngress bool
	IsolatedEgress  bool
}

// DPKey keys the rules: the subject's identity (whose policy it is), the
// peer (an identity, a class, or PeerAny), direction and protocol.
type DPKey struct {
	Subject, Peer uint32
	Dir           Direction
	Proto         corev1.Protocol
}

// DPRange is an inclusive port range and the policy/rule it came from.
type DPRange struct {
	Lo, Hi       uint16
	Policy, Rule uint16
}

// Dataplane is the lowered form of a world's policies.
type Dataplane struct {
	Endpoints map[netip.Addr]DPEndpoint
	Classes   map[netip.Prefix]uint32
	Rules     map[DPKey][]DPRange
	// Policies names policy indexes ("ns/name") for verdict events.
	Policies []string
}

// MaxRanges is how many port ranges one rule key may hold in the kernel.
const MaxRanges = 16

// Lower compiles the engine's world for a packet filter.
func (e *Engine) Lower() (*Dataplane, error) {
	dp := &Dataplane{
		Endpoints: map[netip.Addr]DPEndpoint{},
		Classes:   map[netip.Prefix]uint32{},
		Rules:     map[DPKey][]DPRange{},
	}
	policyIndex := map[string]uint16{}
	for i, np := range e.w.Policies {
		policyIndex[policyKey(np)] = uint16(i)
		dp.Policies = append(dp.Policies, policyKey(np))
	}
	// Address classes: every ipBlock cidr and except, deduplicated.
	var prefixes []netip.Prefix
	for _, sides := range e.sides {
		for _, s := range sides {
			for _, r := range s.rules {
				for _, p := range r.peers {
					if p.ids == nil {
						prefixes = append(prefixes, p.cidr)
						prefixes = append(prefixes, p.except...)
					}
				}
			}
		}
	}
	sort.Slice(prefixes, func(i, j int) bool { return prefixes[i].String() < prefixes[j].String() })
	for _, p := range prefixes {
		if _, ok := dp.Classes[p]; !ok {
			dp.Classes[p] = ClassBase + uint32(len(dp.Classes))
		}
	}
	// Dataplane identities.
	type dpPod struct {
		pod   *world.Pod
		id    uint32
		class uint32 // 0: no class
	}
	var pods []dpPod
	byKey := map[string]uint32{}
	for _, p := range e.w.Pods {
		if _, ok := e.podID[p]; !ok || !p.IP.IsValid() {
			continue // hostNetwork pods are node traffic; no address, no packets
		}
		class := lpm(dp.Classes, p.IP)
		var named []string
		for _, cp := range p.Ports {
			if cp.Name != "" {
				named = append(named, fmt.Sprintf("%s/%s=%d", cp.Name, cp.Protocol, cp.Port))
			}
		}
		key := fmt.Sprintf("%d|%s|%d", e.podID[p], strings.Join(named, ","), class)
		id, ok := byKey[key]
		if !ok {
			id = uint32(len(byKey) + 1)
			byKey[key] = id
		}
		pods = append(pods, dpPod{pod: p, id: id, class: class})
		dp.Endpoints[p.IP] = DPEndpoint{
			Identity:        id,
			IsolatedIngress: e.sides[Ingress][e.podID[p]].isolated(),
			IsolatedEgress:  e.sides[Egress][e.podID[p]].isolated(),
		}
	}
	// One representative pod per dataplane identity.
	rep := map[uint32]dpPod{}
	var ids []uint32
	for _, p := range pods {
		if _, ok := rep[p.id]; !ok {
			rep[p.id] = p
			ids = append(ids, p.id)
		}
	}
	add := func(k DPKey, r DPRange) {
		dp.Rules[k] = append(dp.Rules[k], r)
	}
	for _, subjID := range ids {
		subj := rep[subjID]
		for dir := Ingress; dir <= Egress; dir++ {
			s := e.sides[dir][e.podID[subj.pod]]
			for _, r := range s.rules {
				pol := policyIndex[policyKey(r.policy)]
				// The peers this rule names, as dataplane keys.
				type peerKey struct {
					key uint32
					pod *world.Pod // the representative destination, for named ports
				}
				var peers []peerKey
				if r.allPeers {
					peers = append(peers, peerKey{key: PeerAny})
				}
				for _, p := range r.peers {
					if p.ids != nil {
						for _, t := range ids {
							if p.ids[e.podID[rep[t].pod]] {
								peers = append(peers, peerKey{key: t, pod: rep[t].pod})
							}
						}
						continue
					}
					for prefix, class := range dp.Classes {
						if p.cidr.Overlaps(prefix) && p.cidr.Bits() <= prefix.Bits() && !excepted(p.except, prefix) {
							peers = append(peers, peerKey{key: class})
						}
					}
				}
				for _, pk := range peers {
					// Named ports resolve on the destination: the subject for
					// ingress, the peer for egress. A peer that is not one
					// identity (any, or a class) cannot resolve them, so for
					// egress the named ports are expanded to every identity
					// the peer covers.
					if r.allPorts {
						for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP} {
							add(DPKey{subjID, pk.key, dir, proto}, DPRange{0, 65535, pol, uint16(r.index)})
						}
						continue
					}
					for _, pr := range r.ports {
						switch {
						case pr.any:
							add(DPKey{subjID, pk.key, dir, pr.proto}, DPRange{0, 65535, pol, uint16(r.index)})
						case pr.name == "":
							add(DPKey{subjID, pk.key, dir, pr.proto}, DPRange{uint16(pr.port), uint16(pr.end), pol, uint16(r.index)})
						case dir == Ingress:
							if cp, ok := subj.pod.NamedPort(pr.name, pr.proto); ok {
								add(DPKey{subjID, pk.key, dir, pr.proto}, DPRange{uint16(cp.Port), uint16(cp.Port), pol, uint16(r.index)})
							}
						case pk.pod != nil:
							if cp, ok := pk.pod.NamedPort(pr.name, pr.proto); ok {
								add(DPKey{subjID, pk.key, dir, pr.proto}, DPRange{uint16(cp.Port), uint16(cp.Port), pol, uint16(r.index)})
							}
						default:
							// Egress to "any" or a class with a named port:
							// only pods can have named ports, so expand to
							// the identities of pods the peer covers.
							for _, t := range ids {
								tp := rep[t]
								if pk.key != PeerAny && tp.class != pk.key {
									continue
								}
								if cp, ok := tp.pod.NamedPort(pr.name, pr.proto); ok {
									add(DPKey{subjID, t, dir, pr.proto}, DPRange{uint16(cp.Port), uint16(cp.Port), pol, uint16(r.index)})
								}
							}
						}
					}
				}
			}
		}
	}
	for k, rs := range dp.Rules {
		rs = mergeRanges(rs)
		if len(rs) > MaxRanges {
			return nil, fmt.Errorf("identity %d %s %s: %d port ranges after merging, the dataplane holds %d", k.Subject, k.Dir, k.Proto, len(rs), MaxRanges)
		}
		dp.Rules[k] = rs
	}
	return dp, nil
}

// excepted reports whether prefix lies inside one of the exceptions.
func excepted(except []netip.Prefix, prefix netip.Prefix) bool {
	for _, ex := range except {
		if ex.Bits() <= prefix.Bits() && ex.Contains(prefix.Addr()) {
			return true
		}
	}
	return false
}

// lpm is the longest-prefix match of ip among the classes (0 if none).
func lpm(classes map[netip.Prefix]uint32, ip netip.Addr) uint32 {
	best, bits := uint32(0), -1
	for p, c := range classes {
		if p.Contains(ip) && p.Bits() > bits {
			best, bits = c, p.Bits()
		}
	}
	return best
}

// mergeRanges sorts ranges, drops duplicates and ranges inside another, and
// joins overlapping or adjacent ones (keeping the first policy/rule for
// events) only when there are more than MaxRanges.
func mergeRanges(rs []DPRange) []DPRange {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Lo != rs[j].Lo {
			return rs[i].Lo < rs[j].Lo
		}
		return rs[i].Hi > rs[j].Hi
	})
	var out []DPRange
	for _, r := range rs {
		if n := len(out); n > 0 && r.Lo >= out[n-1].Lo && r.Hi <= out[n-1].Hi {
			continue // inside the previous range
		}
		out = append(out, r)
	}
	if len(out) <= MaxRanges {
		return out
	}
	var joined []DPRange
	for _, r := range out {
		if n := len(joined); n > 0 && uint32(r.Lo) <= uint32(joined[n-1].Hi)+1 {
			joined[n-1].Hi = max(joined[n-1].Hi, r.Hi)
			continue
		}
		joined = append(joined, r)
	}
	return joined
}

// Verdict evaluates the dataplane form for one packet the way the kernel
// program does (without connection tracking): the source's egress where the
// source is a known endpoint, then the destination's ingress.
func (dp *Dataplane) Verdict(src, dst netip.Addr, port uint16, proto corev1.Protocol) bool {
	if src == dst {
		return true // a pod's traffic to itself never leaves it
	}
	if ep, ok := dp.Endpoints[src]; ok && ep.IsolatedEgress && !dp.admits(ep.Identity, dst, Egress, port, proto) {
		return false
	}
	if ep, ok := dp.Endpoints[dst]; ok && ep.IsolatedIngress && !dp.admits(ep.Identity, src, Ingress, port, proto) {
		return false
	}
	return true
}

func (dp *Dataplane) admits(subject uint32, peer netip.Addr, dir Direction, port uint16, proto corev1.Protocol) bool {
	keys := []uint32{PeerAny}
	if ep, ok := dp.Endpoints[peer]; ok {
		keys = append(keys, ep.Identity)
	}
	if c := lpm(dp.Classes, peer); c != 0 {
		keys = append(keys, c)
	}
	for _, k := range keys {
		for _, r := range dp.Rules[DPKey{subject, k, dir, proto}] {
			if port >= r.Lo && port <= r.Hi {
				return true
			}
		}
	}
	return false
}
