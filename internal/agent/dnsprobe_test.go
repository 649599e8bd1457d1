package agent

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestUDPProbeOfADNSServer: a real DNS server ignores the probe payload
// (too short to be a DNS message) but answers a query, which is what a
// target with DNS set sends.
func TestUDPProbeOfADNSServer(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue // not a DNS message: a real server drops it
			}
			reply := append([]byte(nil), buf[:n]...)
			reply[2] |= 0x80 // QR: a response
			pc.WriteTo(reply, addr)
		}
	}()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	res := Probe(context.Background(), []Target{
		{Host: "127.0.0.1", Port: port, Protocol: UDP, DNS: true},
		{Host: "127.0.0.1", Port: port, Protocol: UDP},
	}, 300*time.Millisecond, "")
	if !res[0].Allowed || res[0].Reply != "dns reply" {
		t.Errorf("DNS query: %+v, want allowed with a DNS reply", res[0])
	}
	if res[1].Allowed || res[1].Detail != DetailTimeout {
		t.Errorf("probe payload to a DNS server: %+v, want timeout", res[1])
	}
}
