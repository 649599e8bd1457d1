// Package dns is the sandbox's kube-dns: a tiny authoritative DNS server
// that answers A (and AAAA) queries for the names of a lab's services and
// pods, so that probes addressed by name behave as they do in a cluster.
//
// The server knows only its Records. It answers NXDOMAIN for unknown names
// under ClusterDomain and REFUSED for anything else it is not authoritative
// for; it never recurses. Search-path expansion ("backend" ->
// "backend.netpol-lab.svc.cluster.local.") is the client's job, as it is in
// Kubernetes, where it is driven by the pod's resolv.conf.
package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// ClusterDomain is the zone the server is authoritative for: unknown names
// under it get NXDOMAIN rather than REFUSED.
const ClusterDomain = "cluster.local."

// TTL is the time to live of every answer, in seconds. It is short because
// lab worlds change (pods are relabelled, services recreated) while clients
// may cache.
const TTL = 5

const (
	minUDPSize     = 512              // RFC 1035 limit without EDNS(0)
	ednsSize       = 1232             // payload size the server advertises
	tcpIdleTimeout = 10 * time.Second // how long a TCP client may stay silent
)

// Records maps fully-qualified, lower-case names with a trailing dot (for
// example "backend.netpol-lab.svc.cluster.local.") to their addresses. IPv4
// addresses answer A queries and IPv6 addresses AAAA queries.
type Records map[string][]netip.Addr

// normalize returns a copy of r whose names are lower-case and end with a
// dot, so that lookups do not depend on how the caller spelled them.
func (r Records) normalize() Records {
	out := make(Records, len(r))
	for name, addrs := range r {
		n := canonical(name)
		out[n] = append(out[n], addrs...)
	}
	return out
}

// canonical lower-cases a name and makes it fully qualified.
func canonical(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	if !strings.HasSuffix(n, ".") {
		n += "."
	}
	return n
}

// Server answers DNS queries from a set of Records that can be replaced
// while it serves. The zero value is not usable; use NewServer.
type Server struct {
	records atomic.Pointer[Records]
}

// NewServer returns a server answering from records. The map is copied.
func NewServer(records Records) *Server {
	s := &Server{}
	s.Set(records)
	return s
}

// Set replaces the records atomically: every query is answered entirely
// from either the old or the new set. It is safe to call while serving.
// The map is copied, so the caller may keep modifying it.
func (s *Server) Set(records Records) {
	r := records.normalize()
	s.records.Store(&r)
}

// Serve answers queries arriving on udp and on connections accepted from
// tcp (either may be nil, not both) until ctx is done. TCP messages carry
// the RFC 1035 two-byte length prefix and a connection may carry several
// queries. Serve closes udp and tcp when it returns. It returns nil when
// ctx is done, or the first error that stops one of the two sockets.
func (s *Server) Serve(ctx context.Context, udp net.PacketConn, tcp net.Listener) error {
	if udp == nil && tcp == nil {
		return errors.New("dns: Serve needs a UDP or a TCP socket")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Closing the sockets is what unblocks ReadFrom and Accept.
	stop := context.AfterFunc(ctx, func() {
		if udp != nil {
			udp.Close()
		}
		if tcp != nil {
			tcp.Close()
		}
	})
	defer stop()

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		if err == nil || ctx.Err() != nil {
			return
		}
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	if udp != nil {
		wg.Go(func() { fail(s.serveUDP(udp)) })
	}
	if tcp != nil {
		wg.Go(func() { fail(s.serveTCP(ctx, tcp)) })
	}
	wg.Wait()
	// Both sockets are closed even when Serve stops on an error; closing
	// twice is harmless.
	if udp != nil {
		udp.Close()
	}
	if tcp != nil {
		tcp.Close()
	}
	return firstErr
}

func (s *Server) serveUDP(conn net.PacketConn) error {
	buf := make([]byte, 65535)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			return fmt.Errorf("dns: reading UDP query: %w", err)
		}
		resp := s.answer(buf[:n], true)
		if resp == nil {
			continue
		}
		// A client that went away is not the server's problem.
		_, _ = conn.WriteTo(resp, addr)
	}
}

func (s *Server) serveTCP(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("dns: accepting TCP connection: %w", err)
		}
		wg.Go(func() {
			// Close the connection on shutdown so Serve does not wait
			// for idle clients.
			stop := context.AfterFunc(ctx, func() { conn.Close() })
			defer stop()
			defer conn.Close()
			s.serveTCPConn(conn)
		})
	}
}

// serveTCPConn answers length-prefixed queries until the client closes the
// connection, stays idle too long or sends garbage.
func (s *Server) serveTCPConn(conn net.Conn) {
	var lenbuf [2]byte
	for {
		if err := conn.SetDeadline(time.Now().Add(tcpIdleTimeout)); err != nil {
			return
		}
		if _, err := io.ReadFull(conn, lenbuf[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(lenbuf[:]))
		if _, err := io.ReadFull(conn, msg); err != nil {
			return
		}
		resp := s.answer(msg, false)
		if resp == nil {
			return
		}
		out := make([]byte, 2+len(resp))
		binary.BigEndian.PutUint16(out, uint16(len(resp)))
		copy(out[2:], resp)
		if _, err := conn.Write(out); err != nil {
			return
		}
	}
}

// answer builds the response to one query message, or returns nil when the
// message is not a query worth answering (unparseable header, a response).
// For UDP the response is truncated (TC set, no answers) when it does not
// fit the client's advertised payload size.
func (s *Server) answer(query []byte, udp bool) []byte {
	var p dnsmessage.Parser
	qh, err := p.Start(query)
	if err != nil || qh.Response {
		return nil
	}
	rh := dnsmessage.Header{
		ID:               qh.ID,
		Response:         true,
		OpCode:           qh.OpCode,
		Authoritative:    true,
		RecursionDesired: qh.RecursionDesired,
	}
	q, err := p.Question()
	if err != nil {
		rh.RCode = dnsmessage.RCodeFormatError
		return build(rh, nil, nil, false)
	}
	// Look for an EDNS(0) OPT record: it raises the UDP size limit and asks
	// for an OPT record in the response.
	edns, limit := false, minUDPSize
	if p.SkipAllQuestions() == nil && p.SkipAllAnswers() == nil && p.SkipAllAuthorities() == nil {
		for {
			h, err := p.AdditionalHeader()
			if err != nil {
				break
			}
			if h.Type == dnsmessage.TypeOPT {
				edns = true
				limit = max(limit, int(h.Class))
			}
			if p.SkipAdditional() != nil {
				break
			}
		}
	}
	if qh.OpCode != 0 {
		rh.RCode = dnsmessage.RCodeNotImplemented
		return build(rh, &q, nil, edns)
	}
	var answers []netip.Addr
	rh.RCode, answers = s.lookup(q)
	resp := build(rh, &q, answers, edns)
	if udp && len(resp) > limit {
		rh.Truncated = true
		resp = build(rh, &q, nil, edns)
	}
	return resp
}

// lookup decides the response code and the addresses answering q.
func (s *Server) lookup(q dnsmessage.Question) (dnsmessage.RCode, []netip.Addr) {
	if q.Class != dnsmessage.ClassINET && q.Class != dnsmessage.ClassANY {
		return dnsmessage.RCodeRefused, nil
	}
	name := canonical(q.Name.String())
	records := *s.records.Load()
	if addrs, ok := records[name]; ok {
		var out []netip.Addr
		for _, a := range addrs {
			a = a.Unmap()
			switch {
			case a.Is4() && (q.Type == dnsmessage.TypeA || q.Type == dnsmessage.TypeALL):
				out = append(out, a)
			case a.Is6() && (q.Type == dnsmessage.TypeAAAA || q.Type == dnsmessage.TypeALL):
				out = append(out, a)
			}
		}
		// Known name, maybe no address of the asked type: NOERROR/NODATA.
		return dnsmessage.RCodeSuccess, out
	}
	for known := range records {
		if strings.HasSuffix(known, "."+name) {
			// An empty non-terminal such as "svc.cluster.local.": the
			// name exists because names below it do.
			return dnsmessage.RCodeSuccess, nil
		}
	}
	if name == ClusterDomain || strings.HasSuffix(name, "."+ClusterDomain) {
		return dnsmessage.RCodeNameError, nil
	}
	return dnsmessage.RCodeRefused, nil
}

// build packs a response. It cannot fail for the messages the server
// makes; if it ever does, the client gets SERVFAIL rather than silence.
func build(h dnsmessage.Header, q *dnsmessage.Question, answers []netip.Addr, edns bool) []byte {
	msg, err := pack(h, q, answers, edns)
	if err != nil {
		h.RCode = dnsmessage.RCodeServerFailure
		if msg, err = pack(h, nil, nil, false); err != nil {
			return nil
		}
	}
	return msg
}

func pack(h dnsmessage.Header, q *dnsmessage.Question, answers []netip.Addr, edns bool) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), h)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if q != nil {
		if err := b.Question(*q); err != nil {
			return nil, err
		}
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	for _, a := range answers {
		rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: TTL}
		var err error
		if a.Is4() {
			rh.Type = dnsmessage.TypeA
			err = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
		} else {
			rh.Type = dnsmessage.TypeAAAA
			err = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return nil, err
		}
	}
	if edns {
		if err := b.StartAdditionals(); err != nil {
			return nil, err
		}
		var rh dnsmessage.ResourceHeader
		if err := rh.SetEDNS0(ednsSize, dnsmessage.RCodeSuccess, false); err != nil {
			return nil, err
		}
		if err := b.OPTResource(rh, dnsmessage.OPTResource{}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}
