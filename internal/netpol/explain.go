package netpol

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"

	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Explanation is the verdict on one connection and the reasons for it, in a
// form a learner can act on.
type Explanation struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
	Allowed  bool   `json:"allowed"`
	// SamePod is true when a pod talks to itself: always allowed.
	SamePod bool `json:"samePod,omitempty"`
	// Egress is the source pod's side (nil when the source is not a pod).
	Egress *Side `json:"egress,omitempty"`
	// Ingress is the destination pod's side (nil when it is not a pod).
	Ingress *Side `json:"ingress,omitempty"`
	// Summary is one sentence: what decided the verdict.
	Summary string `json:"summary"`
	// Reason is set when the connection is undecided: a pod without an
	// address meets a rule that only an ipBlock could make admit it.
	// Allowed is then false and means nothing (JSON: "allowed": null).
	Reason string `json:"reason,omitempty"`
	// Notes are facts about the endpoints that shape the verdict: a
	// hostNetwork pod is its node, a pod without an address matches no
	// ipBlock.
	Notes []string `json:"notes,omitempty"`
}

// Undecided reports whether the explanation has no verdict.
func (x *Explanation) Undecided() bool { return x.Reason != "" }

// MarshalJSON writes "allowed": null for an undecided connection.
func (x Explanation) MarshalJSON() ([]byte, error) {
	type plain Explanation
	if !x.Undecided() {
		return json.Marshal(plain(x))
	}
	return json.Marshal(struct {
		plain
		Allowed *bool `json:"allowed"`
	}{plain: plain(x)})
}

// Side is how one direction of one pod judged the connection.
type Side struct {
	Direction string `json:"direction"`
	Pod       string `json:"pod"`
	// Isolated is true when at least one policy with this direction in its
	// policyTypes selects the pod; only then does anything get denied.
	Isolated bool `json:"isolated"`
	// Policies are the isolating policies ("ns/name").
	Policies []string `json:"policies"`
	Allowed  bool     `json:"allowed"`
	// AdmittedBy is the first rule that admits the connection.
	AdmittedBy *RuleRef `json:"admittedBy,omitempty"`
	// Misses are the rules that did not admit it, nearest first.
	Misses []Miss `json:"misses,omitempty"`
	// Undecided is why this side cannot be decided (Allowed is then
	// false): the peer has no address and only an ipBlock could admit it.
	Undecided string `json:"undecided,omitempty"`
}

// RuleRef points at one rule of one policy; Peer and Port are -1 when the
// rule has no peers (all peers) or no ports (all ports).
type RuleRef struct {
	Policy    string `json:"policy"`
	Direction string `json:"direction"`
	Rule      int    `json:"rule"`
	Peer      int    `json:"peer"`
	Port      int    `json:"port"`
}

func (r RuleRef) String() string {
	s := fmt.Sprintf("policy %s %s rule %d", r.Policy, r.Direction, r.Rule)
	var parts []string
	if r.Peer >= 0 {
		parts = append(parts, fmt.Sprintf("peer %d", r.Peer))
	} else {
		parts = append(parts, "any peer")
	}
	if r.Port >= 0 {
		parts = append(parts, fmt.Sprintf("port %d", r.Port))
	} else {
		parts = append(parts, "any port")
	}
	return s + " (" + strings.Join(parts, ", ") + ")"
}

// Miss is a rule that did not admit the connection and why.
type Miss struct {
	Policy    string `json:"policy"`
	Direction string `json:"direction"`
	Rule      int    `json:"rule"`
	// PeerMatched and PortMatched say which half of the rule did match.
	PeerMatched bool     `json:"peerMatched"`
	PortMatched bool     `json:"portMatched"`
	Reasons     []string `json:"reasons"`
}

// Explain decides one connection and says why.
func (e *Engine) Explain(src, dst Endpoint, port int32, proto corev1.Protocol) *Explanation {
	x := &Explanation{From: src.String(), To: dst.String(), Port: port, Protocol: string(proto)}
	if src.Pod != nil && src.Pod == dst.Pod {
		x.Allowed, x.SamePod = true, true
		x.Summary = "a pod may always connect to itself; policies do not apply"
		return x
	}
	srcID, dstID := e.id(src), e.id(dst)
	x.Allowed = true
	if srcID >= 0 {
		x.Egress = e.explainSide(Egress, src.Pod, srcID, dst, dstID, dst.Pod, port, proto)
		x.Allowed = x.Egress.Allowed
	}
	if dstID >= 0 {
		x.Ingress = e.explainSide(Ingress, dst.Pod, dstID, src, srcID, dst.Pod, port, proto)
		x.Allowed = x.Allowed && x.Ingress.Allowed
	}
	x.Reason = undecidedReason(x.Egress, x.Ingress)
	x.Notes = e.endpointNotes(src, dst)
	x.Summary = x.summary()
	return x
}

// undecidedReason is why a connection is undecided: no side blocks it
// outright and some side cannot be decided. "" when it is decided.
func undecidedReason(sides ...*Side) string {
	why := ""
	for _, s := range sides {
		switch {
		case s == nil || s.Allowed:
		case s.Undecided == "":
			return "" // blocked, whatever the other side says
		case why == "":
			why = s.Undecided
		}
	}
	return why
}

// endpointNotes says what the engine assumes about endpoints that are not
// ordinary addressed pods.
func (e *Engine) endpointNotes(eps ...Endpoint) []string {
	var out []string
	for _, ep := range eps {
		switch {
		case ep.Pod != nil && ep.Pod.HostNetwork:
			out = append(out, fmt.Sprintf("%s uses the host network: netlab treats it as its node%s (%s): no NetworkPolicy selects it, and its traffic is node traffic, which only ipBlock peers match",
				ep.Pod.Key(), nodeName(ep.Pod.Node), addrOrNone(ep.IP)))
		case ep.Pod != nil && !ep.IP.IsValid():
			out = append(out, fmt.Sprintf("%s has no address (no status.podIP): it matches no ipBlock, since a pod without an address sends and receives nothing", ep.Pod.Key()))
		case ep.Pod == nil:
			var hosts []string
			node := ""
			for _, p := range e.w.Pods {
				if p.HostNetwork && p.IP == ep.IP {
					hosts = append(hosts, p.Key())
					node = p.Node
				}
			}
			if len(hosts) > 0 {
				out = append(out, fmt.Sprintf("%s is the address of node%s (hostNetwork pods %s): node traffic, which only ipBlock peers match",
					ep.IP, nodeName(node), strings.Join(hosts, ", ")))
			}
		}
	}
	return out
}

func nodeName(n string) string {
	if n == "" {
		return ""
	}
	return " " + n
}

func addrOrNone(a netip.Addr) string {
	if !a.IsValid() {
		return "no address"
	}
	return a.String()
}

func (e *Engine) explainSide(dir Direction, subject *world.Pod, subjectID int, peer Endpoint, peerID int, dst *world.Pod, port int32, proto corev1.Protocol) *Side {
	s := e.sides[dir][subjectID]
	out := &Side{Direction: dir.String(), Pod: subject.Key(), Isolated: s.isolated(), Policies: []string{}}
	for _, np := range s.policies {
		out.Policies = append(out.Policies, policyKey(np))
	}
	if !s.isolated() {
		out.Allowed = true
		return out
	}
	for _, r := range s.rules {
		ref := RuleRef{Policy: policyKey(r.policy), Direction: dir.String(), Rule: r.index}
		portIdx, portOK := r.portMatches(dst, port, proto)
		peerIdx, peerOK := r.peerMatches(peer, peerID)
		if portOK && peerOK {
			ref.Peer, ref.Port = peerIdx, portIdx
			out.Allowed = true
			out.AdmittedBy = &ref
			out.Misses = nil
			out.Undecided = ""
			return out
		}
		if p := r.ipBlockPeer(); out.Undecided == "" && portOK && p != nil && !addressed(peer) {
			out.Undecided = unaddressedReason(peer, p, r)
		}
		m := Miss{Policy: ref.Policy, Direction: ref.Direction, Rule: ref.Rule, PeerMatched: peerOK, PortMatched: portOK}
		if !peerOK {
			m.Reasons = append(m.Reasons, e.peerMisses(r, peer, peerID, dir)...)
		}
		if !portOK {
			m.Reasons = append(m.Reasons, portMiss(r, dst, port, proto))
		}
		out.Misses = append(out.Misses, m)
	}
	// Nearest first: a rule that got one half right is closer than one
	// that got neither.
	sort.SliceStable(out.Misses, func(i, j int) bool {
		return score(out.Misses[i]) > score(out.Misses[j])
	})
	return out
}

func score(m Miss) int {
	n := 0
	if m.PeerMatched {
		n++
	}
	if m.PortMatched {
		n++
	}
	return n
}

func (e *Engine) peerMisses(r *rule, peer Endpoint, peerID int, dir Direction) []string {
	var out []string
	who := peer.String()
	for _, p := range r.peers {
		out = append(out, fmt.Sprintf("%s %d %s; %s", peerWord(dir), p.index, p.describe(), e.whyNot(p, peer, peerID, who)))
	}
	return out
}

func peerWord(dir Direction) string {
	if dir == Ingress {
		return "from peer"
	}
	return "to peer"
}

// describe renders what a peer admits, in words.
func (p *peer) describe() string {
	if p.ids == nil {
		s := "admits IPs in " + p.cidr.String()
		if len(p.except) > 0 {
			ex := make([]string, len(p.except))
			for i, e := range p.except {
				ex[i] = e.String()
			}
			s += " except " + strings.Join(ex, ", ")
		}
		return s
	}
	pods := "all pods"
	if p.podSel != nil && !p.podSel.Empty() {
		pods = "pods with " + selectorString(p.spec.PodSelector)
	}
	switch {
	case p.nsSel == nil:
		return "admits " + pods + " in namespace " + p.ns
	case p.nsSel.Empty():
		return "admits " + pods + " in all namespaces"
	default:
		return "admits " + pods + " in namespaces with " + selectorString(p.spec.NamespaceSelector)
	}
}

func (e *Engine) whyNot(p *peer, ep Endpoint, id int, who string) string {
	if p.ids == nil {
		switch {
		case !ep.IP.IsValid():
			return fmt.Sprintf("%s has no address (no status.podIP), so it matches no ipBlock", who)
		case !p.cidr.Contains(ep.IP):
			return fmt.Sprintf("%s has IP %s, outside %s", who, ep.IP, p.cidr)
		default:
			for _, ex := range p.except {
				if ex.Contains(ep.IP) {
					return fmt.Sprintf("%s has IP %s, inside the exception %s", who, ep.IP, ex)
				}
			}
		}
		return who + " does not match"
	}
	if id < 0 && ep.Pod != nil && ep.Pod.HostNetwork {
		return fmt.Sprintf("%s uses the host network: it is its node (%s), and selectors match only pods on the pod network (an ipBlock can match the node)", who, addrOrNone(ep.IP))
	}
	if id < 0 {
		return fmt.Sprintf("%s is not a pod, and selectors match only pods (use an ipBlock)", who)
	}
	ident := e.identities[id]
	var why []string
	if p.nsSel == nil {
		if ident.ns.Name != p.ns {
			why = append(why, fmt.Sprintf("%s is in namespace %s, not %s (a podSelector alone means the policy's own namespace)", who, ident.ns.Name, p.ns))
		}
	} else if !p.nsSel.Matches(labels.Set(ident.ns.Labels)) {
		why = append(why, fmt.Sprintf("namespace %s has labels %s", ident.ns.Name, labelString(ident.ns.Labels)))
	}
	if p.podSel != nil && !p.podSel.Matches(ident.labels) {
		why = append(why, fmt.Sprintf("%s has labels %s", who, labelString(ident.labels)))
	}
	return strings.Join(why, " and ")
}

func portMiss(r *rule, dst *world.Pod, port int32, proto corev1.Protocol) string {
	allowed := make([]string, len(r.ports))
	for i, pr := range r.ports {
		switch {
		case pr.any:
			allowed[i] = "any " + string(pr.proto) + " port"
		case pr.name != "":
			res := "which the destination does not declare"
			if dst != nil {
				if cp, ok := dst.NamedPort(pr.name, pr.proto); ok {
					res = fmt.Sprintf("= %d on %s", cp.Port, dst.Key())
				} else {
					res = fmt.Sprintf("which %s does not declare for %s", dst.Key(), pr.proto)
				}
			}
			allowed[i] = fmt.Sprintf("%q/%s (%s)", pr.name, pr.proto, res)
		case pr.end != pr.port:
			allowed[i] = fmt.Sprintf("%d-%d/%s", pr.port, pr.end, pr.proto)
		default:
			allowed[i] = fmt.Sprintf("%d/%s", pr.port, pr.proto)
		}
	}
	return fmt.Sprintf("ports allow %s; the connection is to %d/%s", strings.Join(allowed, ", "), port, proto)
}

func (x *Explanation) summary() string {
	if x.Undecided() {
		return "undecided: " + x.Reason
	}
	if x.Allowed {
		var by []string
		for _, s := range []*Side{x.Egress, x.Ingress} {
			if s == nil {
				continue
			}
			if s.AdmittedBy != nil {
				by = append(by, fmt.Sprintf("%s admits it via %s rule %d", s.AdmittedBy.Policy, s.Direction, s.AdmittedBy.Rule))
			} else {
				by = append(by, fmt.Sprintf("%s of %s is not isolated", s.Direction, s.Pod))
			}
		}
		return "allowed: " + strings.Join(by, "; ")
	}
	var why []string
	for _, s := range []*Side{x.Egress, x.Ingress} {
		if s == nil || s.Allowed {
			continue
		}
		msg := fmt.Sprintf("denied at %s of %s: %s select%s it and no rule admits %s",
			s.Direction, s.Pod, strings.Join(s.Policies, ", "), plural(len(s.Policies)), other(x, s))
		if len(s.Misses) > 0 && len(s.Misses[0].Reasons) > 0 {
			msg += fmt.Sprintf(" (nearest: %s rule %d: %s)", s.Misses[0].Policy, s.Misses[0].Rule, s.Misses[0].Reasons[0])
		} else if len(s.Misses) == 0 {
			msg += " (the policies have no " + s.Direction + " rules: deny all)"
		}
		why = append(why, msg)
	}
	return strings.Join(why, "; ")
}

func plural(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

func other(x *Explanation, s *Side) string {
	if s.Direction == "ingress" {
		return x.From
	}
	return fmt.Sprintf("%s:%d/%s", x.To, x.Port, x.Protocol)
}

func selectorString(s *metav1.LabelSelector) string {
	if s == nil {
		return "{}"
	}
	str := metav1.FormatLabelSelector(s)
	if str == "<none>" {
		return "{}"
	}
	return str
}

func labelString(m map[string]string) string {
	if len(m) == 0 {
		return "{} (none)"
	}
	return labels.Set(m).String()
}

// ResolveEndpoint turns "ns/pod", "pod" (in the default namespace) or an IP
// into an endpoint of the engine's world. An IP that belongs to a pod is
// that pod.
func (e *Engine) ResolveEndpoint(s string) (Endpoint, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		if ip.Zone() != "" {
			return Endpoint{}, fmt.Errorf("%q: an address with a zone is not a pod or host address", s)
		}
		ip = ip.Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
		if p := e.w.PodByIP(ip); p != nil {
			return PodEndpoint(p), nil
		}
		return IPEndpoint(ip), nil
	}
	key := s
	if !strings.Contains(key, "/") {
		key = "default/" + key
	}
	if p := e.w.Pod(key); p != nil {
		return PodEndpoint(p), nil
	}
	var names []string
	for _, p := range e.w.Pods {
		names = append(names, p.Key())
	}
	return Endpoint{}, fmt.Errorf("no pod %q in the world (pods: %s)", key, strings.Join(names, ", "))
}

// ResolvePort turns "80", "80/UDP", "http" or "http/TCP" into a port number
// and protocol; names are looked up on the destination pod.
func ResolvePort(s string, dst Endpoint) (int32, corev1.Protocol, error) {
	name, protoStr, hasProto := strings.Cut(s, "/")
	proto := corev1.ProtocolTCP
	if hasProto {
		p, err := ParseProtocol(protoStr)
		if err != nil {
			return 0, "", err
		}
		proto = p
	}
	var n int
	if _, err := fmt.Sscanf(name, "%d", &n); err == nil && fmt.Sprint(n) == name {
		if n < 1 || n > 65535 {
			return 0, "", fmt.Errorf("port %d out of range 1-65535", n)
		}
		return int32(n), proto, nil
	}
	if dst.Pod == nil {
		return 0, "", fmt.Errorf("named port %q needs a pod destination to resolve it", name)
	}
	for _, cp := range dst.Pod.Ports {
		if cp.Name == name && (!hasProto || cp.Protocol == proto) {
			return cp.Port, cp.Protocol, nil
		}
	}
	return 0, "", fmt.Errorf("pod %s has no container port named %q", dst.Pod.Key(), name)
}

// policyKey names a policy "ns/name".
func policyKey(np *networkingv1.NetworkPolicy) string { return np.Namespace + "/" + np.Name }

// WriteText renders the explanation for a terminal.
func (x *Explanation) WriteText(w io.Writer) error {
	verdict := "BLOCKED"
	switch {
	case x.Undecided():
		verdict = "UNDECIDED"
	case x.Allowed:
		verdict = "ALLOWED"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s -> %s %d/%s\n\n", verdict, x.From, x.To, x.Port, x.Protocol)
	for _, n := range x.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if len(x.Notes) > 0 {
		b.WriteString("\n")
	}
	if x.SamePod {
		fmt.Fprintf(&b, "%s\n", x.Summary)
		_, err := io.WriteString(w, b.String())
		return err
	}
	for _, s := range []*Side{x.Egress, x.Ingress} {
		if s == nil {
			continue
		}
		word := "blocks"
		switch {
		case s.Allowed:
			word = "allows"
		case s.Undecided != "":
			word = "cannot be decided"
		}
		if !s.Isolated {
			fmt.Fprintf(&b, "%s of %s: not isolated (no policy with %s in its policyTypes selects it) -> %s\n",
				s.Direction, s.Pod, policyType(s.Direction), word)
			continue
		}
		fmt.Fprintf(&b, "%s of %s: isolated by %s -> %s\n", s.Direction, s.Pod, strings.Join(s.Policies, ", "), word)
		if s.AdmittedBy != nil {
			fmt.Fprintf(&b, "  admitted by %s\n", s.AdmittedBy)
		}
		if s.Undecided != "" {
			fmt.Fprintf(&b, "  undecided: %s\n", s.Undecided)
		}
		if !s.Allowed && len(s.Misses) == 0 {
			fmt.Fprintf(&b, "  no %s rules at all: these policies deny every %s connection\n", s.Direction, s.Direction)
		}
		for _, m := range s.Misses {
			fmt.Fprintf(&b, "  policy %s %s rule %d does not admit it:\n", m.Policy, m.Direction, m.Rule)
			for _, r := range m.Reasons {
				fmt.Fprintf(&b, "    - %s\n", r)
			}
		}
	}
	fmt.Fprintf(&b, "\n%s\n", x.Summary)
	_, err := io.WriteString(w, b.String())
	return err
}

// policyType is the policyTypes spelling of a direction.
func policyType(dir string) string {
	if dir == "ingress" {
		return string(networkingv1.PolicyTypeIngress)
	}
	return string(networkingv1.PolicyTypeEgress)
}
