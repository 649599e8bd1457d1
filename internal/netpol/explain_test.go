package netpol_test

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
)

func protoOf(s string) corev1.Protocol { return corev1.Protocol(s) }

// explainWorld is the base world plus a pod d in the default namespace.
func explainWorld(t *testing.T, policies ...string) (*world.World, *netpol.Engine) {
	t.Helper()
	docs := append(baseWorld(), podYAML("default", "d", "{pod: d}", "10.0.9.1", stdPorts))
	w := buildWorld(t, append(docs, policies...))
	return w, netpol.New(w)
}

func explainText(t *testing.T, x *netpol.Explanation) string {
	t.Helper()
	var b strings.Builder
	if err := x.WriteText(&b); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	return b.String()
}

func TestExplainAllowedNamesAdmittingRule(t *testing.T) {
	w, e := explainWorld(t, policyYAML("x", "allow-b",
		`{podSelector: {matchLabels: {pod: a}}, ingress: [`+
			`{from: [{podSelector: {matchLabels: {pod: c}}}], ports: [{port: 81}]},`+
			`{from: [{ipBlock: {cidr: 203.0.113.0/24}}, {podSelector: {matchLabels: {pod: b}}}], ports: [{port: 81}, {port: 80}]}]}`))
	x := e.Explain(ep(t, w, "x/b"), ep(t, w, "x/a"), 80, tcp)
	if !x.Allowed {
		t.Fatalf("x/b -> x/a:80/TCP: got blocked, want allowed\n%s", explainText(t, x))
	}
	if x.SamePod {
		t.Errorf("SamePod = true for two different pods")
	}
	if x.From != "x/b" || x.To != "x/a" || x.Port != 80 || x.Protocol != "TCP" {
		t.Errorf("connection fields = %q %q %d %q, want x/b x/a 80 TCP", x.From, x.To, x.Port, x.Protocol)
	}
	if x.Ingress == nil {
		t.Fatalf("Ingress side is nil for a pod destination")
	}
	if !x.Ingress.Isolated || !x.Ingress.Allowed {
		t.Errorf("Ingress: isolated=%v allowed=%v, want both true", x.Ingress.Isolated, x.Ingress.Allowed)
	}
	if got := strings.Join(x.Ingress.Policies, ","); got != "x/allow-b" {
		t.Errorf("Ingress.Policies = %q, want x/allow-b", got)
	}
	want := netpol.RuleRef{Policy: "x/allow-b", Direction: "ingress", Rule: 1, Peer: 1, Port: 1}
	if x.Ingress.AdmittedBy == nil {
		t.Fatalf("Ingress.AdmittedBy is nil, want %+v", want)
	}
	if *x.Ingress.AdmittedBy != want {
		t.Errorf("Ingress.AdmittedBy = %+v, want %+v", *x.Ingress.AdmittedBy, want)
	}
	if x.Egress == nil {
		t.Fatalf("Egress side is nil for a pod source")
	}
	if x.Egress.Isolated || !x.Egress.Allowed || x.Egress.AdmittedBy != nil {
		t.Errorf("Egress of x/b: isolated=%v allowed=%v admittedBy=%v, want not isolated, allowed, no rule",
			x.Egress.Isolated, x.Egress.Allowed, x.Egress.AdmittedBy)
	}
	if !strings.Contains(x.Summary, "x/allow-b") {
		t.Errorf("Summary %q does not name the admitting policy x/allow-b", x.Summary)
	}
	out := explainText(t, x)
	if !strings.Contains(out, "ALLOWED") || !strings.Contains(out, "x/allow-b") {
		t.Errorf("text explanation lacks ALLOWED or the policy:\n%s", out)
	}
	if _, err := json.Marshal(x); err != nil {
		t.Errorf("Explanation does not marshal to JSON: %v", err)
	}
}

func TestExplainAllowedByRuleWithoutPeersOrPorts(t *testing.T) {
	w, e := explainWorld(t, policyYAML("x", "allow-all",
		`{podSelector: {matchLabels: {pod: a}}, ingress: [{}]}`))
	x := e.Explain(ep(t, w, "y/c"), ep(t, w, "x/a"), 53, udp)
	if !x.Allowed || x.Ingress == nil || x.Ingress.AdmittedBy == nil {
		t.Fatalf("y/c -> x/a:53/UDP under ingress [{}]: want allowed with an admitting rule, got %+v", x)
	}
	want := netpol.RuleRef{Policy: "x/allow-all", Direction: "ingress", Rule: 0, Peer: -1, Port: -1}
	if *x.Ingress.AdmittedBy != want {
		t.Errorf("AdmittedBy = %+v, want %+v (-1 = any peer / any port)", *x.Ingress.AdmittedBy, want)
	}
}

func TestExplainBlockedNearestMissFirst(t *testing.T) {
	w, e := explainWorld(t, policyYAML("x", "pick",
		`{podSelector: {matchLabels: {pod: a}}, ingress: [`+
			`{from: [{podSelector: {matchLabels: {app: ghost}}}], ports: [{port: 9999}]},`+ // rule 0: peer and port miss
			`{from: [{podSelector: {matchLabels: {pod: c}}}], ports: [{port: 80}]}]}`)) // rule 1: port matches, peer misses
	x := e.Explain(ep(t, w, "x/b"), ep(t, w, "x/a"), 80, tcp)
	if x.Allowed {
		t.Fatalf("x/b -> x/a:80/TCP: got allowed, want blocked\n%s", explainText(t, x))
	}
	if x.Egress == nil || !x.Egress.Allowed || x.Egress.Isolated {
		t.Errorf("the source's egress is not isolated and must allow; got %+v", x.Egress)
	}
	if x.Ingress == nil || x.Ingress.Allowed || !x.Ingress.Isolated {
		t.Fatalf("the denying side must be ingress of x/a; got %+v", x.Ingress)
	}
	if x.Ingress.AdmittedBy != nil {
		t.Errorf("a blocked side has AdmittedBy %+v", *x.Ingress.AdmittedBy)
	}
	if len(x.Ingress.Misses) != 2 {
		t.Fatalf("Misses = %+v, want 2 (one per rule)", x.Ingress.Misses)
	}
	near, far := x.Ingress.Misses[0], x.Ingress.Misses[1]
	if near.Rule != 1 || !near.PortMatched || near.PeerMatched {
		t.Errorf("nearest miss = rule %d (port matched %v, peer matched %v), want rule 1 with port matched and peer not",
			near.Rule, near.PortMatched, near.PeerMatched)
	}
	if far.Rule != 0 || far.PortMatched || far.PeerMatched {
		t.Errorf("second miss = rule %d (port matched %v, peer matched %v), want rule 0 with nothing matched",
			far.Rule, far.PortMatched, far.PeerMatched)
	}
	if near.Policy != "x/pick" || near.Direction != "ingress" {
		t.Errorf("nearest miss names %s %s, want x/pick ingress", near.Policy, near.Direction)
	}
	reasons := strings.Join(near.Reasons, " | ")
	if !strings.Contains(reasons, "pod=b") {
		t.Errorf("nearest miss reasons %q do not mention the peer's labels (pod=b)", reasons)
	}
	if len(far.Reasons) < 2 {
		t.Errorf("a rule where both peer and port failed should give a reason for each; got %q", far.Reasons)
	}
	if !strings.Contains(strings.Join(far.Reasons, " | "), "9999") {
		t.Errorf("port miss reasons %q do not mention the rule's port 9999", far.Reasons)
	}
	for _, want := range []string{"ingress", "x/a", "x/pick", "pod=b"} {
		if !strings.Contains(x.Summary, want) {
			t.Errorf("Summary %q does not mention %q", x.Summary, want)
		}
	}
	if out := explainText(t, x); !strings.Contains(out, "BLOCKED") {
		t.Errorf("text explanation does not say BLOCKED:\n%s", out)
	}
}

func TestExplainBlockedAtEgress(t *testing.T) {
	w, e := explainWorld(t, policyYAML("x", "a-out",
		`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {matchLabels: {env: dev}}}]}]}`))
	x := e.Explain(ep(t, w, "x/a"), ep(t, w, "z/b"), 80, tcp)
	if x.Allowed {
		t.Fatalf("x/a -> z/b: got allowed, want blocked")
	}
	if x.Egress == nil || x.Egress.Allowed || !x.Egress.Isolated {
		t.Fatalf("the denying side must be egress of x/a; got %+v", x.Egress)
	}
	if x.Egress.Pod != "x/a" || x.Egress.Direction != "egress" {
		t.Errorf("Egress side is %s of %s, want egress of x/a", x.Egress.Direction, x.Egress.Pod)
	}
	if x.Ingress == nil || !x.Ingress.Allowed {
		t.Errorf("ingress of z/b is not isolated and must allow; got %+v", x.Ingress)
	}
	if len(x.Egress.Misses) != 1 || !x.Egress.Misses[0].PortMatched || x.Egress.Misses[0].PeerMatched {
		t.Fatalf("Misses = %+v, want one with port matched (no ports = all) and peer not", x.Egress.Misses)
	}
	// The reason names the destination namespace's labels.
	if r := strings.Join(x.Egress.Misses[0].Reasons, " | "); !strings.Contains(r, "z") || !strings.Contains(r, "ns=z") {
		t.Errorf("reasons %q do not show namespace z's labels", r)
	}
	if !strings.Contains(x.Summary, "egress") || !strings.Contains(x.Summary, "x/a") {
		t.Errorf("Summary %q does not name the denying side (egress of x/a)", x.Summary)
	}
}

func TestExplainDenyAll(t *testing.T) {
	w, e := explainWorld(t, policyYAML("x", "deny-all", `{podSelector: {}, policyTypes: [Ingress]}`))
	x := e.Explain(ep(t, w, "x/b"), ep(t, w, "x/a"), 80, tcp)
	if x.Allowed {
		t.Fatalf("deny-all: got allowed")
	}
	s := x.Ingress
	if s == nil || !s.Isolated || s.Allowed {
		t.Fatalf("Ingress side = %+v, want isolated and blocking", s)
	}
	if got := strings.Join(s.Policies, ","); got != "x/deny-all" {
		t.Errorf("Policies = %q, want x/deny-all", got)
	}
	if len(s.Misses) != 0 || s.AdmittedBy != nil {
		t.Errorf("a policy without rules has no rules to miss or admit; got misses %+v admittedBy %v", s.Misses, s.AdmittedBy)
	}
	if !strings.Contains(x.Summary, "x/deny-all") || !strings.Contains(strings.ToLower(x.Summary), "deny") {
		t.Errorf("Summary %q should name x/deny-all and say it denies all", x.Summary)
	}
	if out := explainText(t, x); !strings.Contains(out, "BLOCKED") || !strings.Contains(out, "x/deny-all") {
		t.Errorf("text explanation:\n%s", out)
	}
}

func TestExplainSamePod(t *testing.T) {
	w, e := explainWorld(t, policyYAML("x", "deny-all", `{podSelector: {}, policyTypes: [Ingress, Egress]}`))
	x := e.Explain(ep(t, w, "x/a"), ep(t, w, "x/a"), 80, tcp)
	if !x.Allowed || !x.SamePod {
		t.Fatalf("x/a -> x/a under deny-all: allowed=%v samePod=%v, want both true", x.Allowed, x.SamePod)
	}
	if x.Egress != nil || x.Ingress != nil {
		t.Errorf("same pod: policies do not apply, so no sides; got egress %+v ingress %+v", x.Egress, x.Ingress)
	}
	if x.Summary == "" {
		t.Errorf("same pod: empty summary")
	}
	if out := explainText(t, x); !strings.Contains(out, "ALLOWED") {
		t.Errorf("text explanation:\n%s", out)
	}
}

func TestExplainExternalDestination(t *testing.T) {
	w, e := explainWorld(t,
		policyYAML("x", "a-out", `{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]}]}`),
		policyYAML("x", "deny-in", `{podSelector: {}, policyTypes: [Ingress]}`))

	x := e.Explain(ep(t, w, "x/a"), ep(t, w, "203.0.113.5"), 443, tcp)
	if !x.Allowed {
		t.Fatalf("x/a -> 203.0.113.5:443: got blocked, want allowed\n%s", explainText(t, x))
	}
	if x.To != "203.0.113.5" {
		t.Errorf("To = %q, want the IP", x.To)
	}
	if x.Ingress != nil {
		t.Errorf("an external destination has no ingress side; got %+v", x.Ingress)
	}
	want := netpol.RuleRef{Policy: "x/a-out", Direction: "egress", Rule: 0, Peer: 0, Port: -1}
	if x.Egress == nil || x.Egress.AdmittedBy == nil || *x.Egress.AdmittedBy != want {
		t.Errorf("Egress = %+v, want admitted by %+v", x.Egress, want)
	}

	x = e.Explain(ep(t, w, "x/a"), ep(t, w, "8.8.8.8"), 53, udp)
	if x.Allowed {
		t.Fatalf("x/a -> 8.8.8.8:53/UDP: got allowed, want blocked")
	}
	if x.Ingress != nil || x.Egress == nil || x.Egress.Allowed {
		t.Fatalf("want only the egress side, blocking; got egress %+v ingress %+v", x.Egress, x.Ingress)
	}
	r := ""
	for _, m := range x.Egress.Misses {
		r += strings.Join(m.Reasons, " | ")
	}
	if !strings.Contains(r, "8.8.8.8") || !strings.Contains(r, "203.0.113.0/24") {
		t.Errorf("reasons %q should say 8.8.8.8 is outside 203.0.113.0/24", r)
	}

	x = e.Explain(ep(t, w, "x/a"), ep(t, w, "203.0.113.200"), 443, tcp)
	if x.Allowed {
		t.Fatalf("x/a -> 203.0.113.200 (excepted): got allowed")
	}
	r = ""
	for _, m := range x.Egress.Misses {
		r += strings.Join(m.Reasons, " | ")
	}
	if !strings.Contains(r, "203.0.113.128/25") {
		t.Errorf("reasons %q should name the exception 203.0.113.128/25", r)
	}
}

func TestExplainExternalSource(t *testing.T) {
	w, e := explainWorld(t, policyYAML("x", "a-in",
		`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {}}]}]}`))
	x := e.Explain(ep(t, w, "203.0.113.9"), ep(t, w, "x/a"), 80, tcp)
	if x.Allowed {
		t.Fatalf("203.0.113.9 -> x/a: got allowed, want blocked (selectors match only pods)")
	}
	if x.Egress != nil {
		t.Errorf("an external source has no egress side; got %+v", x.Egress)
	}
	if x.Ingress == nil || x.Ingress.Allowed || len(x.Ingress.Misses) != 1 {
		t.Fatalf("Ingress = %+v, want blocking with one miss", x.Ingress)
	}
	if r := strings.Join(x.Ingress.Misses[0].Reasons, " | "); !strings.Contains(r, "203.0.113.9") {
		t.Errorf("reasons %q do not name the source IP", r)
	}
}

func TestExplainMatchesAllowedOnEveryCell(t *testing.T) {
	w, e := explainWorld(t,
		policyYAML("x", "deny-all", `{podSelector: {}, policyTypes: [Ingress, Egress]}`),
		policyYAML("x", "dns", `{podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: 53, protocol: UDP}]}]}`),
		policyYAML("y", "from-x", `{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{namespaceSelector: {matchLabels: {ns: x}}}], ports: [{port: http}]}]}`))
	for _, c := range e.Matrix().Results {
		src, dst := ep(t, w, c.From), ep(t, w, c.To)
		x := e.Explain(src, dst, c.Port, protoOf(c.Protocol))
		if x.Allowed != c.Allowed {
			t.Errorf("%s: Explain %s, Matrix %s", c.Key(), verdict(x.Allowed), verdict(c.Allowed))
		}
	}
}

// ---- ResolvePort / ResolveEndpoint ------------------------------------------

func TestResolvePort(t *testing.T) {
	w, _ := explainWorld(t)
	pod := netpol.PodEndpoint(w.Pod("x/a"))
	ext := netpol.IPEndpoint(netip.MustParseAddr("203.0.113.1"))
	for _, tc := range []struct {
		in      string
		dst     netpol.Endpoint
		port    int32
		proto   string
		wantErr string // substring; "" = no error
	}{
		{"80", pod, 80, "TCP", ""},
		{"80/udp", pod, 80, "UDP", ""},
		{"80/UDP", pod, 80, "UDP", ""},
		{"9000/sctp", pod, 9000, "SCTP", ""},
		{"443", ext, 443, "TCP", ""},
		{"http", pod, 80, "TCP", ""},
		{"metrics", pod, 81, "TCP", ""},
		{"dns", pod, 53, "UDP", ""}, // the name's own protocol
		{"dns/udp", pod, 53, "UDP", ""},
		{"dns/tcp", pod, 0, "", "dns"}, // dns is UDP only
		{"nope", pod, 0, "", "nope"},
		{"http", ext, 0, "", "http"}, // nothing to resolve a name on
		{"0", pod, 0, "", "range"},
		{"65536", pod, 0, "", "range"},
		{"70000", pod, 0, "", "range"},
		{"80/icmp", pod, 0, "", "icmp"},
	} {
		port, proto, err := netpol.ResolvePort(tc.in, tc.dst)
		if tc.wantErr != "" {
			if err == nil {
				t.Errorf("ResolvePort(%q, %s) = %d/%s, want an error", tc.in, tc.dst, port, proto)
			} else if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.wantErr)) {
				t.Errorf("ResolvePort(%q, %s) error %q does not mention %q", tc.in, tc.dst, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ResolvePort(%q, %s): %v", tc.in, tc.dst, err)
			continue
		}
		if port != tc.port || string(proto) != tc.proto {
			t.Errorf("ResolvePort(%q, %s) = %d/%s, want %d/%s", tc.in, tc.dst, port, proto, tc.port, tc.proto)
		}
	}
}

func TestResolveEndpoint(t *testing.T) {
	w, e := explainWorld(t)
	for _, tc := range []struct {
		in      string
		pod     string // "" = external IP
		ip      string
		wantErr []string
	}{
		{in: "x/a", pod: "x/a", ip: "10.0.1.1"},
		{in: "z/c", pod: "z/c", ip: "10.0.3.3"},
		{in: "d", pod: "default/d", ip: "10.0.9.1"},
		{in: "10.0.1.2", pod: "x/b", ip: "10.0.1.2"}, // the IP of a pod is that pod
		{in: "203.0.113.1", ip: "203.0.113.1"},
		{in: "10.0.1.200", ip: "10.0.1.200"}, // in the pod range but no pod has it
		{in: "x/nope", wantErr: []string{"x/nope", "x/a", "y/b", "default/d"}},
		{in: "nope", wantErr: []string{"nope", "x/a"}},
		{in: "a", wantErr: []string{"default/a"}}, // a bare name is the default namespace
	} {
		got, err := e.ResolveEndpoint(tc.in)
		if tc.wantErr != nil {
			if err == nil {
				t.Errorf("ResolveEndpoint(%q) = %s, want an error", tc.in, got)
				continue
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("ResolveEndpoint(%q) error %q does not mention %q", tc.in, err, s)
				}
			}
			continue
		}
		if err != nil {
			t.Errorf("ResolveEndpoint(%q): %v", tc.in, err)
			continue
		}
		if tc.pod == "" {
			if got.Pod != nil {
				t.Errorf("ResolveEndpoint(%q) = pod %s, want external IP", tc.in, got.Pod.Key())
			}
		} else if got.Pod != w.Pod(tc.pod) {
			t.Errorf("ResolveEndpoint(%q) = %s, want pod %s", tc.in, got, tc.pod)
		}
		if got.IP != netip.MustParseAddr(tc.ip) {
			t.Errorf("ResolveEndpoint(%q).IP = %s, want %s", tc.in, got.IP, tc.ip)
		}
	}
}
