package netpol_test

// Table tests of networking.k8s.io/v1 NetworkPolicy semantics. Every
// expectation here comes from the Kubernetes API reference and upstream
// behaviour (the e2e "netpol" suite and the cyclonus conformance cases), not
// from what the engine happens to do.

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
)

const (
	tcp  = corev1.ProtocolTCP
	udp  = corev1.ProtocolUDP
	sctp = corev1.ProtocolSCTP
)

// ---- manifest helpers -------------------------------------------------------

// Names are quoted: in YAML 1.1 (what kubectl and sigs.k8s.io/yaml read) a
// bare y or n is a boolean.
func nsYAML(name, labels string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %q\n  labels: %s\n", name, labels)
}

// podYAML renders a pod; ports is a YAML flow sequence of container ports.
func podYAML(ns, name, labels, ip, ports string) string {
	s := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %q\n  namespace: %q\n  labels: %s\nspec:\n  containers:\n  - name: main\n    image: netlab\n    ports: %s\n", name, ns, labels, ports)
	if ip != "" {
		s += fmt.Sprintf("status:\n  podIP: %s\n", ip)
	}
	return s
}

// policyYAML renders a NetworkPolicy; spec is a YAML flow mapping.
func policyYAML(ns, name, spec string) string {
	return fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: %q\n  namespace: %q\nspec: %s\n", name, ns, spec)
}

// stdPorts is what every pod of the base world listens on.
const stdPorts = `[{name: http, containerPort: 80}, {name: metrics, containerPort: 81}, {name: dns, containerPort: 53, protocol: UDP}, {name: udp-80, containerPort: 80, protocol: UDP}, {name: sctp, containerPort: 9000, protocol: SCTP}]`

// baseWorld is three namespaces x (env=prod), y (env=dev) and z (no env),
// each with pods a (app=web), b (app=db) and c (no app label). Pod IPs are
// 10.0.1.x in x, 10.0.2.x in y and 10.0.3.x in z (a=.1, b=.2, c=.3).
func baseWorld() []string {
	docs := []string{
		nsYAML("x", "{ns: x, env: prod}"),
		nsYAML("y", `{ns: "y", env: dev}`),
		nsYAML("z", "{ns: z}"),
	}
	for i, ns := range []string{"x", "y", "z"} {
		docs = append(docs,
			podYAML(ns, "a", "{pod: a, app: web}", fmt.Sprintf("10.0.%d.1", i+1), stdPorts),
			podYAML(ns, "b", "{pod: b, app: db}", fmt.Sprintf("10.0.%d.2", i+1), stdPorts),
			podYAML(ns, "c", "{pod: c}", fmt.Sprintf("10.0.%d.3", i+1), stdPorts),
		)
	}
	return docs
}

// namedPortWorld is namespace n (no Namespace object: implied) with two pods
// labelled app=web that number the port "http" differently, and a client
// whose own "http" is yet another number.
func namedPortWorld() []string {
	return []string{
		podYAML("n", "web-1", "{app: web}", "10.1.0.1", `[{name: http, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}]`),
		podYAML("n", "web-2", "{app: web}", "10.1.0.2", `[{name: http, containerPort: 9090}]`),
		podYAML("n", "client", "{app: client}", "10.1.0.3", `[{name: http, containerPort: 7070}]`),
	}
}

func buildWorld(t *testing.T, docs []string) *world.World {
	t.Helper()
	objs, err := world.Parse("test.yaml", []byte(strings.Join(docs, "---\n")), nil)
	if err != nil {
		t.Fatalf("world.Parse: %v", err)
	}
	w, err := world.Build(objs, nil)
	if err != nil {
		t.Fatalf("world.Build: %v", err)
	}
	return w
}

// ep turns "ns/pod" into a pod endpoint and an IP literal into an external
// endpoint.
func ep(t *testing.T, w *world.World, s string) netpol.Endpoint {
	t.Helper()
	if ip, err := netip.ParseAddr(s); err == nil {
		return netpol.IPEndpoint(ip)
	}
	p := w.Pod(s)
	if p == nil {
		t.Fatalf("test bug: no pod %q in the world", s)
	}
	return netpol.PodEndpoint(p)
}

type conn struct {
	from, to string
	port     int32
	proto    corev1.Protocol
	want     bool
}

func (c conn) String() string {
	return fmt.Sprintf("%s -> %s:%d/%s", c.from, c.to, c.port, c.proto)
}

func verdict(b bool) string {
	if b {
		return "allowed"
	}
	return "blocked"
}

func checkConns(t *testing.T, w *world.World, conns []conn) {
	t.Helper()
	e := netpol.New(w)
	for _, c := range conns {
		src, dst := ep(t, w, c.from), ep(t, w, c.to)
		got := e.Allowed(src, dst, c.port, c.proto)
		if got != c.want {
			var b strings.Builder
			_ = e.Explain(src, dst, c.port, c.proto).WriteText(&b)
			t.Errorf("%s: got %s, want %s\nexplanation:\n%s", c, verdict(got), verdict(c.want), b.String())
			continue
		}
		if x := e.Explain(src, dst, c.port, c.proto); x.Allowed != got {
			t.Errorf("%s: Explain says %s but Allowed says %s", c, verdict(x.Allowed), verdict(got))
		}
	}
}

// ---- the table ---------------------------------------------------------------

type semCase struct {
	name     string
	world    []string // nil: baseWorld()
	policies []string
	conns    []conn
}

func semanticsCases() []semCase {
	return []semCase{
		{
			name: "no policies: everything is allowed, every protocol, pods and external IPs",
			conns: []conn{
				{"x/a", "y/b", 80, tcp, true},
				{"x/a", "y/b", 53, udp, true},
				{"x/a", "y/b", 9000, sctp, true},
				{"z/c", "x/a", 12345, tcp, true},
				{"x/a", "203.0.113.9", 443, tcp, true},
				{"203.0.113.9", "x/a", 80, tcp, true},
			},
		},
		{
			name: "policyTypes omitted with only ingress rules: isolates ingress, egress stays open",
			policies: []string{policyYAML("x", "allow-b-to-a",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, true},
				{"x/c", "x/a", 80, tcp, false},
				{"x/a", "x/c", 80, tcp, true},          // egress of a not isolated
				{"x/a", "203.0.113.9", 443, tcp, true}, // egress of a not isolated
				{"x/c", "x/b", 80, tcp, true},          // b not selected
			},
		},
		{
			name:     "policyTypes omitted and no rules at all: ingress deny-all, egress open",
			policies: []string{policyYAML("x", "deny-a", `{podSelector: {matchLabels: {pod: a}}}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, false},
				{"y/b", "x/a", 53, udp, false},
				{"203.0.113.9", "x/a", 80, tcp, false},
				{"x/a", "x/b", 80, tcp, true},
				{"x/a", "203.0.113.9", 80, tcp, true},
			},
		},
		{
			name: "missing ingress list with policyTypes [Ingress]: deny all ingress",
			policies: []string{policyYAML("x", "deny-a",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Ingress]}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, false},
				{"x/b", "x/a", 9000, sctp, false},
				{"x/a", "x/b", 80, tcp, true},
			},
		},
		{
			name: "empty ingress list ingress: [] with policyTypes [Ingress]: deny all ingress",
			policies: []string{policyYAML("x", "deny-a",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Ingress], ingress: []}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, false},
				{"x/a", "x/b", 80, tcp, true},
			},
		},
		{
			name: "policyTypes defaulting: egress rules present adds Egress, and Ingress is always defaulted (ingress deny-all)",
			policies: []string{policyYAML("x", "egress-a",
				`{podSelector: {matchLabels: {pod: a}}, egress: [{to: [{podSelector: {matchLabels: {pod: b}}}]}]}`)},
			conns: []conn{
				{"x/a", "x/b", 80, tcp, true},
				{"x/a", "x/c", 80, tcp, false},
				{"x/a", "203.0.113.9", 443, tcp, false},
				// defaulted policyTypes is [Ingress, Egress]: no ingress rules = deny all ingress
				{"x/b", "x/a", 80, tcp, false},
				{"x/c", "x/a", 80, tcp, false},
			},
		},
		{
			name: "policyTypes [Egress] with no rules: isolates egress only",
			policies: []string{policyYAML("x", "deny-egress-a",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress]}`)},
			conns: []conn{
				{"x/a", "x/b", 80, tcp, false},
				{"x/a", "y/b", 53, udp, false},
				{"x/a", "203.0.113.9", 443, tcp, false},
				{"x/b", "x/a", 80, tcp, true},
				{"203.0.113.9", "x/a", 80, tcp, true},
			},
		},
		{
			name: "policyTypes [Ingress] explicitly: egress rules in the policy are ignored and egress is not isolated",
			policies: []string{policyYAML("x", "ingress-only",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Ingress], ingress: [{}], egress: [{to: [{podSelector: {matchLabels: {pod: b}}}]}]}`)},
			conns: []conn{
				{"x/a", "x/c", 80, tcp, true},
				{"x/a", "203.0.113.9", 443, tcp, true},
				{"x/c", "x/a", 80, tcp, true},
			},
		},
		{
			name: "policyTypes [Egress] explicitly: ingress rules ignored, ingress not isolated",
			policies: []string{policyYAML("x", "egress-only",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}], egress: [{}]}`)},
			conns: []conn{
				{"x/c", "x/a", 80, tcp, true},
				{"y/c", "x/a", 80, tcp, true},
				{"x/a", "z/c", 80, tcp, true},
			},
		},
		{
			name: "policy with both types and empty rule lists: deny all both ways",
			policies: []string{policyYAML("x", "deny-all-a",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Ingress, Egress]}`)},
			conns: []conn{
				{"x/a", "x/b", 80, tcp, false},
				{"x/b", "x/a", 80, tcp, false},
				{"x/b", "x/c", 80, tcp, true},
			},
		},
		{
			name:     "podSelector {} selects every pod of the policy's namespace and none of other namespaces",
			policies: []string{policyYAML("x", "deny-all", `{podSelector: {}}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, false},
				{"x/a", "x/c", 80, tcp, false},
				{"y/a", "x/b", 80, tcp, false},
				{"x/a", "y/a", 80, tcp, true},
				{"y/b", "y/a", 80, tcp, true},
				{"z/a", "y/c", 81, tcp, true},
			},
		},
		{
			name:     "policy in another namespace does not select pods with the same labels",
			policies: []string{policyYAML("y", "deny-a", `{podSelector: {matchLabels: {pod: a}}}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, true},
				{"z/b", "z/a", 80, tcp, true},
				{"y/b", "y/a", 80, tcp, false},
				{"x/b", "y/a", 80, tcp, false},
			},
		},
		{
			name:     "podSelector that matches no pod has no effect",
			policies: []string{policyYAML("x", "deny-ghosts", `{podSelector: {matchLabels: {pod: ghost}}, policyTypes: [Ingress, Egress]}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, true},
				{"x/a", "203.0.113.9", 80, tcp, true},
			},
		},
		{
			name: "rules are OR-ed across policies selecting the same pod",
			policies: []string{
				policyYAML("x", "from-b", `{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]}`),
				policyYAML("x", "from-c", `{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{podSelector: {matchLabels: {pod: c}}}]}]}`),
			},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, true},
				{"x/c", "x/a", 80, tcp, true},
				{"y/b", "x/a", 80, tcp, false},
			},
		},
		{
			name: "a deny-all policy does not subtract from an allowing policy (union of allows)",
			policies: []string{
				policyYAML("x", "deny-all", `{podSelector: {}, policyTypes: [Ingress]}`),
				policyYAML("x", "allow-b", `{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]}`),
			},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, true},
				{"x/c", "x/a", 80, tcp, false},
				{"x/a", "x/b", 80, tcp, false},
			},
		},
		{
			name: "rules are OR-ed within one policy, each rule's peers paired only with its own ports",
			policies: []string{policyYAML("x", "two-rules",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}]}, {from: [{podSelector: {matchLabels: {pod: c}}}], ports: [{port: 81}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, true},
				{"x/b", "x/a", 81, tcp, false},
				{"x/c", "x/a", 81, tcp, true},
				{"x/c", "x/a", 80, tcp, false},
			},
		},
		{
			name: "multiple ports in one rule are OR-ed",
			policies: []string{policyYAML("x", "ports",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{port: 80}, {port: 53, protocol: UDP}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, true},
				{"x/b", "x/a", 53, udp, true},
				{"x/b", "x/a", 81, tcp, false},
				{"x/b", "x/a", 53, tcp, false},
			},
		},
		{
			name: "ingress rule {} (no from, no ports) admits every peer, every namespace, external IPs, every port and protocol",
			policies: []string{policyYAML("x", "allow-all",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{}]}`)},
			conns: []conn{
				{"y/c", "x/a", 80, tcp, true},
				{"z/b", "x/a", 53, udp, true},
				{"x/b", "x/a", 9000, sctp, true},
				{"203.0.113.7", "x/a", 80, tcp, true},
				{"198.51.100.1", "x/a", 31337, udp, true},
			},
		},
		{
			name: "egress rule {} admits every destination including external IPs",
			policies: []string{policyYAML("x", "allow-all-egress",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{}]}`)},
			conns: []conn{
				{"x/a", "203.0.113.7", 443, tcp, true},
				{"x/a", "z/c", 80, tcp, true},
				{"x/a", "y/b", 9000, sctp, true},
			},
		},
		{
			name: "explicit empty lists from: [] and ports: [] mean all peers and all ports, like missing ones",
			policies: []string{policyYAML("x", "empty-lists",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [], ports: []}]}`)},
			conns: []conn{
				{"y/c", "x/a", 80, tcp, true},
				{"203.0.113.7", "x/a", 53, udp, true},
				{"x/b", "x/a", 9000, sctp, true},
			},
		},
		{
			name: "explicit empty to: [] in egress means all destinations",
			policies: []string{policyYAML("x", "empty-to",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [], ports: [{port: 443}]}]}`)},
			conns: []conn{
				{"x/a", "203.0.113.7", 443, tcp, true},
				{"x/a", "z/b", 443, tcp, true},
				{"x/a", "z/b", 80, tcp, false},
			},
		},
		{
			name: "rule with ports but no from: all peers (incl. external IPs), only those ports",
			policies: []string{policyYAML("x", "port-80",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{port: 80}]}]}`)},
			conns: []conn{
				{"y/b", "x/a", 80, tcp, true},
				{"203.0.113.7", "x/a", 80, tcp, true},
				{"y/b", "x/a", 81, tcp, false},
				{"y/b", "x/a", 80, udp, false},
			},
		},
		{
			name: "empty ports: all ports and all protocols for the rule's peers",
			policies: []string{policyYAML("x", "from-b",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, true},
				{"x/b", "x/a", 81, tcp, true},
				{"x/b", "x/a", 53, udp, true},
				{"x/b", "x/a", 9000, sctp, true},
				{"x/b", "x/a", 12345, tcp, true}, // a port the pod does not even declare
				{"x/c", "x/a", 80, tcp, false},
			},
		},
		{
			name: "port entry with a protocol and no port: every port of that protocol only",
			policies: []string{policyYAML("x", "all-udp",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{protocol: UDP}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 53, udp, true},
				{"x/b", "x/a", 80, udp, true},
				{"x/b", "x/a", 65535, udp, true},
				{"x/b", "x/a", 80, tcp, false},
				{"x/b", "x/a", 9000, sctp, false},
			},
		},
		{
			name: "port entry with neither port nor protocol: every TCP port (protocol defaults to TCP)",
			policies: []string{policyYAML("x", "all-tcp",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, true},
				{"x/b", "x/a", 81, tcp, true},
				{"x/b", "x/a", 53, udp, false},
				{"x/b", "x/a", 9000, sctp, false},
			},
		},
		{
			name: "protocol defaults to TCP: a port without protocol does not admit UDP or SCTP",
			policies: []string{policyYAML("x", "port-80",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{port: 80}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, true},
				{"x/b", "x/a", 80, udp, false},
				{"x/b", "x/a", 80, sctp, false},
			},
		},
		{
			name: "protocol defaults to TCP in egress too",
			policies: []string{policyYAML("x", "egress-53",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{ports: [{port: 53}]}]}`)},
			conns: []conn{
				{"x/a", "y/b", 53, tcp, true},
				{"x/a", "y/b", 53, udp, false},
				{"x/a", "203.0.113.53", 53, udp, false},
			},
		},
		{
			name: "SCTP is distinct from TCP and UDP",
			policies: []string{policyYAML("x", "sctp-9000",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{port: 9000, protocol: SCTP}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 9000, sctp, true},
				{"x/b", "x/a", 9000, tcp, false},
				{"x/b", "x/a", 9000, udp, false},
			},
		},
		{
			name: "TCP and UDP ports do not admit SCTP",
			policies: []string{policyYAML("x", "tcp-udp-9000",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{port: 9000, protocol: TCP}, {port: 9000, protocol: UDP}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 9000, sctp, false},
				{"x/b", "x/a", 9000, tcp, true},
				{"x/b", "x/a", 9000, udp, true},
			},
		},
		{
			name: "one peer with namespaceSelector AND podSelector: both must match",
			policies: []string{policyYAML("x", "and",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}, podSelector: {matchLabels: {pod: b}}}]}]}`)},
			conns: []conn{
				{"y/b", "x/a", 80, tcp, true},
				{"y/c", "x/a", 80, tcp, false},
				{"x/b", "x/a", 80, tcp, false},
				{"z/b", "x/a", 80, tcp, false},
			},
		},
		{
			name: "namespaceSelector and podSelector as two peers: either matches (OR)",
			policies: []string{policyYAML("x", "or",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}, {podSelector: {matchLabels: {pod: b}}}]}]}`)},
			conns: []conn{
				{"y/b", "x/a", 80, tcp, true},
				{"y/c", "x/a", 80, tcp, true},
				{"x/b", "x/a", 80, tcp, true},
				{"x/c", "x/a", 80, tcp, false},
				{"z/b", "x/a", 80, tcp, false}, // podSelector alone: x only
			},
		},
		{
			name: "namespaceSelector {} alone: every pod of every namespace, but not external IPs",
			policies: []string{policyYAML("x", "all-ns",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {}}]}]}`)},
			conns: []conn{
				{"y/c", "x/a", 80, tcp, true},
				{"z/b", "x/a", 80, tcp, true},
				{"x/b", "x/a", 80, tcp, true},
				{"203.0.113.7", "x/a", 80, tcp, false},
			},
		},
		{
			name: "namespaceSelector {} with podSelector: matching pods in all namespaces",
			policies: []string{policyYAML("x", "b-anywhere",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}]}]}`)},
			conns: []conn{
				{"z/b", "x/a", 80, tcp, true},
				{"y/b", "x/a", 80, tcp, true},
				{"x/b", "x/a", 80, tcp, true},
				{"y/c", "x/a", 80, tcp, false},
			},
		},
		{
			name: "podSelector alone: only the policy's own namespace",
			policies: []string{policyYAML("x", "b-here",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, true},
				{"y/b", "x/a", 80, tcp, false},
				{"z/b", "x/a", 80, tcp, false},
			},
		},
		{
			name: "podSelector {} alone: every pod of the policy's namespace only",
			policies: []string{policyYAML("x", "same-ns",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {}}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, true},
				{"x/c", "x/a", 80, tcp, true},
				{"y/b", "x/a", 80, tcp, false},
				{"203.0.113.7", "x/a", 80, tcp, false},
			},
		},
		{
			name: "egress podSelector alone: only destinations in the policy's own namespace",
			policies: []string{policyYAML("x", "egress-same-ns",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{podSelector: {}}]}]}`)},
			conns: []conn{
				{"x/a", "x/b", 80, tcp, true},
				{"x/a", "y/b", 80, tcp, false},
				{"x/a", "203.0.113.7", 80, tcp, false},
			},
		},
		{
			name: "namespace matched by the implied kubernetes.io/metadata.name label",
			policies: []string{policyYAML("x", "from-z",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchLabels: {"kubernetes.io/metadata.name": z}}}]}]}`)},
			conns: []conn{
				{"z/a", "x/a", 80, tcp, true},
				{"z/c", "x/a", 80, tcp, true},
				{"y/a", "x/a", 80, tcp, false},
				{"x/b", "x/a", 80, tcp, false},
			},
		},
		{
			name: "kubernetes.io/metadata.name label exists on a namespace with no Namespace object",
			world: append(baseWorld(),
				podYAML("w", "a", "{pod: a}", "10.0.4.1", stdPorts)),
			policies: []string{policyYAML("x", "from-w",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchLabels: {"kubernetes.io/metadata.name": w}}}]}]}`)},
			conns: []conn{
				{"w/a", "x/a", 80, tcp, true},
				{"y/a", "x/a", 80, tcp, false},
			},
		},
		{
			name: "kubernetes.io/metadata.name is always the namespace's name, whatever the manifest says",
			world: []string{
				nsYAML("x", "{}"),
				nsYAML("y", `{"kubernetes.io/metadata.name": bogus}`),
				podYAML("x", "a", "{pod: a}", "10.0.1.1", stdPorts),
				podYAML("y", "b", "{pod: b}", "10.0.2.2", stdPorts),
			},
			policies: []string{
				policyYAML("x", "from-y", `{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {"kubernetes.io/metadata.name": "y"}}}]}]}`),
			},
			conns: []conn{
				{"y/b", "x/a", 80, tcp, true},
			},
		},
		{
			name: "kubernetes.io/metadata.name of a namespace cannot be spoofed to match another name",
			world: []string{
				nsYAML("x", "{}"),
				nsYAML("y", `{"kubernetes.io/metadata.name": bogus}`),
				podYAML("x", "a", "{pod: a}", "10.0.1.1", stdPorts),
				podYAML("y", "b", "{pod: b}", "10.0.2.2", stdPorts),
			},
			policies: []string{
				policyYAML("x", "from-bogus", `{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {"kubernetes.io/metadata.name": bogus}}}]}]}`),
			},
			conns: []conn{
				{"y/b", "x/a", 80, tcp, false},
			},
		},
		{
			name: "matchExpressions In on pod labels",
			policies: []string{policyYAML("x", "in",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchExpressions: [{key: pod, operator: In, values: [b, c]}]}}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, true},
				{"x/c", "x/a", 80, tcp, true},
				{"y/b", "x/a", 80, tcp, false},
			},
		},
		{
			name: "matchExpressions NotIn matches pods lacking the key",
			policies: []string{policyYAML("x", "notin",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [db]}]}}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, false}, // app=db
				{"x/c", "x/a", 80, tcp, true},  // no app label
			},
		},
		{
			name: "matchExpressions Exists",
			policies: []string{policyYAML("x", "exists",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchExpressions: [{key: app, operator: Exists}]}}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, true},
				{"x/c", "x/a", 80, tcp, false},
			},
		},
		{
			name: "matchExpressions DoesNotExist",
			policies: []string{policyYAML("x", "doesnotexist",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchExpressions: [{key: app, operator: DoesNotExist}]}}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 80, tcp, false},
				{"x/c", "x/a", 80, tcp, true},
			},
		},
		{
			name: "matchLabels and matchExpressions in one selector are AND-ed",
			policies: []string{policyYAML("x", "both",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: db}, matchExpressions: [{key: pod, operator: In, values: [b, c]}]}}]}]}`)},
			conns: []conn{
				{"y/b", "x/a", 80, tcp, true},
				{"y/c", "x/a", 80, tcp, false}, // no app=db
			},
		},
		{
			name: "namespaceSelector matchExpressions In / DoesNotExist / NotIn",
			policies: []string{
				policyYAML("x", "ns-in", `{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: env, operator: In, values: [dev]}]}}]}]}`),
				policyYAML("x", "ns-dne", `{podSelector: {matchLabels: {pod: b}}, ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: env, operator: DoesNotExist}]}}]}]}`),
				policyYAML("x", "ns-notin", `{podSelector: {matchLabels: {pod: c}}, ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}}]}]}`),
			},
			conns: []conn{
				{"y/a", "x/a", 80, tcp, true},
				{"z/a", "x/a", 80, tcp, false},
				{"x/b", "x/a", 80, tcp, false},
				{"z/a", "x/b", 80, tcp, true},
				{"y/a", "x/b", 80, tcp, false},
				{"y/a", "x/c", 80, tcp, true},
				{"z/a", "x/c", 80, tcp, true}, // z has no env label: NotIn matches
				{"x/a", "x/c", 80, tcp, false},
			},
		},
		{
			name: "ingress ipBlock with except, from external IPs",
			policies: []string{policyYAML("x", "ipblock",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]}]}`)},
			conns: []conn{
				{"203.0.113.0", "x/a", 80, tcp, true},
				{"203.0.113.5", "x/a", 80, tcp, true},
				{"203.0.113.127", "x/a", 80, tcp, true},
				{"203.0.113.128", "x/a", 80, tcp, false},
				{"203.0.113.200", "x/a", 80, tcp, false},
				{"198.51.100.1", "x/a", 80, tcp, false},
				{"x/b", "x/a", 80, tcp, false}, // a pod outside the range
			},
		},
		{
			name: "egress ipBlock with except, to external IPs (--to-ip)",
			policies: []string{policyYAML("x", "ipblock-egress",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25, 203.0.113.10/32]}}]}]}`)},
			conns: []conn{
				{"x/a", "203.0.113.9", 443, tcp, true},
				{"x/a", "203.0.113.10", 443, tcp, false},
				{"x/a", "203.0.113.11", 443, tcp, true},
				{"x/a", "203.0.113.127", 53, udp, true},
				{"x/a", "203.0.113.128", 443, tcp, false},
				{"x/a", "203.0.113.255", 443, tcp, false},
				{"x/a", "203.0.114.1", 443, tcp, false},
				{"x/a", "x/b", 80, tcp, false},
			},
		},
		{
			name: "ingress ipBlock applies to pod IPs, with except",
			policies: []string{policyYAML("x", "from-y-ips",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{ipBlock: {cidr: 10.0.2.0/24, except: [10.0.2.3/32]}}]}]}`)},
			conns: []conn{
				{"y/a", "x/a", 80, tcp, true},
				{"y/b", "x/a", 80, tcp, true},
				{"y/c", "x/a", 80, tcp, false}, // excepted
				{"x/b", "x/a", 80, tcp, false}, // outside the range
				{"z/a", "x/a", 80, tcp, false}, // outside the range
			},
		},
		{
			name: "egress ipBlock applies to pod IPs; pods outside the range are not matched",
			policies: []string{policyYAML("x", "to-z-ips",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 10.0.3.0/24}}]}]}`)},
			conns: []conn{
				{"x/a", "z/b", 80, tcp, true},
				{"x/a", "z/c", 53, udp, true},
				{"x/a", "y/b", 80, tcp, false},
				{"x/a", "x/b", 80, tcp, false},
			},
		},
		{
			name: "ipBlock 0.0.0.0/0 except the pod range: internet yes, pods no",
			policies: []string{policyYAML("x", "internet-only",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]}]}`)},
			conns: []conn{
				{"x/a", "8.8.8.8", 53, udp, true},
				{"x/a", "203.0.113.1", 443, tcp, true},
				{"x/a", "y/b", 80, tcp, false},
				{"x/a", "10.200.0.1", 80, tcp, false},
			},
		},
		{
			name: "ipBlock /32 of one pod admits exactly that pod",
			policies: []string{policyYAML("x", "one-ip",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{ipBlock: {cidr: 10.0.3.2/32}}]}]}`)},
			conns: []conn{
				{"z/b", "x/a", 80, tcp, true},
				{"z/a", "x/a", 80, tcp, false},
				{"z/c", "x/a", 80, tcp, false},
			},
		},
		{
			name:  "ipBlock tells apart pods with identical labels by IP (ingress and egress)",
			world: namedPortWorld(),
			policies: []string{
				policyYAML("n", "client-in", `{podSelector: {matchLabels: {app: client}}, ingress: [{from: [{ipBlock: {cidr: 10.1.0.1/32}}]}]}`),
				policyYAML("n", "client-out", `{podSelector: {matchLabels: {app: client}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 10.1.0.2/32}}]}]}`),
			},
			conns: []conn{
				{"n/web-1", "n/client", 7070, tcp, true},
				{"n/web-2", "n/client", 7070, tcp, false},
				{"n/client", "n/web-2", 9090, tcp, true},
				{"n/client", "n/web-1", 8080, tcp, false},
			},
		},
		{
			name: "non-canonical ipBlock cidr (host bits set) means the masked network",
			policies: []string{policyYAML("x", "sloppy-cidr",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{ipBlock: {cidr: 10.0.2.9/24, except: [10.0.2.3/32]}}]}]}`)},
			conns: []conn{
				{"y/a", "x/a", 80, tcp, true},
				{"y/c", "x/a", 80, tcp, false},
				{"z/a", "x/a", 80, tcp, false},
			},
		},
		{
			name: "an IPv6 ipBlock never matches IPv4 addresses",
			policies: []string{policyYAML("x", "v6-only",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Ingress, Egress], ingress: [{from: [{ipBlock: {cidr: "::/0"}}]}], egress: [{to: [{ipBlock: {cidr: "::/0"}}]}]}`)},
			conns: []conn{
				{"203.0.113.7", "x/a", 80, tcp, false},
				{"y/b", "x/a", 80, tcp, false},
				{"x/a", "8.8.8.8", 53, udp, false},
				{"x/a", "2001:db8::1", 443, tcp, true},
				{"2001:db8::1", "x/a", 80, tcp, true},
			},
		},
		{
			name: "spec.podSelector with matchExpressions selects only matching pods",
			policies: []string{policyYAML("x", "deny-apps",
				`{podSelector: {matchExpressions: [{key: app, operator: In, values: [web, db]}]}, policyTypes: [Ingress]}`)},
			conns: []conn{
				{"x/c", "x/a", 80, tcp, false},
				{"x/c", "x/b", 80, tcp, false},
				{"x/a", "x/c", 80, tcp, true}, // c has no app label: not selected
			},
		},
		{
			name:  "named port in ingress resolves on the destination pod (same labels, different numbers)",
			world: namedPortWorld(),
			policies: []string{policyYAML("n", "http-in",
				`{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: http}]}]}`)},
			conns: []conn{
				{"n/client", "n/web-1", 8080, tcp, true},
				{"n/client", "n/web-1", 9090, tcp, false},
				{"n/client", "n/web-2", 9090, tcp, true},
				{"n/client", "n/web-2", 8080, tcp, false},
				{"n/client", "n/web-1", 7070, tcp, false}, // the source's "http"
				{"n/client", "n/web-1", 8080, udp, false},
				{"203.0.113.1", "n/web-1", 8080, tcp, true},
			},
		},
		{
			name:  "named port in egress resolves on the destination pod, not the source",
			world: namedPortWorld(),
			policies: []string{policyYAML("n", "http-out",
				`{podSelector: {matchLabels: {app: client}}, policyTypes: [Egress], egress: [{ports: [{port: http}]}]}`)},
			conns: []conn{
				{"n/client", "n/web-1", 8080, tcp, true},
				{"n/client", "n/web-1", 9090, tcp, false},
				{"n/client", "n/web-2", 9090, tcp, true},
				{"n/client", "n/web-2", 8080, tcp, false},
				{"n/client", "n/web-1", 7070, tcp, false}, // the source's own "http"
				{"n/client", "n/web-2", 7070, tcp, false},
			},
		},
		{
			name:  "named port in egress never matches an external IP (nothing to resolve it on)",
			world: namedPortWorld(),
			policies: []string{policyYAML("n", "http-out",
				`{podSelector: {matchLabels: {app: client}}, policyTypes: [Egress], egress: [{ports: [{port: http}]}]}`)},
			conns: []conn{
				{"n/client", "203.0.113.1", 8080, tcp, false},
				{"n/client", "203.0.113.1", 7070, tcp, false},
			},
		},
		{
			name:  "named port with the wrong protocol does not match (dns is UDP, rule defaults to TCP)",
			world: namedPortWorld(),
			policies: []string{policyYAML("n", "dns-tcp",
				`{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: dns}]}]}`)},
			conns: []conn{
				{"n/client", "n/web-1", 53, udp, false},
				{"n/client", "n/web-1", 53, tcp, false},
			},
		},
		{
			name:  "named port with the right protocol matches",
			world: namedPortWorld(),
			policies: []string{policyYAML("n", "dns-udp",
				`{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: dns, protocol: UDP}]}]}`)},
			conns: []conn{
				{"n/client", "n/web-1", 53, udp, true},
				{"n/client", "n/web-1", 53, tcp, false},
				{"n/client", "n/web-2", 53, udp, false}, // web-2 has no "dns"
			},
		},
		{
			name: "endPort range is inclusive at both ends and excludes just outside",
			policies: []string{policyYAML("x", "range",
				`{podSelector: {matchLabels: {pod: a}}, ingress: [{ports: [{port: 8000, endPort: 8010}]}]}`)},
			conns: []conn{
				{"x/b", "x/a", 7999, tcp, false},
				{"x/b", "x/a", 8000, tcp, true},
				{"x/b", "x/a", 8005, tcp, true},
				{"x/b", "x/a", 8010, tcp, true},
				{"x/b", "x/a", 8011, tcp, false},
				{"x/b", "x/a", 8005, udp, false}, // protocol still defaults to TCP
			},
		},
		{
			name: "endPort range in egress with UDP",
			policies: []string{policyYAML("x", "range-out",
				`{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{ports: [{port: 30000, endPort: 30002, protocol: UDP}]}]}`)},
			conns: []conn{
				{"x/a", "203.0.113.1", 29999, udp, false},
				{"x/a", "203.0.113.1", 30000, udp, true},
				{"x/a", "203.0.113.1", 30002, udp, true},
				{"x/a", "203.0.113.1", 30003, udp, false},
				{"x/a", "203.0.113.1", 30001, tcp, false},
			},
		},
		{
			name: "both sides must allow: source egress allows, destination ingress denies",
			policies: []string{
				policyYAML("x", "a-out", `{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {matchLabels: {ns: "y"}}, podSelector: {matchLabels: {pod: b}}}]}]}`),
				policyYAML("y", "b-in", `{podSelector: {matchLabels: {pod: b}}, policyTypes: [Ingress]}`),
			},
			conns: []conn{
				{"x/a", "y/b", 80, tcp, false},
				{"x/a", "y/c", 80, tcp, false}, // egress denies
				{"y/a", "y/b", 80, tcp, false}, // ingress denies
			},
		},
		{
			name: "both sides must allow: destination ingress allows, source egress denies",
			policies: []string{
				policyYAML("x", "a-out", `{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress]}`),
				policyYAML("y", "b-in", `{podSelector: {matchLabels: {pod: b}}, ingress: [{from: [{namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}]}]}`),
			},
			conns: []conn{
				{"x/a", "y/b", 80, tcp, false},
				{"x/b", "y/b", 80, tcp, false}, // ingress of y/b admits only x/a
				{"y/b", "x/a", 80, tcp, true},  // x/a ingress is not isolated, y/b egress not isolated
			},
		},
		{
			name: "both sides allow: connection allowed",
			policies: []string{
				policyYAML("x", "a-out", `{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {matchLabels: {ns: "y"}}, podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}]}]}`),
				policyYAML("y", "b-in", `{podSelector: {matchLabels: {pod: b}}, ingress: [{from: [{namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}]}]}`),
			},
			conns: []conn{
				{"x/a", "y/b", 80, tcp, true},
				{"x/a", "y/b", 81, tcp, false}, // egress admits only 80
			},
		},
		{
			name: "a pod may always reach itself, even under deny-all both ways",
			policies: []string{
				policyYAML("x", "deny-all", `{podSelector: {}, policyTypes: [Ingress, Egress]}`),
			},
			conns: []conn{
				{"x/a", "x/a", 80, tcp, true},
				{"x/a", "x/a", 53, udp, true},
				{"x/a", "x/a", 9000, sctp, true},
				{"x/a", "x/b", 80, tcp, false},
			},
		},
		{
			name: "egress to an external IP is judged only by the source's egress",
			policies: []string{
				policyYAML("x", "deny-in-x", `{podSelector: {}, policyTypes: [Ingress]}`),
				policyYAML("y", "deny-in-y", `{podSelector: {}, policyTypes: [Ingress]}`),
				policyYAML("x", "a-out", `{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{}]}`),
			},
			conns: []conn{
				{"x/a", "203.0.113.9", 443, tcp, true},
				{"x/a", "y/b", 80, tcp, false},
				{"x/b", "203.0.113.9", 443, tcp, true}, // x/b egress not isolated
			},
		},
		{
			name: "egress to an external IP denied by the source's egress",
			policies: []string{
				policyYAML("x", "a-out", `{podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {}}]}]}`),
			},
			conns: []conn{
				{"x/a", "203.0.113.9", 443, tcp, false},
				{"x/a", "z/c", 443, tcp, true},
			},
		},
		{
			name: "ingress from an external IP is judged only by the destination's ingress",
			policies: []string{
				policyYAML("x", "deny-out", `{podSelector: {}, policyTypes: [Egress]}`),
				policyYAML("x", "a-in", `{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}`),
			},
			conns: []conn{
				{"203.0.113.9", "x/a", 80, tcp, true},
				{"x/b", "x/a", 80, tcp, false}, // the ingress admits x/b's IP but x/b's egress is denied
				{"203.0.113.9", "x/b", 80, tcp, true},
			},
		},
		{
			name: "ingress from an external IP denied by the destination's ingress",
			policies: []string{
				policyYAML("x", "a-in", `{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{namespaceSelector: {}}]}]}`),
			},
			conns: []conn{
				{"203.0.113.9", "x/a", 80, tcp, false},
				{"y/c", "x/a", 80, tcp, true},
			},
		},
	}
}

func TestSemantics(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range semanticsCases() {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			docs := tc.world
			if docs == nil {
				docs = baseWorld()
			}
			docs = append(append([]string(nil), docs...), tc.policies...)
			w := buildWorld(t, docs)
			if len(w.Policies) != len(tc.policies) {
				t.Fatalf("world has %d policies, the case defines %d", len(w.Policies), len(tc.policies))
			}
			checkConns(t, w, tc.conns)
		})
	}
}

// A pod's label change changes the verdict: the engine is a function of the
// world, rebuilt from YAML or from a changed clone.
func TestSemanticsLabelChange(t *testing.T) {
	pol := policyYAML("x", "from-b",
		`{podSelector: {matchLabels: {pod: a}}, ingress: [{from: [{podSelector: {matchLabels: {role: client}}}]}]}`)
	before := []string{
		podYAML("x", "a", "{pod: a}", "10.0.1.1", stdPorts),
		podYAML("x", "b", "{pod: b}", "10.0.1.2", stdPorts),
		pol,
	}
	after := []string{
		podYAML("x", "a", "{pod: a}", "10.0.1.1", stdPorts),
		podYAML("x", "b", "{pod: b, role: client}", "10.0.1.2", stdPorts),
		pol,
	}
	w1, w2 := buildWorld(t, before), buildWorld(t, after)
	t.Run("before: b lacks role=client and is blocked", func(t *testing.T) {
		checkConns(t, w1, []conn{{"x/b", "x/a", 80, tcp, false}})
	})
	t.Run("after: b labelled role=client is allowed", func(t *testing.T) {
		checkConns(t, w2, []conn{{"x/b", "x/a", 80, tcp, true}})
	})

	// Same change through Clone: the original world and its engine are
	// untouched.
	e1 := netpol.New(w1)
	c := w1.Clone()
	c.Pod("x/b").Labels["role"] = "client"
	e2 := netpol.New(c)
	if got := e2.Allowed(netpol.PodEndpoint(c.Pod("x/b")), netpol.PodEndpoint(c.Pod("x/a")), 80, tcp); !got {
		t.Errorf("clone with x/b relabelled role=client: x/b -> x/a:80/TCP got blocked, want allowed")
	}
	if got := e1.Allowed(netpol.PodEndpoint(w1.Pod("x/b")), netpol.PodEndpoint(w1.Pod("x/a")), 80, tcp); got {
		t.Errorf("original world after cloning: x/b -> x/a:80/TCP got allowed, want blocked (Clone must not share labels)")
	}

	// Relabelling the destination out of the policy's podSelector lifts
	// isolation.
	c2 := w1.Clone()
	c2.Pod("x/a").Labels["pod"] = "not-a"
	e3 := netpol.New(c2)
	if got := e3.Allowed(netpol.PodEndpoint(c2.Pod("x/b")), netpol.PodEndpoint(c2.Pod("x/a")), 80, tcp); !got {
		t.Errorf("x/a relabelled out of the policy: x/b -> x/a:80/TCP got blocked, want allowed (no longer isolated)")
	}
	if e3.Isolated(c2.Pod("x/a"), netpol.Ingress) {
		t.Errorf("x/a relabelled out of the policy is still reported isolated for ingress")
	}
}

// Namespace label change changes a namespaceSelector verdict.
func TestSemanticsNamespaceLabelChange(t *testing.T) {
	docs := []string{
		nsYAML("x", "{}"),
		nsYAML("y", "{team: blue}"),
		podYAML("x", "a", "{pod: a}", "10.0.1.1", stdPorts),
		podYAML("y", "b", "{pod: b}", "10.0.2.2", stdPorts),
		policyYAML("x", "from-red", `{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: red}}}]}]}`),
	}
	w1 := buildWorld(t, docs)
	docs[1] = nsYAML("y", "{team: red}")
	w2 := buildWorld(t, docs)
	checkConns(t, w1, []conn{{"y/b", "x/a", 80, tcp, false}})
	checkConns(t, w2, []conn{{"y/b", "x/a", 80, tcp, true}})
}

func TestIsolatedPerDirection(t *testing.T) {
	w := buildWorld(t, append(baseWorld(),
		policyYAML("x", "in-only", `{podSelector: {matchLabels: {pod: a}}, ingress: [{}]}`),
		policyYAML("x", "out-only", `{podSelector: {matchLabels: {pod: b}}, policyTypes: [Egress]}`),
		policyYAML("x", "defaulted-both", `{podSelector: {matchLabels: {pod: c}}, egress: [{}]}`),
	))
	e := netpol.New(w)
	for _, tc := range []struct {
		pod     string
		dir     netpol.Direction
		want    bool
		comment string
	}{
		{"x/a", netpol.Ingress, true, "ingress rules, policyTypes omitted"},
		{"x/a", netpol.Egress, false, "no egress rules, policyTypes omitted"},
		{"x/b", netpol.Ingress, false, "policyTypes [Egress]"},
		{"x/b", netpol.Egress, true, "policyTypes [Egress]"},
		{"x/c", netpol.Ingress, true, "policyTypes omitted always defaults Ingress"},
		{"x/c", netpol.Egress, true, "egress rules present default Egress"},
		{"y/a", netpol.Ingress, false, "other namespace"},
	} {
		if got := e.Isolated(w.Pod(tc.pod), tc.dir); got != tc.want {
			t.Errorf("Isolated(%s, %s) = %v, want %v (%s)", tc.pod, tc.dir, got, tc.want, tc.comment)
		}
	}
}

// ---- Matrix --------------------------------------------------------------------

func TestMatrix(t *testing.T) {
	docs := []string{
		nsYAML("p", "{}"),
		nsYAML("q", "{}"),
		podYAML("q", "b", "{app: b}", "10.2.0.2", `[{name: http, containerPort: 80}, {name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53}]`),
		podYAML("p", "a", "{app: a}", "10.2.0.1", `[{name: http, containerPort: 80}]`),
		podYAML("p", "c", "{app: c}", "10.2.0.3", `[{name: s, containerPort: 9000, protocol: SCTP}, {name: hi, containerPort: 8080}]`),
		podYAML("q", "d", "{app: d}", "10.2.0.4", `[]`),
		policyYAML("q", "b-in", `{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: a}}}], ports: [{port: 53, protocol: UDP}, {port: http}]}]}`),
		policyYAML("p", "a-out", `{podSelector: {matchLabels: {app: a}}, policyTypes: [Egress], egress: [{to: [{podSelector: {}}]}]}`),
	}
	w := buildWorld(t, docs)
	e := netpol.New(w)
	m := e.Matrix()

	want := 0
	for _, src := range w.Pods {
		for _, dst := range w.Pods {
			if src != dst {
				want += len(dst.Ports)
			}
		}
	}
	// 4 pods; ports: p/a 1, p/c 2, q/b 3, q/d 0 => 3*(1+2+3+0) = 18.
	if want != 18 {
		t.Fatalf("test bug: expected 18 cells from the world, computed %d", want)
	}
	if len(m.Results) != want {
		t.Fatalf("Matrix has %d cells, want %d (ordered pairs of distinct pods x destination ports)", len(m.Results), want)
	}

	less := func(a, b matrix.Key) bool {
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		if a.Port != b.Port {
			return a.Port < b.Port
		}
		return a.Protocol < b.Protocol
	}
	if !sort.SliceIsSorted(m.Results, func(i, j int) bool { return less(m.Results[i].Key(), m.Results[j].Key()) }) {
		t.Errorf("Matrix cells are not in canonical (from, to, port, protocol) order")
	}
	seen := map[matrix.Key]bool{}
	for i, c := range m.Results {
		if seen[c.Key()] {
			t.Errorf("cell %d %s appears twice", i, c.Key())
		}
		seen[c.Key()] = true
		if c.From == c.To {
			t.Errorf("cell %d %s: a pod to itself is not a matrix cell", i, c.Key())
		}
		src, dst := w.Pod(c.From), w.Pod(c.To)
		if src == nil || dst == nil {
			t.Errorf("cell %d %s names an unknown pod", i, c.Key())
			continue
		}
		declared := false
		for _, p := range dst.Ports {
			if p.Port == c.Port && string(p.Protocol) == c.Protocol {
				declared = true
			}
		}
		if !declared {
			t.Errorf("cell %d %s: port not declared by the destination", i, c.Key())
		}
		if got := e.Allowed(netpol.PodEndpoint(src), netpol.PodEndpoint(dst), c.Port, corev1.Protocol(c.Protocol)); got != c.Allowed {
			t.Errorf("cell %d %s: Matrix says %s, Allowed says %s", i, c.Key(), verdict(c.Allowed), verdict(got))
		}
	}

	// Concrete verdicts per the policies (spot checks).
	expect := map[matrix.Key]bool{
		{From: "p/a", To: "q/b", Port: 53, Protocol: "UDP"}:    false, // a's egress: own namespace only
		{From: "p/c", To: "q/b", Port: 53, Protocol: "UDP"}:    false, // b's ingress: only app=a
		{From: "p/c", To: "p/a", Port: 80, Protocol: "TCP"}:    true,  // a's ingress not isolated
		{From: "p/a", To: "p/c", Port: 9000, Protocol: "SCTP"}: true,
		{From: "q/d", To: "q/b", Port: 80, Protocol: "TCP"}:    false,
		{From: "q/d", To: "q/b", Port: 53, Protocol: "TCP"}:    false,
		{From: "q/b", To: "p/c", Port: 8080, Protocol: "TCP"}:  true,
	}
	idx := m.Index()
	for k, wantAllowed := range expect {
		c, ok := idx[k]
		if !ok {
			t.Errorf("Matrix has no cell %s", k)
			continue
		}
		if c.Allowed != wantAllowed {
			t.Errorf("Matrix cell %s = %s, want %s", k, verdict(c.Allowed), verdict(wantAllowed))
		}
	}

	// Deterministic: same world, same matrix.
	m2 := netpol.New(buildWorld(t, docs)).Matrix()
	if fmt.Sprint(m.Results) != fmt.Sprint(m2.Results) {
		t.Errorf("Matrix is not deterministic across identical worlds")
	}
}

// Every matrix cell consults both the source's egress and the destination's
// ingress.
func TestMatrixBothSides(t *testing.T) {
	w := buildWorld(t, []string{
		podYAML("p", "a", "{app: a}", "10.2.0.1", `[{name: http, containerPort: 80}]`),
		podYAML("q", "b", "{app: b}", "10.2.0.2", `[{name: http, containerPort: 80}, {name: dns, containerPort: 53, protocol: UDP}]`),
		policyYAML("q", "b-in", `{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: a}}}], ports: [{port: 53, protocol: UDP}]}]}`),
		policyYAML("p", "a-out", `{podSelector: {matchLabels: {app: a}}, policyTypes: [Egress], egress: [{to: [{namespaceSelector: {}}], ports: [{protocol: UDP}]}]}`),
	})
	got := map[string]bool{}
	for _, c := range netpol.New(w).Matrix().Results {
		got[c.Key().String()] = c.Allowed
	}
	want := map[string]bool{
		"p/a -> q/b:53/UDP": true,  // egress: any UDP to any pod; ingress: 53/UDP from app=a
		"p/a -> q/b:80/TCP": false, // egress admits only UDP; ingress only 53/UDP
		// q/b's egress is not isolated (b-in is Ingress only) and p/a's
		// ingress is not isolated (a-out is Egress only).
		"q/b -> p/a:80/TCP": true,
	}
	if len(got) != len(want) {
		t.Errorf("Matrix has %d cells, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("Matrix has no cell %s", k)
		} else if g != v {
			t.Errorf("Matrix cell %s = %s, want %s", k, verdict(g), verdict(v))
		}
	}
}
