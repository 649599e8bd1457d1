package enforcer

import (
	"net/netip"

	"github.com/netlab/netlab/internal/netpol"
)

// StateOf converts the engine's lowered form (netpol.Lower) to the
// enforcer's maps. Every backend feeds the enforcer through it.
func StateOf(dp *netpol.Dataplane) State {
	s := State{
		Endpoints: make(map[netip.Addr]EndpointInfo, len(dp.Endpoints)),
		Classes:   dp.Classes,
		Rules:     make(map[PolicyKey][]PortRange, len(dp.Rules)),
		Policies:  dp.Policies,
	}
	for ip, e := range dp.Endpoints {
		s.Endpoints[ip] = EndpointInfo{Identity: e.Identity, IsolatedIngress: e.IsolatedIngress, IsolatedEgress: e.IsolatedEgress}
	}
	for k, rs := range dp.Rules {
		key := PolicyKey{Subject: k.Subject, Peer: k.Peer, Dir: Ingress, Proto: protoNumber(string(k.Proto))}
		if k.Dir == netpol.Egress {
			key.Dir = Egress
		}
		out := make([]PortRange, len(rs))
		for i, r := range rs {
			out[i] = PortRange{Lo: r.Lo, Hi: r.Hi, Policy: r.Policy, Rule: r.Rule}
		}
		s.Rules[key] = out
	}
	return s
}

func protoNumber(p string) uint8 {
	switch p {
	case "UDP":
		return ProtoUDP
	case "SCTP":
		return ProtoSCTP
	}
	return ProtoTCP
}
