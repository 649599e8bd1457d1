package agent

import (
	"bytes"
	"net"
)

// probePayload is what Probe sends in a UDP datagram.
var probePayload = []byte("probe\n")

// AnswerProbes wraps a UDP socket shared with another protocol (the DNS
// server on 53/UDP): datagrams that are the agent's probe get the agent's
// banner, everything else is passed on to the wrapped reader.
func AnswerProbes(conn net.PacketConn, pod string, port int) net.PacketConn {
	return &probeConn{PacketConn: conn, reply: []byte(banner(pod, port, UDP))}
}

type probeConn struct {
	net.PacketConn
	reply []byte
}

func (c *probeConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err == nil && bytes.Equal(b[:n], probePayload) {
			c.PacketConn.WriteTo(c.reply, addr)
			continue
		}
		return n, addr, err
	}
}
