package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Result details. An empty Detail means the connection succeeded.
const (
	// DetailTimeout: nothing came back before the deadline. This is what a
	// dropped packet (a NetworkPolicy deny) looks like.
	DetailTimeout = "timeout"
	// DetailRefused: the packet reached the destination, whose kernel
	// answered that nothing listens there (TCP RST, ICMP port
	// unreachable, SCTP ABORT).
	DetailRefused = "refused"
	// DetailDNSFailed: the target's name could not be resolved, so no
	// connection was attempted.
	DetailDNSFailed = "dns-failed"
	// DetailUnsupported: the prober's kernel cannot speak the protocol
	// (SCTP without the sctp module). Such a cell was not measured.
	DetailUnsupported = "unsupported"
	// detailErrorPrefix starts the Detail of any other failure.
	detailErrorPrefix = "error: "
)

// DefaultTimeout is netlab's one probe timeout per connection: Probe's
// when given none, the backends' when given none, and the default of every
// --timeout flag. A blocked cell costs it once, as all cells are tried at
// once.
const DefaultTimeout = time.Second

// ProbePayload is the datagram a UDP probe sends. It is shorter than any
// DNS message (12 bytes at least), so a server can tell the two apart.
const ProbePayload = "probe\n"

// udpRetransmit is how often a UDP probe resends while waiting for a reply:
// a lost datagram must not turn an allowed cell into a timeout.
const udpRetransmit = 200 * time.Millisecond

// Target is one connection attempt.
type Target struct {
	Host     string `json:"host"`               // an IP address or a DNS name
	Port     int    `json:"port"`               // 1-65535
	Protocol string `json:"protocol,omitempty"` // "TCP" (default), "UDP" or "SCTP"
	Name     string `json:"name,omitempty"`     // the caller's label for the cell, e.g. "x/b"
	// DNS makes a UDP probe send a DNS query (for the root's NS records)
	// instead of ProbePayload, for destinations that are real DNS servers
	// rather than netlab agents (CoreDNS on kind); any DNS reply counts.
	DNS bool `json:"dns,omitempty"`
}

// dnsQuery asks for the root zone's NS records: the smallest query every
// DNS server answers (with data, REFUSED or SERVFAIL, all of them replies).
var dnsQuery = []byte{0x4e, 0x4c, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1}

// Result is the outcome of probing one Target.
type Result struct {
	Target  Target  `json:"target"`
	Allowed bool    `json:"allowed"`
	Detail  string  `json:"detail,omitempty"` // "" on success, or a Detail* value, or "error: ..."
	Millis  float64 `json:"millis"`           // time from start (including DNS) to the verdict
	Addr    string  `json:"addr,omitempty"`   // the IP connected to (resolved when Host is a name)
	Reply   string  `json:"reply,omitempty"`  // the first line the server sent, if any (the agent's banner)
	Error   string  `json:"error,omitempty"`  // the underlying error, for humans
}

// Probe tries every target concurrently and returns one Result per target,
// in the same order. Each target gets timeout for its DNS lookup (when Host
// is a name) and timeout for the connection attempt, so a whole batch takes
// about one timeout when everything is denied.
//
//   - TCP: allowed when the connection is established; the banner is read
//     with what is left of the deadline, but is not required.
//   - UDP: a connected socket sends ProbePayload every 200 ms until a reply
//     arrives (allowed) or the deadline passes (timeout); an ICMP port
//     unreachable makes it refused.
//   - SCTP: like TCP; when the kernel has no SCTP the result is
//     "unsupported", never allowed.
//
// Names are resolved by Go's own resolver (so search domains and ndots come
// from /etc/resolv.conf) sending every query to dnsServer ("IP" or
// "IP:port", port 53 by default); an empty dnsServer means the system's
// servers. A failed lookup is "dns-failed", distinct from a failed
// connection.
func Probe(ctx context.Context, targets []Target, timeout time.Duration, dnsServer string) []Result {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	r := newResolver(dnsServer, timeout)
	results := make([]Result, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { results[i] = probeOne(ctx, t, timeout, r) })
	}
	wg.Wait()
	return results
}

// dnsAddr turns "IP", "IP:port", "[v6]:port" or "v6" into host:port,
// defaulting the port to 53.
func dnsAddr(server string) string {
	if ap, err := netip.ParseAddrPort(server); err == nil {
		return ap.String()
	}
	if ip, err := netip.ParseAddr(server); err == nil {
		return netip.AddrPortFrom(ip, 53).String()
	}
	if _, _, err := net.SplitHostPort(server); err == nil {
		return server
	}
	return net.JoinHostPort(server, "53")
}

func newResolver(dnsServer string, timeout time.Duration) *net.Resolver {
	if dnsServer == "" {
		return &net.Resolver{PreferGo: true}
	}
	addr := dnsAddr(dnsServer)
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: timeout}
			return d.DialContext(ctx, network, addr)
		},
	}
}

func probeOne(ctx context.Context, t Target, timeout time.Duration, r *net.Resolver) (res Result) {
	start := time.Now()
	res.Target = t
	defer func() {
		res.Millis = float64(time.Since(start).Microseconds()) / 1000
	}()
	fail := func(detail string, err error) Result {
		res.Detail = detail
		if err != nil {
			res.Error = err.Error()
		}
		return res
	}

	proto, ok := normProtocol(t.Protocol)
	if !ok {
		return fail(detailErrorPrefix+fmt.Sprintf("unknown protocol %q", t.Protocol), nil)
	}
	if t.Port < 1 || t.Port > 65535 {
		return fail(detailErrorPrefix+fmt.Sprintf("port %d out of range", t.Port), nil)
	}
	if proto == SCTP {
		// Say "unsupported" rather than blame DNS or the network.
		if err := checkSCTP(); errors.Is(err, errSCTPUnsupported) {
			return fail(DetailUnsupported, err)
		}
	}

	ip, err := resolve(ctx, r, t.Host, timeout)
	if err != nil {
		return fail(DetailDNSFailed, err)
	}
	res.Addr = ip.String()

	deadline := time.Now().Add(timeout)
	addr := netip.AddrPortFrom(ip, uint16(t.Port)).String()
	var reply string
	switch proto {
	case TCP:
		reply, err = probeTCP(ctx, addr, deadline)
	case UDP:
		payload := []byte(ProbePayload)
		if t.DNS {
			payload = dnsQuery
		}
		reply, err = probeUDP(ctx, addr, payload, deadline)
		if err == nil && t.DNS {
			reply = "dns reply"
		}
	case SCTP:
		reply, err = dialSCTP(ctx, ip, t.Port, deadline)
	}
	if err != nil {
		return fail(classify(err), err)
	}
	res.Allowed = true
	res.Reply = strings.TrimSpace(reply)
	return res
}

// resolve returns Host itself when it is an IP, or its first IPv4 address
// (else its first address) when it is a name.
func resolve(ctx context.Context, r *net.Resolver, host string, timeout time.Duration) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return a.Unmap(), nil
		}
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("lookup %s: no addresses", host)
	}
	return addrs[0], nil
}

// classify maps a connection error to a Result detail.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errSCTPUnsupported):
		return DetailUnsupported
	case errors.Is(err, syscall.ECONNREFUSED):
		return DetailRefused
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return DetailTimeout
	default:
		return detailErrorPrefix + err.Error()
	}
}

// probeTCP connects and reads the banner until the deadline. A connection
// that is established counts even without a banner.
func probeTCP(ctx context.Context, addr string, deadline time.Time) (string, error) {
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	_ = conn.SetReadDeadline(deadline)
	line, _ := bufio.NewReader(io.LimitReader(conn, 256)).ReadString('\n')
	return line, nil
}

// probeUDP sends ProbePayload on a connected socket every udpRetransmit until
// a datagram comes back, the kernel reports ICMP port unreachable
// (ECONNREFUSED on a connected socket) or the deadline passes.
func probeUDP(ctx context.Context, addr string, payload []byte, deadline time.Time) (string, error) {
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	// Cancelling ctx must interrupt a pending Read.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 512)
	for {
		if _, err := conn.Write(payload); err != nil {
			return "", err
		}
		wait := time.Now().Add(udpRetransmit)
		if wait.After(deadline) {
			wait = deadline
		}
		if err := conn.SetReadDeadline(wait); err != nil {
			return "", err
		}
		n, err := conn.Read(buf)
		if err == nil {
			return string(buf[:n]), nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(deadline) {
			return "", err
		}
	}
}

// ProbeJSON writes one batch of results as a JSON array followed by a
// newline: what `netlab agent probe` prints on stdout for its source pod.
func ProbeJSON(w io.Writer, results []Result) error {
	if results == nil {
		results = []Result{}
	}
	if err := json.NewEncoder(w).Encode(results); err != nil {
		return fmt.Errorf("agent: writing probe results: %w", err)
	}
	return nil
}

// ParseResults reads one batch written by ProbeJSON. Anything but
// whitespace after the array is an error: it would mean the probe's output
// was mixed with something else.
func ParseResults(r io.Reader) ([]Result, error) {
	dec := json.NewDecoder(r)
	var results []Result
	if err := dec.Decode(&results); err != nil {
		return nil, fmt.Errorf("agent: parsing probe results: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("agent: parsing probe results: unexpected data after the results")
	}
	return results, nil
}
