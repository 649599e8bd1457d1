package grade

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/labs"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// A flow that must be blocked can be closed on either side: the source's
// egress or the destination's ingress. Only one of them is usually what the
// task is about (db-isolation protects the database's ingress; isolating the
// egress of kube-system/coredns instead would break DNS answers the task
// needs), so fixer tries each side's change through the engine and
// suggests the one that closes the flow without blocking any flow the task
// requires, preferring the side the task's reference solution changes.

// side is one direction of one pod.
type side struct {
	pod string // "ns/name"
	dir string // "ingress" or "egress"
}

func (s side) String() string { return s.dir + " of " + s.pod }

// change is the smallest change on one side that closes flows there: drop
// the rule that admits them (rule) or, when nothing isolates the side,
// isolate it; and allow again, exactly, the flows the task requires on that
// side (keep).
type change struct {
	side side
	rule *netpol.RuleRef // nil: the side is not isolated
	keep []matrix.Key
	w    *world.World   // the world after the change
	eng  *netpol.Engine // and its engine
	// broken are required flows the change blocks (it is only suggested
	// when there are none).
	broken []matrix.Key
}

// fixer suggests changes for the wrong cells of one grade.
type fixer struct {
	applied  *world.World
	eng      *netpol.Engine
	required []matrix.Key // expected allowed and allowed under applied
	solution *world.World // the reference solution's world
	solEng   *netpol.Engine
	focus    map[side]int // cells the task is about, per side
	changes  map[string]*change
}

func newFixer(t *labs.Task, applied *world.World, eng *netpol.Engine, exp *matrix.Matrix, start map[matrix.Key]matrix.Cell) *fixer {
	sol := t.SolvedWorld()
	f := &fixer{applied: applied, eng: eng, solution: sol, solEng: netpol.New(sol), focus: map[side]int{}, changes: map[string]*change{}}
	for _, e := range exp.Results {
		k := e.Key()
		if e.Allowed && allowed(applied, eng, k) {
			f.required = append(f.required, k)
		}
		if start[k].Allowed != e.Allowed {
			f.focus[side{k.From, "egress"}]++
			f.focus[side{k.To, "ingress"}]++
		}
	}
	return f
}

// endpoints are the engine's endpoints of k in w (ok false if either is
// not in the world).
func endpoints(w *world.World, k matrix.Key) (src, dst netpol.Endpoint, ok bool) {
	p := w.Pod(k.From)
	if p == nil {
		return src, dst, false
	}
	if q := w.Pod(k.To); q != nil {
		dst = netpol.PodEndpoint(q)
	} else if ip, err := netip.ParseAddr(k.To); err == nil {
		dst = netpol.IPEndpoint(ip)
	} else {
		return src, dst, false
	}
	return netpol.PodEndpoint(p), dst, true
}

// allowed reports whether e, the engine of w, allows k (the engine knows
// pods by w's pointers).
func allowed(w *world.World, e *netpol.Engine, k matrix.Key) bool {
	src, dst, ok := endpoints(w, k)
	return ok && e.Explain(src, dst, k.Port, corev1.Protocol(k.Protocol)).Allowed
}

// leaked suggests how to block k, which the policies allow: x is the
// engine's explanation under the applied policies. It returns the hint and
// the side it is about (empty when no one-sided change is safe).
func (f *fixer) leaked(k matrix.Key, x *netpol.Explanation) (string, *change) {
	var cands []*change
	for _, s := range []*netpol.Side{x.Egress, x.Ingress} {
		if s == nil || (s.Isolated && s.AdmittedBy == nil) {
			continue
		}
		c := f.change(side{s.Pod, s.Direction}, s.AdmittedBy)
		if !allowed(c.w, c.eng, k) {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return "no change on one side alone closes this: " + f.ways(x), nil
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if (len(a.broken) == 0) != (len(b.broken) == 0) {
			return len(a.broken) == 0
		}
		if sa, sb := f.solutionChanges(a.side), f.solutionChanges(b.side); sa != sb {
			return sa
		}
		if f.focus[a.side] != f.focus[b.side] {
			return f.focus[a.side] > f.focus[b.side]
		}
		return len(a.keep) < len(b.keep)
	})
	best := cands[0]
	if len(best.broken) > 0 {
		return fmt.Sprintf("%s, and allow again what the task needs that this blocks: %s",
			best.what(), keys(best.broken, best.side)), best
	}
	return best.what() + best.keeping(), best
}

// ways is the old wording: every side that admits the flow.
func (f *fixer) ways(x *netpol.Explanation) string {
	var ways []string
	for _, s := range []*netpol.Side{x.Egress, x.Ingress} {
		if s == nil {
			continue
		}
		switch {
		case !s.Isolated:
			ways = append(ways, "no policy isolates "+s.Direction+" of "+s.Pod)
		case s.AdmittedBy != nil:
			ways = append(ways, fmt.Sprintf("%s admits it", s.AdmittedBy))
		}
	}
	return strings.Join(ways, "; ") + " (the source shares its labels with a pod whose flows the task requires)"
}

// solutionChanges reports whether the reference solution isolates side s
// (the side the task is about).
func (f *fixer) solutionChanges(s side) bool {
	p := f.solution.Pod(s.pod)
	if p == nil {
		return false
	}
	for _, q := range f.solution.Pods {
		if q == p {
			continue
		}
		if s.dir == "ingress" {
			return f.solEng.Explain(netpol.PodEndpoint(q), netpol.PodEndpoint(p), 1, corev1.ProtocolTCP).Ingress.Isolated
		}
		return f.solEng.Explain(netpol.PodEndpoint(p), netpol.PodEndpoint(q), 1, corev1.ProtocolTCP).Egress.Isolated
	}
	return false
}

// reason is why the flows on the change's side get through, for a group
// of cells.
func (c *change) reason() string {
	if c.rule == nil {
		return "no policy isolates " + c.side.String()
	}
	return fmt.Sprintf("%s admits them", c.rule)
}

// what says the change in words.
func (c *change) what() string {
	if c.rule == nil {
		return fmt.Sprintf("isolate %s (a policy selecting it with %s in policyTypes)", c.side, policyType(c.side.dir))
	}
	return fmt.Sprintf("narrow %s (its %s or ports) so that it no longer admits them", c.rule, peerField(c.side.dir))
}

// keeping lists the required flows the change must keep allowed.
func (c *change) keeping() string {
	if len(c.keep) == 0 {
		if c.rule == nil {
			return "; nothing the task needs goes through it"
		}
		return ""
	}
	verb := "allowing only what the task needs"
	if c.rule != nil {
		verb = "it must still admit what the task needs"
	}
	return fmt.Sprintf(", %s: %s", verb, keys(c.keep, c.side))
}

// keys names flows as seen from side s: "shop/api on 5432/TCP" for an
// ingress side, "kube-system/coredns:53/UDP" for an egress side.
func keys(ks []matrix.Key, s side) string {
	var out []string
	const most = 6
	for i, k := range ks {
		if i == most {
			out = append(out, fmt.Sprintf("and %d more", len(ks)-most))
			break
		}
		switch {
		case s.dir == "ingress" && k.To == s.pod:
			out = append(out, fmt.Sprintf("%s on %d/%s", k.From, k.Port, k.Protocol))
		case s.dir == "egress" && k.From == s.pod:
			out = append(out, fmt.Sprintf("%s:%d/%s", k.To, k.Port, k.Protocol))
		default:
			out = append(out, k.String())
		}
	}
	return strings.Join(out, ", ")
}

// change returns (once per side and rule) the change on side s that drops
// rule (or isolates s), keeps the required flows on s, and what it breaks.
func (f *fixer) change(s side, rule *netpol.RuleRef) *change {
	id := s.String()
	if rule != nil {
		id += " " + rule.String()
	}
	if c, ok := f.changes[id]; ok {
		return c
	}
	c := &change{side: s, rule: rule}
	f.changes[id] = c
	w := f.applied.Clone()
	if rule != nil {
		dropRule(w, *rule)
	}
	for _, k := range f.required {
		if (s.dir == "ingress" && k.To == s.pod) || (s.dir == "egress" && k.From == s.pod) {
			c.keep = append(c.keep, k)
		}
	}
	if pol := keeper(w, s, c.keep); pol != nil {
		w.Policies = append(w.Policies, pol)
	}
	c.w, c.eng = w, netpol.New(w)
	for _, k := range f.required {
		if !allowed(c.w, c.eng, k) {
			c.broken = append(c.broken, k)
		}
	}
	return c
}

// dropRule removes one rule from its policy in w.
func dropRule(w *world.World, r netpol.RuleRef) {
	ns, name, _ := strings.Cut(r.Policy, "/")
	np := w.Policy(ns, name)
	if np == nil {
		return
	}
	if r.Direction == "ingress" && r.Rule < len(np.Spec.Ingress) {
		np.Spec.Ingress = append(np.Spec.Ingress[:r.Rule:r.Rule], np.Spec.Ingress[r.Rule+1:]...)
	}
	if r.Direction == "egress" && r.Rule < len(np.Spec.Egress) {
		np.Spec.Egress = append(np.Spec.Egress[:r.Rule:r.Rule], np.Spec.Egress[r.Rule+1:]...)
	}
}

// keeper is a policy that selects side s's pod by its labels, isolates that
// direction, and admits exactly the flows keep (by the peers' namespace
// and pod labels, or /32 for an address).
func keeper(w *world.World, s side, keep []matrix.Key) *networkingv1.NetworkPolicy {
	p := w.Pod(s.pod)
	if p == nil {
		return nil
	}
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: "netlab-hint-" + s.dir},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: p.Labels}},
	}
	for _, k := range keep {
		peerKey := k.From
		if s.dir == "egress" {
			peerKey = k.To
		}
		var peer networkingv1.NetworkPolicyPeer
		if q := w.Pod(peerKey); q != nil {
			var nsLabels map[string]string
			if ns := w.Namespace(q.Namespace); ns != nil {
				nsLabels = ns.Labels
			}
			peer.NamespaceSelector = &metav1.LabelSelector{MatchLabels: nsLabels}
			peer.PodSelector = &metav1.LabelSelector{MatchLabels: q.Labels}
		} else if ip, err := netip.ParseAddr(peerKey); err == nil {
			peer.IPBlock = &networkingv1.IPBlock{CIDR: netip.PrefixFrom(ip, ip.BitLen()).String()}
		} else {
			continue
		}
		proto := corev1.Protocol(k.Protocol)
		port := intstr.FromInt32(k.Port)
		ports := []networkingv1.NetworkPolicyPort{{Protocol: &proto, Port: &port}}
		if s.dir == "ingress" {
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{peer}, Ports: ports})
		} else {
			np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{peer}, Ports: ports})
		}
	}
	np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyType(policyType(s.dir))}
	return np
}
