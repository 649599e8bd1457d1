// Package worldgen makes random but valid worlds and policy sets from a
// seed: the benchmark's 1,000-pod world, the differential tests' small
// worlds, and fuzz seeds. The same seed always gives the same world.
package worldgen

import (
	"fmt"
	"math/rand"
	"net/netip"

	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Options sizes a generated world.
type Options struct {
	Namespaces int
	Pods       int
	Policies   int
	// Protocols the pods' ports and the policies' ports use (default TCP
	// and UDP; add SCTP where the dataplane has it).
	Protocols []corev1.Protocol
	// PodCIDR is where pod IPs come from (default 10.244.0.0/16).
	PodCIDR netip.Prefix
	// External are addresses outside the cluster that ipBlocks may name.
	External []netip.Prefix
}

var (
	apps  = []string{"web", "api", "db", "cache", "queue", "auth"}
	tiers = []string{"frontend", "backend", "data"}
	envs  = []string{"prod", "dev"}
	teams = []string{"a", "b", "c"}
	ports = []world.Port{
		{Name: "http", Port: 80}, {Name: "http-alt", Port: 8080}, {Name: "grpc", Port: 9090},
		{Name: "db", Port: 5432}, {Name: "dns", Port: 53}, {Name: "metrics", Port: 9100},
	}
)

// Generate builds a world from seed.
func Generate(seed int64, o Options) *world.World {
	r := rand.New(rand.NewSource(seed))
	if len(o.Protocols) == 0 {
		o.Protocols = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP}
	}
	if !o.PodCIDR.IsValid() {
		o.PodCIDR = world.DefaultPodCIDR
	}
	if len(o.External) == 0 {
		o.External = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	}
	w := &world.World{}
	for i := 0; i < o.Namespaces; i++ {
		name := fmt.Sprintf("ns%d", i)
		w.Namespaces = append(w.Namespaces, &world.Namespace{Name: name, Labels: map[string]string{
			world.NamespaceNameLabel: name,
			"team":                   pick(r, teams),
			"env":                    pick(r, envs),
		}})
	}
	ip := o.PodCIDR.Addr().Next().Next()
	for i := 0; i < o.Pods; i++ {
		ns := w.Namespaces[i%len(w.Namespaces)].Name
		p := &world.Pod{Namespace: ns, Name: fmt.Sprintf("pod%d", i), Labels: map[string]string{"app": pick(r, apps)}}
		if r.Intn(2) == 0 {
			p.Labels["tier"] = pick(r, tiers)
		}
		if r.Intn(3) == 0 {
			p.Labels["env"] = pick(r, envs)
		}
		for ip.As4()[3] == 0 || ip.As4()[3] == 255 {
			ip = ip.Next()
		}
		p.IP = ip
		ip = ip.Next()
		// One or two ports; the same name may map to different numbers on
		// different pods, which is what makes named ports interesting.
		n := 1 + r.Intn(2)
		used := map[world.Port]bool{}
		for j := 0; j < n; j++ {
			port := ports[r.Intn(len(ports))]
			if r.Intn(4) == 0 {
				port.Port += int32(r.Intn(3))
			}
			port.Protocol = o.Protocols[r.Intn(len(o.Protocols))]
			key := world.Port{Port: port.Port, Protocol: port.Protocol}
			dupName := false
			for u := range used {
				if u.Name == port.Name {
					dupName = true
				}
			}
			if used[key] || dupName {
				continue
			}
			used[key] = true
			used[world.Port{Name: port.Name}] = true
			p.Ports = append(p.Ports, port)
		}
		w.Pods = append(w.Pods, p)
	}
	for i := 0; i < o.Policies; i++ {
		ns := w.Namespaces[r.Intn(len(w.Namespaces))].Name
		w.Policies = append(w.Policies, genPolicy(r, ns, fmt.Sprintf("pol%d", i), o))
	}
	world.AssignIPs(w, nil)
	w.Sort()
	for _, p := range w.Pods {
		sortPorts(p)
	}
	return w
}

func sortPorts(p *world.Pod) {
	for i := 1; i < len(p.Ports); i++ {
		for j := i; j > 0; j-- {
			a, b := p.Ports[j-1], p.Ports[j]
			if a.Port > b.Port || (a.Port == b.Port && a.Protocol > b.Protocol) {
				p.Ports[j-1], p.Ports[j] = b, a
			}
		}
	}
}

func pick(r *rand.Rand, xs []string) string { return xs[r.Intn(len(xs))] }

func genSelector(r *rand.Rand, emptyOK bool) *metav1.LabelSelector {
	s := &metav1.LabelSelector{}
	switch r.Intn(6) {
	case 0:
		if emptyOK {
			return s
		}
		fallthrough
	case 1, 2:
		s.MatchLabels = map[string]string{"app": pick(r, apps)}
	case 3:
		s.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{pick(r, apps), pick(r, apps)}}}
	case 4:
		s.MatchLabels = map[string]string{"tier": pick(r, tiers)}
		if r.Intn(2) == 0 {
			s.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpDoesNotExist}}
		}
	default:
		ops := []metav1.LabelSelectorOperator{metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpExists}
		op := ops[r.Intn(2)]
		req := metav1.LabelSelectorRequirement{Key: "tier", Operator: op}
		if op == metav1.LabelSelectorOpNotIn {
			req.Values = []string{pick(r, tiers)}
		}
		s.MatchExpressions = []metav1.LabelSelectorRequirement{req}
	}
	return s
}

func genNSSelector(r *rand.Rand, o Options) *metav1.LabelSelector {
	switch r.Intn(4) {
	case 0:
		return &metav1.LabelSelector{}
	case 1:
		return &metav1.LabelSelector{MatchLabels: map[string]string{"team": pick(r, teams)}}
	case 2:
		return &metav1.LabelSelector{MatchLabels: map[string]string{world.NamespaceNameLabel: fmt.Sprintf("ns%d", r.Intn(o.Namespaces))}}
	default:
		return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{pick(r, envs)}}}}
	}
}

func genPeer(r *rand.Rand, o Options) networkingv1.NetworkPolicyPeer {
	switch r.Intn(5) {
	case 0:
		return networkingv1.NetworkPolicyPeer{PodSelector: genSelector(r, true)}
	case 1:
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: genNSSelector(r, o)}
	case 2:
		return networkingv1.NetworkPolicyPeer{PodSelector: genSelector(r, true), NamespaceSelector: genNSSelector(r, o)}
	case 3:
		// A block around part of the pod CIDR, sometimes with a hole.
		base := o.PodCIDR.Addr().As4()
		cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{base[0], base[1], 0, 0}), 24+r.Intn(5)).Masked()
		b := &networkingv1.IPBlock{CIDR: cidr.String()}
		if r.Intn(2) == 0 {
			b.Except = []string{netip.PrefixFrom(cidr.Addr(), cidr.Bits()+2).String()}
		}
		return networkingv1.NetworkPolicyPeer{IPBlock: b}
	default:
		ext := o.External[r.Intn(len(o.External))]
		b := &networkingv1.IPBlock{CIDR: "0.0.0.0/0"}
		if r.Intn(2) == 0 {
			b.CIDR = ext.String()
		} else {
			b.Except = []string{o.PodCIDR.String()}
		}
		return networkingv1.NetworkPolicyPeer{IPBlock: b}
	}
}

func genPorts(r *rand.Rand, o Options) []networkingv1.NetworkPolicyPort {
	var out []networkingv1.NetworkPolicyPort
	for i, n := 0, r.Intn(3); i < n; i++ {
		proto := o.Protocols[r.Intn(len(o.Protocols))]
		pp := networkingv1.NetworkPolicyPort{Protocol: &proto}
		switch r.Intn(4) {
		case 0:
			v := intstr.FromString(ports[r.Intn(len(ports))].Name)
			pp.Port = &v
		case 1:
			v := intstr.FromInt32(ports[r.Intn(len(ports))].Port)
			pp.Port = &v
		case 2:
			v := intstr.FromInt32(ports[r.Intn(len(ports))].Port)
			end := v.IntVal + int32(r.Intn(3))
			pp.Port, pp.EndPort = &v, &end
		default:
			// no port: every port of the protocol
		}
		out = append(out, pp)
	}
	return out
}

func genPolicy(r *rand.Rand, ns, name string, o Options) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	np.Spec.PodSelector = *genSelector(r, true)
	dirs := r.Intn(3) // 0 ingress, 1 egress, 2 both
	if dirs != 1 {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
		for i, n := 0, r.Intn(3); i < n; i++ {
			var rule networkingv1.NetworkPolicyIngressRule
			for j, m := 0, r.Intn(3); j < m; j++ {
				rule.From = append(rule.From, genPeer(r, o))
			}
			rule.Ports = genPorts(r, o)
			np.Spec.Ingress = append(np.Spec.Ingress, rule)
		}
	}
	if dirs != 0 {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		for i, n := 0, r.Intn(3); i < n; i++ {
			var rule networkingv1.NetworkPolicyEgressRule
			for j, m := 0, r.Intn(3); j < m; j++ {
				rule.To = append(rule.To, genPeer(r, o))
			}
			rule.Ports = genPorts(r, o)
			np.Spec.Egress = append(np.Spec.Egress, rule)
		}
	}
	// Sometimes leave policyTypes to the defaulting rules.
	if r.Intn(4) == 0 {
		np.Spec.PolicyTypes = nil
	}
	world.DefaultNetworkPolicy(np)
	return np
}
