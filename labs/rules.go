package labs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/world"
)

// A Rule is one line of a task's expected reachability, written the way a
// person says it:
//
//	netpol-lab/frontend -> netpol-lab/backend:8080 allow
//	* -> netpol-lab/* deny
//	shop/api -> shop/db:postgres allow
//	netpol-lab/* -> kube-system/coredns:53 allow      (53/UDP and 53/TCP)
//	monitoring/prometheus -> shop/*:9090-9199/TCP allow
//	netpol-lab/client -> internet allow
//
// Grammar: FROM "->" TO[":"PORT["/"PROTO]] VERDICT, where
//
//   - FROM is "*" (every pod), "NS/*" (every pod of namespace NS) or
//     "NS/POD";
//   - TO is the same, or "internet" (the lab's internet host, InternetIP);
//   - PORT is a number, a range "LOW-HIGH", a container port name (resolved
//     on each destination pod, as a NetworkPolicy does) or "*"; no PORT
//     means every port;
//   - PROTO is TCP, UDP or SCTP; no PROTO means every protocol (so ":53"
//     covers DNS on both UDP and TCP);
//   - VERDICT is allow or deny.
//
// Precedence: the rules of a task are read top to bottom and the last rule
// that matches a cell decides it, so a list starts broad ("* -> * allow")
// and gets more specific. Every cell of the matrix must be decided by some
// rule (or by the reference solution, see Expect.FromSolution).
type Rule struct {
	Text  string
	From  Selector
	To    Selector
	Port  PortSpec
	Allow bool
}

// Selector picks pods (or the internet host) by namespace and name.
type Selector struct {
	// Internet is true for the "internet" destination.
	Internet bool
	// Namespace is "" for "*" (every namespace).
	Namespace string
	// Pod is "" for every pod of Namespace.
	Pod string
}

func (s Selector) String() string {
	switch {
	case s.Internet:
		return "internet"
	case s.Namespace == "":
		return "*"
	case s.Pod == "":
		return s.Namespace + "/*"
	}
	return s.Namespace + "/" + s.Pod
}

// matches reports whether the cell end key ("ns/pod" or the internet IP)
// is picked.
func (s Selector) matches(key string) bool {
	if key == InternetIP {
		return s.Internet
	}
	if s.Internet {
		return false
	}
	if s.Namespace == "" {
		return true
	}
	ns, pod, _ := strings.Cut(key, "/")
	return ns == s.Namespace && (s.Pod == "" || s.Pod == pod)
}

// PortSpec is the port part of a rule.
type PortSpec struct {
	// Any is true when the rule names no port (or "*").
	Any bool
	// Low and High are the numeric range (Low == High for one port).
	Low, High int32
	// Name is a container port name, resolved on the destination pod.
	Name string
	// Protocol is "" for every protocol.
	Protocol string
}

func (p PortSpec) String() string {
	var s string
	switch {
	case p.Any:
		s = "*"
	case p.Name != "":
		s = p.Name
	case p.Low == p.High:
		s = strconv.Itoa(int(p.Low))
	default:
		s = fmt.Sprintf("%d-%d", p.Low, p.High)
	}
	if p.Protocol != "" {
		s += "/" + p.Protocol
	}
	return s
}

func (p PortSpec) matches(k matrix.Key, dst *world.Pod) bool {
	if p.Protocol != "" && p.Protocol != k.Protocol {
		return false
	}
	switch {
	case p.Any:
		return true
	case p.Name != "":
		if dst == nil {
			return false
		}
		for _, cp := range dst.Ports {
			if cp.Name == p.Name && cp.Port == k.Port && string(cp.Protocol) == k.Protocol {
				return true
			}
		}
		return false
	}
	return k.Port >= p.Low && k.Port <= p.High
}

// Matches reports whether the rule decides the cell k; dst is the
// destination pod (nil for the internet host), needed for named ports.
func (r Rule) Matches(k matrix.Key, dst *world.Pod) bool {
	return r.From.matches(k.From) && r.To.matches(k.To) && r.Port.matches(k, dst)
}

// Verdict is "allow" or "deny".
func (r Rule) Verdict() string {
	if r.Allow {
		return "allow"
	}
	return "deny"
}

// String is the rule in canonical spelling.
func (r Rule) String() string {
	to := r.To.String()
	if !r.Port.Any || r.Port.Protocol != "" {
		to += ":" + r.Port.String()
	}
	return fmt.Sprintf("%s -> %s %s", r.From, to, r.Verdict())
}

// ParseRule parses one rule (see Rule for the grammar).
func ParseRule(s string) (Rule, error) {
	r := Rule{Text: s}
	f := strings.Fields(s)
	if len(f) != 4 || f[1] != "->" {
		return r, fmt.Errorf("want \"FROM -> TO[:PORT[/PROTO]] allow|deny\", got %q", s)
	}
	var err error
	if r.From, err = parseSelector(f[0], false); err != nil {
		return r, fmt.Errorf("source %q: %w", f[0], err)
	}
	to, port, hasPort := strings.Cut(f[2], ":")
	if r.To, err = parseSelector(to, true); err != nil {
		return r, fmt.Errorf("destination %q: %w", to, err)
	}
	r.Port = PortSpec{Any: true}
	if hasPort {
		if r.Port, err = parsePort(port); err != nil {
			return r, fmt.Errorf("port %q: %w", port, err)
		}
		if r.To.Internet && r.Port.Name != "" {
			return r, fmt.Errorf("port %q: the internet host has no named ports; use a number", port)
		}
	}
	switch f[3] {
	case "allow":
		r.Allow = true
	case "deny":
	default:
		return r, fmt.Errorf("verdict %q: want allow or deny", f[3])
	}
	return r, nil
}

func parseSelector(s string, dest bool) (Selector, error) {
	switch {
	case s == "*":
		return Selector{}, nil
	case s == "internet":
		if !dest {
			return Selector{}, fmt.Errorf("the internet can only be a destination")
		}
		return Selector{Internet: true}, nil
	}
	ns, pod, ok := strings.Cut(s, "/")
	if !ok || ns == "" || pod == "" || strings.Contains(pod, "/") {
		return Selector{}, fmt.Errorf("want *, NAMESPACE/*, NAMESPACE/POD or internet")
	}
	if ns == "*" {
		return Selector{}, fmt.Errorf("a namespace cannot be *; write * for every pod")
	}
	if pod == "*" {
		pod = ""
	}
	return Selector{Namespace: ns, Pod: pod}, nil
}

func parsePort(s string) (PortSpec, error) {
	p := PortSpec{}
	port, proto, hasProto := strings.Cut(s, "/")
	if hasProto {
		switch up := strings.ToUpper(proto); up {
		case "TCP", "UDP", "SCTP":
			p.Protocol = up
		default:
			return p, fmt.Errorf("protocol %q: want TCP, UDP or SCTP", proto)
		}
	}
	if port == "*" {
		p.Any = true
		return p, nil
	}
	if port == "" {
		return p, fmt.Errorf("empty port")
	}
	if c := port[0]; c >= '0' && c <= '9' {
		lo, hi, isRange := strings.Cut(port, "-")
		l, err := portNum(lo)
		if err != nil {
			return p, err
		}
		h := l
		if isRange {
			if h, err = portNum(hi); err != nil {
				return p, err
			}
			if h < l {
				return p, fmt.Errorf("range %d-%d is backwards", l, h)
			}
		}
		p.Low, p.High = l, h
		return p, nil
	}
	for _, c := range port {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return p, fmt.Errorf("not a port number, range or container port name")
		}
	}
	p.Name = port
	return p, nil
}

func portNum(s string) (int32, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number 1-65535", s)
	}
	return int32(n), nil
}
