package nodeagent

import (
	"fmt"
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// Route sends a node's pods' traffic to that node.
type Route struct {
	Dst  netip.Prefix // the other node's podCIDR
	Via  netip.Addr   // its InternalIP
	Node string
}

func (r Route) String() string { return fmt.Sprintf("%s via %s (%s)", r.Dst, r.Via, r.Node) }

// NodeIP returns a node's first IPv4 InternalIP.
func NodeIP(n *corev1.Node) (netip.Addr, bool) {
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Is4() {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

// PodCIDR returns a node's IPv4 pod CIDR (spec.podCIDRs, else spec.podCIDR).
func PodCIDR(n *corev1.Node) (netip.Prefix, bool) {
	cidrs := n.Spec.PodCIDRs
	if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
		cidrs = []string{n.Spec.PodCIDR}
	}
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is4() {
			return p.Masked(), true
		}
	}
	return netip.Prefix{}, false
}

// Routes computes the routes node self needs: every other node's podCIDR
// through that node's InternalIP, sorted by destination. Nodes that have no
// podCIDR or no address yet are skipped (they get routes once they do);
// two nodes claiming overlapping podCIDRs, or another node claiming self's,
// is an error naming both, since no route can be right then.
func Routes(self string, nodes []*corev1.Node) ([]Route, error) {
	var mine netip.Prefix
	for _, n := range nodes {
		if n.Name == self {
			mine, _ = PodCIDR(n)
		}
	}
	var out []Route
	for _, n := range nodes {
		if n.Name == self {
			continue
		}
		cidr, ok := PodCIDR(n)
		if !ok {
			continue
		}
		ip, ok := NodeIP(n)
		if !ok {
			continue
		}
		if mine.IsValid() && mine.Overlaps(cidr) {
			return nil, fmt.Errorf("node %s: spec.podCIDR %s overlaps node %s's %s", n.Name, cidr, self, mine)
		}
		out = append(out, Route{Dst: cidr, Via: ip, Node: n.Name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dst.Addr().Less(out[j].Dst.Addr()) })
	for i := 1; i < len(out); i++ {
		if out[i-1].Dst.Overlaps(out[i].Dst) {
			return nil, fmt.Errorf("node %s: spec.podCIDR %s overlaps node %s's %s", out[i].Node, out[i].Dst, out[i-1].Node, out[i-1].Dst)
		}
	}
	return out, nil
}

// NodeAddresses are the addresses a node's own traffic to its pods comes
// from: its InternalIPs, and the pod network's gateway (the host side of
// every pod's veth, which the node uses as source towards its pods).
func NodeAddresses(n *corev1.Node, podCIDR netip.Prefix) []netip.Addr {
	var out []netip.Addr
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Is4() {
			out = append(out, ip)
		}
	}
	if podCIDR.IsValid() {
		out = append(out, podCIDR.Masked().Addr().Next())
	}
	return out
}
