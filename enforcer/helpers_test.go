//go:build linux

package enforcer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/netlab/netlab/internal/testenv"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// probeTimeout bounds every connection attempt; denied cells cost this much.
const probeTimeout = 300 * time.Millisecond

var (
	privOnce    sync.Once
	privProblem string
)

// requirePrivileged skips the test when it cannot run here (not root, no
// BPF), except in CI (CI=true), where a privileged test that cannot run is a
// failure rather than a silent pass.
func requirePrivileged(tb testing.TB) {
	tb.Helper()
	privOnce.Do(func() {
		if os.Geteuid() != 0 {
			privProblem = "not running as root"
			return
		}
		if err := features.HaveProgramType(ebpf.SchedCLS); err != nil {
			privProblem = fmt.Sprintf("BPF tc programs unavailable: %v", err)
		}
	})
	testenv.Require(tb, privProblem == "", privProblem)
}

// testPinDir returns a fresh pin directory for tb and removes whatever is
// pinned there when the test ends.
func testPinDir(tb testing.TB, cleanupNS netns.NsHandle) string {
	tb.Helper()
	name := regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(tb.Name(), "_")
	dir := filepath.Join(bpffsRoot, fmt.Sprintf("netlab-test-%d-%s", os.Getpid(), name))
	if err := Remove(dir); err != nil {
		tb.Fatalf("removing stale pins: %v", err)
	}
	tb.Cleanup(func() {
		var err error
		if cleanupNS.IsOpen() {
			err = inNS(cleanupNS, func() error { return Remove(dir) })
		} else {
			err = Remove(dir)
		}
		if err != nil {
			tb.Errorf("cleanup: %v", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			tb.Errorf("cleanup: %s still exists", dir)
		}
	})
	return dir
}

// inNS runs fn on a thread switched into ns. If switching back fails the
// thread stays locked, so the runtime discards it with the goroutine.
func inNS(ns netns.NsHandle, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("getting current netns: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering netns: %w", err)
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		return fmt.Errorf("leaving netns: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// newNS creates an anonymous network namespace, closed at test end (it then
// disappears with everything in it once no socket refers to it).
func newNS(tb testing.TB) netns.NsHandle {
	tb.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		tb.Fatalf("getting current netns: %v", err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if serr := netns.Set(orig); serr != nil {
		tb.Fatalf("leaving new netns: %v", serr) // thread stays locked and is discarded
	}
	runtime.UnlockOSThread()
	if err != nil {
		tb.Fatalf("creating netns: %v", err)
	}
	tb.Cleanup(func() { ns.Close() })
	return ns
}

// pod is a network namespace with eth0 on a veth whose other end (the
// host-side veth the enforcer attaches to) is on the topology's bridge.
type pod struct {
	name    string
	ns      netns.NsHandle
	addr    netip.Addr
	ifindex int // host-side veth, in the topology's host netns
}

// topo is a bridge in its own "host" network namespace with pods on it.
type topo struct {
	tb   testing.TB
	host netns.NsHandle
	pods map[string]*pod
}

// Ports every pod serves.
var (
	tcpPorts = []int{80, 81, 8000, 8001, 8002, 8003}
	udpPorts = []int{53, 5353}
)

// newTopo builds a bridge in a fresh netns and one pod per name=address
// pair, each serving TCP and UDP echo on tcpPorts and udpPorts.
func newTopo(tb testing.TB, pods ...string) *topo {
	tb.Helper()
	t := &topo{tb: tb, host: newNS(tb), pods: map[string]*pod{}}
	hh, err := netlink.NewHandleAt(t.host)
	if err != nil {
		tb.Fatalf("netlink handle: %v", err)
	}
	defer hh.Close()
	mustNL(tb, "lo up", setUp(hh, "lo"))
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}}
	mustNL(tb, "adding bridge", hh.LinkAdd(br))
	mustNL(tb, "bridge up", setUp(hh, "br0"))

	for _, spec := range pods {
		name, addr, ok := strings.Cut(spec, "=")
		if !ok {
			tb.Fatalf("pod spec %q: want name=address", spec)
		}
		p := &pod{name: name, ns: newNS(tb), addr: netip.MustParseAddr(addr)}
		hostName := "h-" + name
		veth := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: hostName, MasterIndex: br.Index},
			PeerName:      "eth0",
			PeerNamespace: netlink.NsFd(int(p.ns)),
		}
		mustNL(tb, "adding veth", hh.LinkAdd(veth))
		l, err := hh.LinkByName(hostName)
		mustNL(tb, "looking up veth", err)
		p.ifindex = l.Attrs().Index
		mustNL(tb, "veth up", hh.LinkSetUp(l))

		ph, err := netlink.NewHandleAt(p.ns)
		mustNL(tb, "pod netlink handle", err)
		eth, err := ph.LinkByName("eth0")
		mustNL(tb, "looking up eth0", err)
		ipnet := &net.IPNet{IP: p.addr.AsSlice(), Mask: net.CIDRMask(24, 32)}
		mustNL(tb, "adding address", ph.AddrAdd(eth, &netlink.Addr{IPNet: ipnet}))
		mustNL(tb, "eth0 up", ph.LinkSetUp(eth))
		mustNL(tb, "pod lo up", setUp(ph, "lo"))
		ph.Close()

		for _, port := range tcpPorts {
			p.serveTCP(tb, port)
		}
		for _, port := range udpPorts {
			p.serveUDP(tb, port)
		}
		t.pods[name] = p
	}
	return t
}

func setUp(h *netlink.Handle, name string) error {
	l, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	return h.LinkSetUp(l)
}

func mustNL(tb testing.TB, what string, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// inHost runs fn in the topology's host netns, where the veth ifindexes live.
func (t *topo) inHost(fn func() error) error { return inNS(t.host, fn) }

// attachAll attaches d to every pod's host-side veth.
func (t *topo) attachAll(d *Dataplane) {
	t.tb.Helper()
	err := t.inHost(func() error {
		for _, p := range t.pods {
			if err := d.Attach(p.ifindex); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.tb.Fatal(err)
	}
}

// serveTCP runs an echo server in the pod.
func (p *pod) serveTCP(tb testing.TB, port int) {
	p.serveTCPWith(tb, port, func(c net.Conn) { _, _ = io.Copy(c, c) })
}

// serveTCPWith accepts connections in the pod and hands each to handle.
// The listening socket belongs to the pod's netns even though it is served
// from any thread.
func (p *pod) serveTCPWith(tb testing.TB, port int, handle func(net.Conn)) {
	var ln net.Listener
	err := inNS(p.ns, func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf("%s:%d", p.addr, port))
		return err
	})
	if err != nil {
		tb.Fatalf("pod %s: listening on tcp/%d: %v", p.name, port, err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
}

// serveUDP runs a datagram echo server in the pod.
func (p *pod) serveUDP(tb testing.TB, port int) {
	var pc net.PacketConn
	err := inNS(p.ns, func() (err error) {
		pc, err = net.ListenPacket("udp4", fmt.Sprintf("%s:%d", p.addr, port))
		return err
	})
	if err != nil {
		tb.Fatalf("pod %s: listening on udp/%d: %v", p.name, port, err)
	}
	tb.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
}

// dialTCP connects from inside the pod.
func (p *pod) dialTCP(dst netip.Addr, port int) (net.Conn, error) {
	var c net.Conn
	err := inNS(p.ns, func() (err error) {
		d := net.Dialer{Timeout: probeTimeout}
		c, err = d.Dial("tcp4", netip.AddrPortFrom(dst, uint16(port)).String())
		return err
	})
	return c, err
}

// echo writes a message on c and reports whether it came back in time.
func echo(c net.Conn, msg string) error {
	if err := c.SetDeadline(time.Now().Add(probeTimeout)); err != nil {
		return err
	}
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return fmt.Errorf("echo mismatch: %q", buf)
	}
	return nil
}

// reach reports whether a TCP or UDP exchange from p to dst:port succeeds.
func (p *pod) reach(proto string, dst netip.Addr, port int) bool {
	switch proto {
	case "tcp":
		c, err := p.dialTCP(dst, port)
		if err != nil {
			return false
		}
		defer c.Close()
		return echo(c, "hello") == nil
	case "udp":
		var c net.Conn
		err := inNS(p.ns, func() (err error) {
			c, err = net.Dial("udp4", netip.AddrPortFrom(dst, uint16(port)).String())
			return err
		})
		if err != nil {
			return false
		}
		defer c.Close()
		return echo(c, "hello") == nil
	}
	panic("unknown proto " + proto)
}

// cell is one expected probe result.
type cell struct {
	from, to string
	proto    string
	port     int
	want     bool
}

func (c cell) String() string {
	verdict := "denied"
	if c.want {
		verdict = "allowed"
	}
	return fmt.Sprintf("%s -> %s %s/%d should be %s", c.from, c.to, c.proto, c.port, verdict)
}

// expect probes all cells concurrently and reports every mismatch.
func (t *topo) expect(cells ...cell) {
	t.tb.Helper()
	got := make([]bool, len(cells))
	var wg sync.WaitGroup
	for i, c := range cells {
		from, to := t.pods[c.from], t.pods[c.to]
		if from == nil || to == nil {
			t.tb.Fatalf("cell %v: unknown pod", c)
		}
		wg.Go(func() { got[i] = from.reach(c.proto, to.addr, c.port) })
	}
	wg.Wait()
	for i, c := range cells {
		if got[i] != c.want {
			t.tb.Errorf("%v, but it was not", c)
		}
	}
}
