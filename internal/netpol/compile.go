package netpol

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
)

// This file lowers the engine's model into the form a packet filter can
// evaluate with a handful of hash lookups: endpoints (IP -> identity and
// isolation), address classes (longest-prefix match -> class), and rules
// keyed by (subject, peer, direction, protocol) holding port ranges. The
// eBPF enforcer loads exactly this (an enforcer.State); its Verdict
// evaluates it the way the kernel program does, so tests can prove the
// lowering exact against Allowed.
//
// Dataplane identities are finer than the engine's: two pods share one only
// if they have the same namespace and labels, the same named ports, and the
// same address class. Those three are everything a lookup can depend on
// (selectors, named-port resolution on the destination, ipBlock membership),
// so keying rules by dataplane identity loses nothing.

// ClassBase is added to class numbers so they never collide with identities.
const ClassBase uint32 = 0x80000000

// Lower compiles the engine's world for a packet filter: the enforcer's
// maps, less what a backend adds (services, hosts, EgressAtDestination).
func (e *Engine) Lower() (*enforcer.State, error) {
	dp := &enforcer.State{
		Endpoints: map[netip.Addr]enforcer.EndpointInfo{},
		Classes:   map[netip.Prefix]uint32{},
		Rules:     map[enforcer.PolicyKey][]enforcer.PortRange{},
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
		class := dp.Class(p.IP)
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
		dp.Endpoints[p.IP] = enforcer.EndpointInfo{
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
	add := func(subject, peer uint32, dir Direction, proto corev1.Protocol, lo, hi, policy, rule uint16) {
		k := enforcer.PolicyKey{Subject: subject, Peer: peer, Dir: dir, Proto: IPProtocol(proto)}
		dp.Rules[k] = append(dp.Rules[k], enforcer.PortRange{Lo: lo, Hi: hi, Policy: policy, Rule: rule})
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
					peers = append(peers, peerKey{key: enforcer.PeerAny})
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
							add(subjID, pk.key, dir, proto, 0, 65535, pol, uint16(r.index))
						}
						continue
					}
					for _, pr := range r.ports {
						switch {
						case pr.any:
							add(subjID, pk.key, dir, pr.proto, 0, 65535, pol, uint16(r.index))
						case pr.name == "":
							add(subjID, pk.key, dir, pr.proto, uint16(pr.port), uint16(pr.end), pol, uint16(r.index))
						case dir == Ingress:
							if cp, ok := subj.pod.NamedPort(pr.name, pr.proto); ok {
								add(subjID, pk.key, dir, pr.proto, uint16(cp.Port), uint16(cp.Port), pol, uint16(r.index))
							}
						case pk.pod != nil:
							if cp, ok := pk.pod.NamedPort(pr.name, pr.proto); ok {
								add(subjID, pk.key, dir, pr.proto, uint16(cp.Port), uint16(cp.Port), pol, uint16(r.index))
							}
						default:
							// Egress to "any" or a class with a named port:
							// only pods can have named ports, so expand to
							// the identities of pods the peer covers.
							for _, t := range ids {
								tp := rep[t]
								if pk.key != enforcer.PeerAny && tp.class != pk.key {
									continue
								}
								if cp, ok := tp.pod.NamedPort(pr.name, pr.proto); ok {
									add(subjID, t, dir, pr.proto, uint16(cp.Port), uint16(cp.Port), pol, uint16(r.index))
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
		if len(rs) > enforcer.MaxRanges {
			return nil, fmt.Errorf("identity %d %s %s: %d port ranges after merging, the dataplane holds %d", k.Subject, k.Dir, enforcer.ProtoName(k.Proto), len(rs), enforcer.MaxRanges)
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

// mergeRanges sorts ranges, drops duplicates and ranges inside another, and
// joins overlapping or adjacent ones (keeping the first policy/rule for
// events) only when there are more than enforcer.MaxRanges.
func mergeRanges(rs []enforcer.PortRange) []enforcer.PortRange {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Lo != rs[j].Lo {
			return rs[i].Lo < rs[j].Lo
		}
		return rs[i].Hi > rs[j].Hi
	})
	var out []enforcer.PortRange
	for _, r := range rs {
		if n := len(out); n > 0 && r.Lo >= out[n-1].Lo && r.Hi <= out[n-1].Hi {
			continue // inside the previous range
		}
		out = append(out, r)
	}
	if len(out) <= enforcer.MaxRanges {
		return out
	}
	var joined []enforcer.PortRange
	for _, r := range out {
		if n := len(joined); n > 0 && uint32(r.Lo) <= uint32(joined[n-1].Hi)+1 {
			joined[n-1].Hi = max(joined[n-1].Hi, r.Hi)
			continue
		}
		joined = append(joined, r)
	}
	return joined
}

// IPProtocol is the IP protocol number of p as the dataplane keys it.
func IPProtocol(p corev1.Protocol) uint8 {
	switch p {
	case corev1.ProtocolUDP:
		return enforcer.ProtoUDP
	case corev1.ProtocolSCTP:
		return enforcer.ProtoSCTP
	}
	return enforcer.ProtoTCP
}
