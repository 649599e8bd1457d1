//go:build linux

package enforcer

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// throughputBytes is what one measurement sends over one TCP connection.
const throughputBytes = 512 << 20

// BenchmarkTCPThroughput measures one TCP stream between two pods on the
// bridge, alternating without the enforcer attached and with it attached
// (both pods isolated, the flow allowed by an egress rule of a and an
// ingress rule of b, so every packet takes the full lookup path plus
// conntrack). Target: the enforced rate within 5% of the bare one.
func BenchmarkTCPThroughput(b *testing.B) {
	requirePrivileged(b)
	tp := newTopo(b, "a=10.250.2.1", "b=10.250.2.2")
	const sinkPort = 5201
	pa, pb := tp.pods["a"], tp.pods["b"]
	pb.serveTCPWith(b, sinkPort, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })

	pinDir := testPinDir(b, tp.host)
	d, err := Open(pinDir)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	st := State{
		Endpoints: map[netip.Addr]EndpointInfo{
			pa.addr: {Identity: idA, IsolatedIngress: true, IsolatedEgress: true},
			pb.addr: {Identity: idB, IsolatedIngress: true, IsolatedEgress: true},
		},
		Rules: map[PolicyKey][]PortRange{
			{Subject: idA, Peer: idB, Dir: Egress, Proto: ProtoTCP}:  port(sinkPort),
			{Subject: idB, Peer: idA, Dir: Ingress, Proto: ProtoTCP}: port(sinkPort),
		},
	}
	if _, err := d.Sync(st); err != nil {
		b.Fatal(err)
	}
	attach := func(on bool) {
		err := tp.inHost(func() error {
			for _, p := range []*pod{pa, pb} {
				var err error
				if on {
					err = d.Attach(p.ifindex)
				} else {
					err = d.Detach(p.ifindex)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	var bare, enforced time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate which goes first, so neither gains from a warmer
		// cache or a quieter moment.
		for _, on := range [][]bool{{false, true}, {true, false}}[i%2] {
			attach(on)
			d := pa.send(b, pb, sinkPort, throughputBytes)
			if on {
				enforced += d
			} else {
				bare += d
			}
		}
	}
	b.StopTimer()
	gbps := func(d time.Duration) float64 {
		return float64(throughputBytes) * 8 * float64(b.N) / d.Seconds() / 1e9
	}
	b.ReportMetric(gbps(bare), "bare-Gbit/s")
	b.ReportMetric(gbps(enforced), "enforced-Gbit/s")
	b.ReportMetric(100*(1-gbps(enforced)/gbps(bare)), "overhead-%")
	c, err := d.Counters()
	if err != nil {
		b.Fatal(err)
	}
	if c.Denied != 0 || c.AllowedNew == 0 {
		b.Fatalf("the enforcer did not judge the transfer as expected: %+v", c)
	}
}

// send writes n bytes from p to dst's sink and returns how long it took
// (until the sender's close, by which time the kernel has taken every
// byte).
func (p *pod) send(tb testing.TB, dst *pod, port, n int) time.Duration {
	tb.Helper()
	c, err := p.dialTCP(dst.addr, port)
	if err != nil {
		tb.Fatalf("connecting %s -> %s:%d: %v", p.name, dst.name, port, err)
	}
	buf := make([]byte, 1<<20)
	start := time.Now()
	for sent := 0; sent < n; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			tb.Fatalf("sending: %v", err)
		}
	}
	if err := c.Close(); err != nil {
		tb.Fatalf("closing: %v", err)
	}
	return time.Since(start)
}
