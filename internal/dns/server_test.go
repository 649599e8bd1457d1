package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// testServer is a Server listening on 127.0.0.1 over UDP and TCP (same
// port number is not required; each has its own address).
type testServer struct {
	*Server
	udp, tcp string
}

func startServer(t *testing.T, records Records) *testServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	s := NewServer(records)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v after cancel, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return &testServer{Server: s, udp: pc.LocalAddr().String(), tcp: ln.Addr().String()}
}

// resolver returns a pure-Go resolver that sends every query to addr over
// network ("udp" or "tcp"), whatever the system configuration says.
func resolver(network, addr string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
}

func (s *testServer) addr(network string) string {
	if network == "tcp" {
		return s.tcp
	}
	return s.udp
}

var labRecords = Records{
	"backend.netpol-lab.svc.cluster.local.": {netip.MustParseAddr("10.244.1.5")},
	"backend.netpol-lab.":                   {netip.MustParseAddr("10.244.1.5")},
	// Spelled loosely on purpose: NewServer canonicalizes names.
	"Dual.NetPol-Lab.svc.cluster.local": {netip.MustParseAddr("10.244.1.6"), netip.MustParseAddr("fd00:10:244::6")},
}

func TestResolverLookups(t *testing.T) {
	s := startServer(t, labRecords)
	tests := []struct {
		name     string
		host     string
		want     []string // nil: the lookup must fail
		notFound bool     // the failure must be "no such host"
	}{
		{"service FQDN", "backend.netpol-lab.svc.cluster.local.", []string{"10.244.1.5"}, false},
		{"namespace-qualified name", "backend.netpol-lab.", []string{"10.244.1.5"}, false},
		{"case-insensitive", "BACKEND.netpol-lab.SVC.cluster.local.", []string{"10.244.1.5"}, false},
		{"canonicalized record", "dual.netpol-lab.svc.cluster.local.", []string{"10.244.1.6", "fd00:10:244::6"}, false},
		{"unknown in cluster domain", "nope.netpol-lab.svc.cluster.local.", nil, true},
		{"outside cluster domain", "example.com.", nil, false},
	}
	for _, network := range []string{"udp", "tcp"} {
		r := resolver(network, s.addr(network))
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				addrs, err := r.LookupNetIP(ctx, "ip", tt.host)
				if tt.want == nil {
					if err == nil {
						t.Fatalf("lookup %s = %v, want an error", tt.host, addrs)
					}
					var de *net.DNSError
					if tt.notFound && (!errors.As(err, &de) || !de.IsNotFound) {
						t.Fatalf("lookup %s: %v, want a not-found DNSError", tt.host, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("lookup %s: %v", tt.host, err)
				}
				var got []string
				for _, a := range addrs {
					got = append(got, a.String())
				}
				slices.Sort(got)
				if !slices.Equal(got, tt.want) {
					t.Fatalf("lookup %s = %v, want %v", tt.host, got, tt.want)
				}
			})
		}
	}
}

// exchange sends one hand-built query and returns the parsed response
// header and answers, so tests can check response codes precisely.
func exchange(t *testing.T, network, addr string, q dnsmessage.Question, edns bool) (dnsmessage.Header, []dnsmessage.Resource) {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 0xbeef, RecursionDesired: true})
	must(t, b.StartQuestions())
	must(t, b.Question(q))
	if edns {
		must(t, b.StartAdditionals())
		var rh dnsmessage.ResourceHeader
		must(t, rh.SetEDNS0(4096, dnsmessage.RCodeSuccess, false))
		must(t, b.OPTResource(rh, dnsmessage.OPTResource{}))
	}
	query, err := b.Finish()
	must(t, err)
	resp := roundTrip(t, network, addr, query)
	var p dnsmessage.Parser
	h, err := p.Start(resp)
	must(t, err)
	if h.ID != 0xbeef || !h.Response {
		t.Fatalf("response header %+v: want ID 0xbeef and the response bit", h)
	}
	qs, err := p.AllQuestions()
	must(t, err)
	if len(qs) != 1 || qs[0].Name != q.Name || qs[0].Type != q.Type {
		t.Fatalf("response questions %v, want the query's %v", qs, q)
	}
	answers, err := p.AllAnswers()
	must(t, err)
	return h, answers
}

func roundTrip(t *testing.T, network, addr string, query []byte) []byte {
	t.Helper()
	conn, err := net.DialTimeout(network, addr, 2*time.Second)
	must(t, err)
	defer conn.Close()
	must(t, conn.SetDeadline(time.Now().Add(2*time.Second)))
	if network == "udp" {
		_, err = conn.Write(query)
		must(t, err)
		buf := make([]byte, 65535)
		n, err := conn.Read(buf)
		must(t, err)
		return buf[:n]
	}
	msg := binary.BigEndian.AppendUint16(nil, uint16(len(query)))
	_, err = conn.Write(append(msg, query...))
	must(t, err)
	var lenbuf [2]byte
	_, err = io.ReadFull(conn, lenbuf[:])
	must(t, err)
	resp := make([]byte, binary.BigEndian.Uint16(lenbuf[:]))
	_, err = io.ReadFull(conn, resp)
	must(t, err)
	return resp
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func question(name string, typ dnsmessage.Type) dnsmessage.Question {
	return dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}
}

func TestResponseCodes(t *testing.T) {
	s := startServer(t, labRecords)
	chaos := question("backend.netpol-lab.", dnsmessage.TypeA)
	chaos.Class = dnsmessage.ClassCHAOS
	tests := []struct {
		name    string
		q       dnsmessage.Question
		rcode   dnsmessage.RCode
		answers int
	}{
		{"A of a known name", question("backend.netpol-lab.svc.cluster.local.", dnsmessage.TypeA), dnsmessage.RCodeSuccess, 1},
		{"AAAA of an IPv4-only name is NODATA", question("backend.netpol-lab.svc.cluster.local.", dnsmessage.TypeAAAA), dnsmessage.RCodeSuccess, 0},
		{"AAAA of a dual-stack name", question("dual.netpol-lab.svc.cluster.local.", dnsmessage.TypeAAAA), dnsmessage.RCodeSuccess, 1},
		{"MX of a known name is NODATA", question("backend.netpol-lab.", dnsmessage.TypeMX), dnsmessage.RCodeSuccess, 0},
		{"unknown name in the cluster domain", question("nope.netpol-lab.svc.cluster.local.", dnsmessage.TypeA), dnsmessage.RCodeNameError, 0},
		{"empty non-terminal", question("svc.cluster.local.", dnsmessage.TypeA), dnsmessage.RCodeSuccess, 0},
		{"outside every zone", question("example.com.", dnsmessage.TypeA), dnsmessage.RCodeRefused, 0},
		{"sibling of a record outside the cluster domain", question("frontend.netpol-lab.", dnsmessage.TypeA), dnsmessage.RCodeRefused, 0},
		{"non-IN class", chaos, dnsmessage.RCodeRefused, 0},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				h, answers := exchange(t, network, s.addr(network), tt.q, false)
				if h.RCode != tt.rcode || len(answers) != tt.answers {
					t.Fatalf("rcode %v with %d answers, want %v with %d", h.RCode, len(answers), tt.rcode, tt.answers)
				}
				if !h.Authoritative {
					t.Error("response is not authoritative")
				}
				for _, a := range answers {
					if a.Header.TTL != TTL {
						t.Errorf("TTL %d, want %d", a.Header.TTL, TTL)
					}
				}
			})
		}
	}
}

func TestSetSwapsRecords(t *testing.T) {
	s := startServer(t, Records{"web.lab.svc.cluster.local.": {netip.MustParseAddr("10.0.0.1")}})
	r := resolver("udp", s.udp)
	lookup := func(host string) ([]netip.Addr, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return r.LookupNetIP(ctx, "ip4", host)
	}
	got, err := lookup("web.lab.svc.cluster.local.")
	if err != nil || len(got) != 1 || got[0] != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("before Set: %v, %v; want [10.0.0.1]", got, err)
	}

	next := Records{"api.lab.svc.cluster.local.": {netip.MustParseAddr("10.0.0.2")}}
	s.Set(next)
	// Set copies: later changes by the caller must not leak in.
	next["api.lab.svc.cluster.local."] = []netip.Addr{netip.MustParseAddr("10.9.9.9")}

	if got, err := lookup("web.lab.svc.cluster.local."); err == nil {
		t.Fatalf("after Set, removed name still resolves to %v", got)
	}
	got, err = lookup("api.lab.svc.cluster.local.")
	if err != nil || len(got) != 1 || got[0] != netip.MustParseAddr("10.0.0.2") {
		t.Fatalf("after Set: %v, %v; want [10.0.0.2]", got, err)
	}
}

// TestSetWhileServing swaps records while queries are in flight; run with
// -race it checks that Set is safe, and every answer must be one of the
// two record sets, never a mix or a failure.
func TestSetWhileServing(t *testing.T) {
	a := Records{"x.lab.svc.cluster.local.": {netip.MustParseAddr("10.0.0.1")}}
	b := Records{"x.lab.svc.cluster.local.": {netip.MustParseAddr("10.0.0.2")}}
	s := startServer(t, a)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				s.Set(b)
			} else {
				s.Set(a)
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()
	for range 50 {
		h, answers := exchange(t, "udp", s.udp, question("x.lab.svc.cluster.local.", dnsmessage.TypeA), false)
		if h.RCode != dnsmessage.RCodeSuccess || len(answers) != 1 {
			t.Fatalf("rcode %v, %d answers; want success with 1", h.RCode, len(answers))
		}
		ip := netip.AddrFrom4(answers[0].Body.(*dnsmessage.AResource).A)
		if ip != netip.MustParseAddr("10.0.0.1") && ip != netip.MustParseAddr("10.0.0.2") {
			t.Fatalf("answer %v is from neither record set", ip)
		}
	}
}

func TestTruncation(t *testing.T) {
	var many []netip.Addr
	for i := range 100 {
		many = append(many, netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}))
	}
	s := startServer(t, Records{"big.lab.svc.cluster.local.": many})
	q := question("big.lab.svc.cluster.local.", dnsmessage.TypeA)

	h, answers := exchange(t, "udp", s.udp, q, false)
	if !h.Truncated || len(answers) != 0 {
		t.Fatalf("UDP without EDNS: truncated=%v with %d answers, want truncated with none", h.Truncated, len(answers))
	}
	h, answers = exchange(t, "udp", s.udp, q, true)
	if h.Truncated || len(answers) != 100 {
		t.Fatalf("UDP with EDNS 4096: truncated=%v with %d answers, want all 100", h.Truncated, len(answers))
	}
	h, answers = exchange(t, "tcp", s.tcp, q, false)
	if h.Truncated || len(answers) != 100 {
		t.Fatalf("TCP: truncated=%v with %d answers, want all 100", h.Truncated, len(answers))
	}

	// Go's resolver advertises 1232 bytes, gets TC over UDP and must
	// retry over TCP on its own.
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.addr(network))
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip4", "big.lab.svc.cluster.local.")
	if err != nil || len(addrs) != 100 {
		t.Fatalf("resolver: %d addresses, %v; want 100", len(addrs), err)
	}
}

func TestMalformedQueries(t *testing.T) {
	s := startServer(t, labRecords)
	// A header with no question: FORMERR.
	hdr := []byte{0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0}
	resp := roundTrip(t, "udp", s.udp, hdr)
	var p dnsmessage.Parser
	h, err := p.Start(resp)
	must(t, err)
	if h.ID != 0x1234 || h.RCode != dnsmessage.RCodeFormatError {
		t.Fatalf("got ID %#x rcode %v, want 0x1234 FORMERR", h.ID, h.RCode)
	}
	// Garbage gets no answer, and the server keeps serving.
	conn, err := net.Dial("udp", s.udp)
	must(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte{1, 2, 3})
	must(t, err)
	h, _ = exchange(t, "udp", s.udp, question("backend.netpol-lab.", dnsmessage.TypeA), false)
	if h.RCode != dnsmessage.RCodeSuccess {
		t.Fatalf("after garbage: rcode %v, want success", h.RCode)
	}
}

func TestServeLifecycle(t *testing.T) {
	s := NewServer(nil)
	if err := s.Serve(context.Background(), nil, nil); err == nil {
		t.Fatal("Serve with no sockets succeeded")
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, nil, ln) }()
	// An idle client must not keep Serve from returning.
	idle, err := net.Dial("tcp", ln.Addr().String())
	must(t, err)
	defer idle.Close()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("listener still accepts after Serve returned")
	}
}
