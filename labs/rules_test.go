package labs

import (
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/world"
)

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "netpol-lab/frontend -> netpol-lab/backend:8080 allow", want: "netpol-lab/frontend -> netpol-lab/backend:8080 allow"},
		{in: "* -> netpol-lab/* deny", want: "* -> netpol-lab/* deny"},
		{in: "  *   ->   *   allow ", want: "* -> * allow"},
		{in: "a/b -> c/d:53/udp allow", want: "a/b -> c/d:53/UDP allow"},
		{in: "a/* -> c/d:9090-9199/TCP allow", want: "a/* -> c/d:9090-9199/TCP allow"},
		{in: "a/b -> c/d:http deny", want: "a/b -> c/d:http deny"},
		{in: "a/b -> c/d:*/SCTP deny", want: "a/b -> c/d:*/SCTP deny"},
		{in: "a/b -> c/d:* deny", want: "a/b -> c/d deny"},
		{in: "a/b -> internet:443 allow", want: "a/b -> internet:443 allow"},
		{in: "a/b -> c/d allow extra", err: "want \"FROM -> TO"},
		{in: "a/b => c/d allow", err: "want \"FROM -> TO"},
		{in: "a/b -> c/d permit", err: "verdict \"permit\""},
		{in: "internet -> c/d allow", err: "only be a destination"},
		{in: "*/b -> c/d allow", err: "namespace cannot be *"},
		{in: "ab -> c/d allow", err: "want *, NAMESPACE/*"},
		{in: "a/b/c -> c/d allow", err: "want *, NAMESPACE/*"},
		{in: "a/b -> c/d:0 allow", err: "not a port number"},
		{in: "a/b -> c/d:70000 allow", err: "not a port number"},
		{in: "a/b -> c/d:90-80 allow", err: "backwards"},
		{in: "a/b -> c/d:80/ICMP allow", err: "protocol \"ICMP\""},
		{in: "a/b -> c/d: allow", err: "empty port"},
		{in: "a/b -> c/d:Http allow", err: "not a port number, range or container port name"},
		{in: "a/b -> internet:https allow", err: "no named ports"},
	} {
		r, err := ParseRule(tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRule(%q) error = %v, want it to contain %q", tc.in, err, tc.err)
			}
		case err != nil:
			t.Errorf("ParseRule(%q): %v", tc.in, err)
		case r.String() != tc.want:
			t.Errorf("ParseRule(%q) = %q, want %q", tc.in, r.String(), tc.want)
		}
	}
}

func TestRuleMatches(t *testing.T) {
	api := &world.Pod{Namespace: "shop", Name: "api", Ports: []world.Port{
		{Name: "http", Port: 8080, Protocol: "TCP"}, {Name: "metrics", Port: 9090, Protocol: "TCP"}}}
	dns := &world.Pod{Namespace: "kube-system", Name: "coredns", Ports: []world.Port{
		{Name: "dns", Port: 53, Protocol: "UDP"}, {Name: "dns-tcp", Port: 53, Protocol: "TCP"}}}
	key := func(from, to string, port int32, proto string) matrix.Key {
		return matrix.Key{From: from, To: to, Port: port, Protocol: proto}
	}
	for _, tc := range []struct {
		rule string
		k    matrix.Key
		dst  *world.Pod
		want bool
	}{
		{"* -> * allow", key("shop/web", "shop/api", 8080, "TCP"), api, true},
		{"* -> * allow", key("shop/web", InternetIP, 443, "TCP"), nil, false}, // * is pods only
		{"* -> internet allow", key("shop/web", InternetIP, 443, "TCP"), nil, true},
		{"* -> internet:80 allow", key("shop/web", InternetIP, 443, "TCP"), nil, false},
		{"shop/* -> shop/api allow", key("shop/web", "shop/api", 9090, "TCP"), api, true},
		{"shop/* -> shop/api allow", key("other/web", "shop/api", 9090, "TCP"), api, false},
		{"shop/web -> shop/api allow", key("shop/webx", "shop/api", 9090, "TCP"), api, false},
		{"* -> shop/api:http allow", key("a/b", "shop/api", 8080, "TCP"), api, true},
		{"* -> shop/api:http allow", key("a/b", "shop/api", 9090, "TCP"), api, false},
		{"* -> shop/api:http/UDP allow", key("a/b", "shop/api", 8080, "TCP"), api, false},
		{"* -> shop/api:8000-8080 allow", key("a/b", "shop/api", 8080, "TCP"), api, true},
		{"* -> shop/api:8000-8079 allow", key("a/b", "shop/api", 8080, "TCP"), api, false},
		{"* -> kube-system/coredns:53 allow", key("a/b", "kube-system/coredns", 53, "UDP"), dns, true},
		{"* -> kube-system/coredns:53 allow", key("a/b", "kube-system/coredns", 53, "TCP"), dns, true},
		{"* -> kube-system/coredns:53/TCP allow", key("a/b", "kube-system/coredns", 53, "UDP"), dns, false},
		{"* -> kube-system/coredns:dns allow", key("a/b", "kube-system/coredns", 53, "TCP"), dns, false}, // "dns" is the UDP port
	} {
		r, err := ParseRule(tc.rule)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Matches(tc.k, tc.dst); got != tc.want {
			t.Errorf("%q matches %s = %v, want %v", tc.rule, tc.k, got, tc.want)
		}
	}
}
