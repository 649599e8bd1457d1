package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/dns"
)

// freePort returns a port number that is free for both TCP and UDP on all
// addresses, so one number can serve both protocols.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", fmt.Sprintf("0.0.0.0:%d", port))
		ln.Close()
		if err != nil {
			continue
		}
		pc.Close()
		return port
	}
	t.Fatal("no port free for both TCP and UDP")
	return 0
}

// logBuffer is a concurrency-safe log sink that signals when a line
// containing want has been written.
type logBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  string
	ready chan struct{}
	once  sync.Once
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if strings.Contains(b.buf.String(), b.want) {
		b.once.Do(func() { close(b.ready) })
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startAgent runs Serve until the test ends and returns once every port is
// bound. The cleanup checks that Serve returns nil promptly.
func startAgent(t *testing.T, pod string, ports []Port) *logBuffer {
	t.Helper()
	log := &logBuffer{want: "serving", ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, pod, ports, log) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve = %v after cancel, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	select {
	case <-log.ready:
	case err := <-done:
		t.Fatalf("Serve returned early: %v\nlog:\n%s", err, log)
	case <-time.After(5 * time.Second):
		t.Fatalf("Serve did not start\nlog:\n%s", log)
	}
	return log
}

func TestServeAndProbe(t *testing.T) {
	port := freePort(t)   // served over TCP and UDP
	closed := freePort(t) // nothing listens: refused
	silentUDP, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silentUDP.Close()
	silent := silentUDP.LocalAddr().(*net.UDPAddr).Port // bound, never answers: timeout
	sctpPort := freePort(t)

	log := startAgent(t, "pod-a", []Port{
		{Port: port, Protocol: "TCP"},
		{Port: port, Protocol: "udp"}, // case-insensitive
		{Port: port},                  // TCP again, by default: served once
		{Port: sctpPort, Protocol: "SCTP"},
	})
	sctpOK := checkSCTP() == nil
	if !sctpOK && !strings.Contains(log.String(), "SCTP is not supported") {
		t.Errorf("log does not say SCTP is unsupported:\n%s", log)
	}

	const timeout = 600 * time.Millisecond
	type probeCase struct {
		target  Target
		allowed bool
		detail  string
		reply   string
	}
	tests := []probeCase{
		{Target{Host: "127.0.0.1", Port: port, Protocol: "TCP", Name: "tcp"}, true, "", fmt.Sprintf("netlab pod-a %d/TCP", port)},
		{Target{Host: "127.0.0.1", Port: port, Name: "default protocol"}, true, "", fmt.Sprintf("netlab pod-a %d/TCP", port)},
		{Target{Host: "127.0.0.1", Port: port, Protocol: "UDP", Name: "udp"}, true, "", fmt.Sprintf("netlab pod-a %d/UDP", port)},
		{Target{Host: "127.0.0.1", Port: closed, Protocol: "TCP", Name: "closed tcp"}, false, DetailRefused, ""},
		{Target{Host: "127.0.0.1", Port: closed, Protocol: "UDP", Name: "closed udp"}, false, DetailRefused, ""},
		{Target{Host: "127.0.0.1", Port: silent, Protocol: "UDP", Name: "silent udp"}, false, DetailTimeout, ""},
		{Target{Host: "127.0.0.1", Port: 0, Protocol: "TCP", Name: "bad port"}, false, "error: port 0 out of range", ""},
		{Target{Host: "127.0.0.1", Port: port, Protocol: "ICMP", Name: "bad protocol"}, false, `error: unknown protocol "ICMP"`, ""},
	}
	// SCTP is unsupported on kernels without it (such as the one netlab is
	// developed on) and must then never count as allowed.
	sctp := Target{Host: "127.0.0.1", Port: sctpPort, Protocol: "SCTP", Name: "sctp"}
	if sctpOK {
		tests = append(tests, probeCase{sctp, true, "", fmt.Sprintf("netlab pod-a %d/SCTP", sctpPort)})
	} else {
		tests = append(tests, probeCase{sctp, false, DetailUnsupported, ""})
	}

	targets := make([]Target, len(tests))
	for i, tt := range tests {
		targets[i] = tt.target
	}
	start := time.Now()
	results := Probe(context.Background(), targets, timeout, "")
	elapsed := time.Since(start)

	if len(results) != len(tests) {
		t.Fatalf("%d results for %d targets", len(results), len(tests))
	}
	for i, tt := range tests {
		r := results[i]
		t.Run(tt.target.Name, func(t *testing.T) {
			if r.Target != tt.target {
				t.Errorf("result %d is for %+v, want %+v (order must be kept)", i, r.Target, tt.target)
			}
			if r.Allowed != tt.allowed || r.Detail != tt.detail {
				t.Errorf("allowed=%v detail=%q (error %q), want allowed=%v detail=%q", r.Allowed, r.Detail, r.Error, tt.allowed, tt.detail)
			}
			if r.Reply != tt.reply {
				t.Errorf("reply %q, want %q", r.Reply, tt.reply)
			}
			if tt.detail == "" && r.Addr != "127.0.0.1" {
				t.Errorf("addr %q, want 127.0.0.1", r.Addr)
			}
			if tt.detail == DetailTimeout && r.Millis < float64(timeout.Milliseconds())*0.9 {
				t.Errorf("timed out after %.1f ms, before the %v timeout", r.Millis, timeout)
			}
			if tt.detail != DetailTimeout && r.Millis > float64(timeout.Milliseconds()) {
				t.Errorf("took %.1f ms, more than the %v timeout", r.Millis, timeout)
			}
		})
	}
	// Targets are probed concurrently: the batch costs one timeout.
	if elapsed > 2*timeout {
		t.Errorf("batch took %v, want about one timeout (%v)", elapsed, timeout)
	}
}

// TestUDPRetransmit checks that a UDP probe survives a lost datagram: the
// server ignores the first one and answers the retransmission.
func TestUDPRetransmit(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 64)
		for i := 0; ; i++ {
			_, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if i > 0 {
				pc.WriteTo([]byte("late\n"), addr)
			}
		}
	}()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	r := Probe(context.Background(), []Target{{Host: "127.0.0.1", Port: port, Protocol: UDP}}, time.Second, "")[0]
	if !r.Allowed || r.Reply != "late" {
		t.Fatalf("got %+v, want allowed with reply %q", r, "late")
	}
	if r.Millis < float64(udpRetransmit.Milliseconds())*0.9 {
		t.Errorf("answered after %.1f ms: the first datagram was not the one answered", r.Millis)
	}
}

func TestProbeCancel(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := Probe(ctx, []Target{{Host: "127.0.0.1", Port: port, Protocol: UDP}}, 10*time.Second, "")[0]
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Fatalf("Probe ignored cancellation: took %v", elapsed)
	}
	if r.Allowed {
		t.Fatalf("cancelled probe counted as allowed: %+v", r)
	}
}

func TestServeBindError(t *testing.T) {
	for _, proto := range []string{"tcp", "udp"} {
		t.Run(proto, func(t *testing.T) {
			var port int
			if proto == "tcp" {
				ln, err := net.Listen("tcp", "0.0.0.0:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				port = ln.Addr().(*net.TCPAddr).Port
			} else {
				pc, err := net.ListenPacket("udp", "0.0.0.0:0")
				if err != nil {
					t.Fatal(err)
				}
				defer pc.Close()
				port = pc.LocalAddr().(*net.UDPAddr).Port
			}
			free := freePort(t)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			// The free port comes first: it must be released again.
			err := Serve(ctx, "pod", []Port{{Port: free, Protocol: "TCP"}, {Port: port, Protocol: strings.ToUpper(proto)}}, nil)
			if err == nil || ctx.Err() != nil {
				t.Fatalf("Serve on a port in use = %v, want an immediate error", err)
			}
			ln, err := net.Listen("tcp", fmt.Sprintf("0.0.0.0:%d", free))
			if err != nil {
				t.Fatalf("port %d still held after Serve failed: %v", free, err)
			}
			ln.Close()
		})
	}
	if err := Serve(context.Background(), "pod", []Port{{Port: 80, Protocol: "ICMP"}}, nil); err == nil {
		t.Error("Serve accepted an unknown protocol")
	}
	if err := Serve(context.Background(), "pod", []Port{{Port: 70000}}, nil); err == nil {
		t.Error("Serve accepted port 70000")
	}
}

// startDNS serves records on 127.0.0.1 over UDP and TCP on one port, as a
// kube-dns Service would, and returns "127.0.0.1:port".
func startDNS(t *testing.T, records dns.Records) string {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- dns.NewServer(records).Serve(ctx, pc, ln) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("dns Serve: %v", err)
			}
		})
		return pc.LocalAddr().String()
	}
	t.Fatal("no port free for both UDP and TCP")
	return ""
}

func TestProbeByName(t *testing.T) {
	port := freePort(t)
	startAgent(t, "backend-0", []Port{{Port: port, Protocol: TCP}, {Port: port, Protocol: UDP}})
	server := startDNS(t, dns.Records{
		"backend.netpol-lab.svc.cluster.local.": {netip.MustParseAddr("127.0.0.1")},
		"backend.netpol-lab.":                   {netip.MustParseAddr("127.0.0.1")},
	})
	// A DNS server that is not there: the lookup fails, not the connection.
	deadDNS := fmt.Sprintf("127.0.0.1:%d", freePort(t))

	tests := []struct {
		name    string
		target  Target
		dns     string
		allowed bool
		detail  string
	}{
		{"service FQDN over TCP", Target{Host: "backend.netpol-lab.svc.cluster.local.", Port: port, Protocol: TCP}, server, true, ""},
		{"service FQDN over UDP", Target{Host: "backend.netpol-lab.svc.cluster.local.", Port: port, Protocol: UDP}, server, true, ""},
		{"namespace-qualified name", Target{Host: "backend.netpol-lab.", Port: port, Protocol: TCP}, server, true, ""},
		{"unknown name", Target{Host: "nope.netpol-lab.svc.cluster.local.", Port: port, Protocol: TCP}, server, false, DetailDNSFailed},
		{"name outside the cluster", Target{Host: "example.com.", Port: port, Protocol: TCP}, server, false, DetailDNSFailed},
		{"DNS server down", Target{Host: "backend.netpol-lab.svc.cluster.local.", Port: port, Protocol: TCP}, deadDNS, false, DetailDNSFailed},
		{"IP needs no DNS", Target{Host: "127.0.0.1", Port: port, Protocol: TCP}, deadDNS, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Probe(context.Background(), []Target{tt.target}, time.Second, tt.dns)[0]
			if r.Allowed != tt.allowed || r.Detail != tt.detail {
				t.Fatalf("allowed=%v detail=%q (error %q), want allowed=%v detail=%q", r.Allowed, r.Detail, r.Error, tt.allowed, tt.detail)
			}
			if tt.allowed {
				if r.Addr != "127.0.0.1" {
					t.Errorf("addr %q, want the resolved 127.0.0.1", r.Addr)
				}
				want := fmt.Sprintf("netlab backend-0 %d/%s", port, tt.target.Protocol)
				if r.Reply != want {
					t.Errorf("reply %q, want %q", r.Reply, want)
				}
			} else if r.Addr != "" {
				t.Errorf("addr %q for a failed lookup, want none", r.Addr)
			}
		})
	}
}

func TestDNSAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10.96.0.10", "10.96.0.10:53"},
		{"127.0.0.1:5353", "127.0.0.1:5353"},
		{"fd00::10", "[fd00::10]:53"},
		{"[fd00::10]:5353", "[fd00::10]:5353"},
		{"kube-dns", "kube-dns:53"},
		{"kube-dns:5353", "kube-dns:5353"},
	}
	for _, tt := range tests {
		if got := dnsAddr(tt.in); got != tt.want {
			t.Errorf("dnsAddr(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestResultsJSON(t *testing.T) {
	in := []Result{
		{Target: Target{Host: "10.244.0.5", Port: 80, Protocol: TCP, Name: "x/b"}, Allowed: true, Millis: 0.42, Addr: "10.244.0.5", Reply: "netlab b 80/TCP"},
		{Target: Target{Host: "backend.x.svc.cluster.local", Port: 53, Protocol: UDP}, Detail: DetailDNSFailed, Millis: 1000.5, Error: "no such host"},
	}
	var buf bytes.Buffer
	if err := ProbeJSON(&buf, in); err != nil {
		t.Fatal(err)
	}
	out, err := ParseResults(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the results:\n got %+v\nwant %+v", out, in)
	}

	buf.Reset()
	if err := ProbeJSON(&buf, nil); err != nil || strings.TrimSpace(buf.String()) != "[]" {
		t.Fatalf("empty batch printed as %q, %v; want []", buf.String(), err)
	}

	for _, bad := range []string{"", "[", `{"allowed":true}`, "[] []", "[] trailing"} {
		if _, err := ParseResults(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseResults(%q) succeeded", bad)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Err: errors.New("x")}, "error: dial: x"},
		{fmt.Errorf("wrapped: %w", errSCTPUnsupported), DetailUnsupported},
		{context.DeadlineExceeded, DetailTimeout},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestAnswerProbesSharesDNSPort runs the DNS server on a socket wrapped by
// AnswerProbes, as the sandbox's kube-dns pod does on 53/UDP: a UDP probe
// gets the agent's banner while DNS queries on the same socket still work.
func TestAnswerProbesSharesDNSPort(t *testing.T) {
	var pc net.PacketConn
	var ln net.Listener
	for range 20 {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		pc = nil
	}
	if pc == nil {
		t.Fatal("no port free for both UDP and TCP")
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := dns.NewServer(dns.Records{"kube-dns.kube-system.svc.cluster.local.": {netip.MustParseAddr("127.0.0.1")}})
	go func() { done <- srv.Serve(ctx, AnswerProbes(pc, "kube-system/coredns", port), ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dns Serve: %v", err)
		}
	}()

	addr := pc.LocalAddr().String()
	results := Probe(context.Background(), []Target{
		{Host: "127.0.0.1", Port: port, Protocol: UDP},
		{Host: "kube-dns.kube-system.svc.cluster.local.", Port: port, Protocol: TCP},
	}, time.Second, addr)
	want := fmt.Sprintf("netlab kube-system/coredns %d/UDP", port)
	if r := results[0]; !r.Allowed || r.Reply != want {
		t.Errorf("UDP probe of the DNS port = %+v, want allowed with reply %q", r, want)
	}
	if r := results[1]; !r.Allowed || r.Addr != "127.0.0.1" {
		t.Errorf("lookup through the shared socket = %+v, want resolved and allowed", r)
	}
}
