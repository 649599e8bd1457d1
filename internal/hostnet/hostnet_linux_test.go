package hostnet

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/testenv"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// testPrefix returns a name prefix unique to this run ("nlt" + 4 hex
// digits) so that parallel runs and leftovers of other runs do not collide.
func testPrefix(t *testing.T) string {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(1<<16))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("nlt%04x", n.Int64())
}

// freeSubnet returns a /24 in 10.250.0.0/16 that no host route overlaps.
func freeSubnet(t *testing.T) netip.Prefix {
	t.Helper()
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		n, err := rand.Int(rand.Reader, big.NewInt(256))
		if err != nil {
			t.Fatal(err)
		}
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 250, byte(n.Int64()), 0}), 24)
		clash := false
		for _, r := range routes {
			if rp, ok := prefixOf(r.Dst); ok && rp.Bits() > 0 && rp.Overlaps(p) {
				clash = true
			}
		}
		if !clash {
			return p
		}
	}
	t.Fatal("no free /24 in 10.250.0.0/16")
	return netip.Prefix{}
}

func hostAddr(p netip.Prefix, last byte, bits int) netip.Prefix {
	a := p.Addr().As4()
	a[3] = last
	return netip.PrefixFrom(netip.AddrFrom4(a), bits)
}

// iptablesHas checks the rule independently of the package's own helper.
func iptablesHas(t *testing.T, bridge string) bool {
	t.Helper()
	err := exec.Command("iptables", "-w", "5", "-C", "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT").Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return false
	default:
		t.Fatalf("iptables -C: %v", err)
		return false
	}
}

// TestPodsOnBridge builds a bridge with two pods, checks their wiring and
// that they reach each other over TCP, tears everything down and checks
// nothing is left.
func TestPodsOnBridge(t *testing.T) {
	testenv.RequireRoot(t)
	prefix := testPrefix(t)
	subnet := freeSubnet(t)
	brName := prefix + "-br"
	gw := hostAddr(subnet, 1, 24)
	type pod struct {
		ns, veth string
		ip       netip.Prefix
	}
	a := pod{prefix + "-a", prefix + "-a", hostAddr(subnet, 10, 24)}
	b := pod{prefix + "-b", prefix + "-b", hostAddr(subnet, 11, 24)}

	forwardAdded := false
	t.Cleanup(func() {
		for _, p := range []pod{a, b} {
			if err := DeletePod(p.ns, p.veth); err != nil {
				t.Error(err)
			}
		}
		if err := DeleteBridge(brName); err != nil {
			t.Error(err)
		}
		if forwardAdded {
			if err := RemoveForwardAccept(brName); err != nil {
				t.Error(err)
			}
		}
		left, err := Leftovers(prefix)
		if err != nil {
			t.Error(err)
		}
		if len(left) > 0 {
			t.Errorf("leftovers after teardown:\n%s", strings.Join(left, "\n"))
		}
	})

	br, err := CreateBridge(brName, gw)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := CreateBridge(brName, gw); err != nil || again.Index != br.Index {
		t.Fatalf("CreateBridge again = %+v, %v; want the same bridge (index %d)", again, err, br.Index)
	}
	if _, err := CreateBridge(brName, hostAddr(subnet, 2, 24)); err == nil {
		t.Fatal("CreateBridge with another address succeeded")
	}

	forwardAdded, err = EnsureForwardAccept(brName)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("EnsureForwardAccept added a rule: %v", forwardAdded)
	if _, lookErr := exec.LookPath("iptables"); lookErr == nil {
		if !iptablesHas(t, brName) {
			t.Fatal("FORWARD ACCEPT rule missing after EnsureForwardAccept")
		}
		if again, err := EnsureForwardAccept(brName); err != nil || again {
			t.Fatalf("EnsureForwardAccept again = %v, %v; want false, nil", again, err)
		}
	}

	for _, p := range []pod{a, b} {
		idx, err := CreatePod(p.ns, brName, p.veth, p.ip, gw.Addr())
		if err != nil {
			t.Fatal(err)
		}
		host, err := netlink.LinkByName(p.veth)
		if err != nil {
			t.Fatal(err)
		}
		if host.Attrs().Index != idx || host.Attrs().MasterIndex != br.Index || host.Attrs().Flags&net.FlagUp == 0 {
			t.Fatalf("host veth %s: index %d master %d flags %v; want index %d, master %d, up",
				p.veth, host.Attrs().Index, host.Attrs().MasterIndex, host.Attrs().Flags, idx, br.Index)
		}
	}

	t.Run("already exists", func(t *testing.T) {
		_, err := CreatePod(a.ns, brName, prefix+"-z", hostAddr(subnet, 20, 24), gw.Addr())
		if err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("CreatePod on an existing namespace = %v, want an 'already exists' error", err)
		}
		_, err = CreatePod(prefix+"-z", brName, a.veth, hostAddr(subnet, 20, 24), gw.Addr())
		if err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("CreatePod with an existing veth = %v, want an 'already exists' error", err)
		}
		// Neither failure may leave anything behind or break pod a.
		if _, err := os.Stat(netnsDir + "/" + prefix + "-z"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("failed CreatePod left namespace %s-z", prefix)
		}
		if _, err := netlink.LinkByName(a.veth); err != nil {
			t.Errorf("failed CreatePod broke %s: %v", a.veth, err)
		}
	})

	t.Run("invalid arguments", func(t *testing.T) {
		tests := []struct {
			name          string
			ns, veth      string
			ip            netip.Prefix
			gw            netip.Addr
			bridge        string
			wantInMessage string
		}{
			{"veth name too long", prefix + "-y", "this-name-is-too-long", hostAddr(subnet, 30, 24), gw.Addr(), brName, "at most 15"},
			{"gateway outside subnet", prefix + "-y", prefix + "-y", hostAddr(subnet, 30, 24), netip.MustParseAddr("192.0.2.1"), brName, "not in the pod's subnet"},
			{"no such bridge", prefix + "-y", prefix + "-y", hostAddr(subnet, 30, 24), gw.Addr(), prefix + "-nobr", "bridge"},
			{"namespace with a slash", "a/b", prefix + "-y", hostAddr(subnet, 30, 24), gw.Addr(), brName, "invalid network namespace name"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := CreatePod(tt.ns, tt.bridge, tt.veth, tt.ip, tt.gw)
				if err == nil || !strings.Contains(err.Error(), tt.wantInMessage) {
					t.Fatalf("CreatePod = %v, want an error mentioning %q", err, tt.wantInMessage)
				}
			})
		}
		if left, _ := Leftovers(prefix + "-y"); len(left) > 0 {
			t.Errorf("failed CreatePod left %v", left)
		}
	})

	t.Run("namespace wiring", func(t *testing.T) {
		err := InNamespace(a.ns, func() error {
			if _, err := netlink.LinkByName(a.veth); err == nil {
				return fmt.Errorf("host veth %s visible inside the pod: InNamespace did not switch", a.veth)
			}
			for _, name := range []string{"lo", "eth0"} {
				l, err := netlink.LinkByName(name)
				if err != nil {
					return err
				}
				if l.Attrs().Flags&net.FlagUp == 0 {
					return fmt.Errorf("%s is down", name)
				}
			}
			eth0, _ := netlink.LinkByName("eth0")
			addrs, err := netlink.AddrList(eth0, netlink.FAMILY_V4)
			if err != nil {
				return err
			}
			if len(addrs) != 1 || addrs[0].IPNet.String() != a.ip.String() {
				return fmt.Errorf("eth0 addresses %v, want %v", addrs, a.ip)
			}
			routes, err := netlink.RouteList(eth0, netlink.FAMILY_V4)
			if err != nil {
				return err
			}
			for _, r := range routes {
				if (r.Dst == nil || r.Dst.IP.IsUnspecified()) && r.Gw.Equal(gw.Addr().AsSlice()) {
					return nil
				}
			}
			return fmt.Errorf("no default route via %v in %v", gw.Addr(), routes)
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ip netns exec", func(t *testing.T) {
		if _, err := exec.LookPath("ip"); err != nil {
			t.Skip("no ip command")
		}
		out, err := exec.Command("ip", "netns", "exec", b.ns, "ip", "-o", "-4", "addr", "show", "dev", "eth0").CombinedOutput()
		if err != nil {
			t.Fatalf("ip netns exec %s: %v: %s", b.ns, err, out)
		}
		if !strings.Contains(string(out), b.ip.String()) {
			t.Fatalf("ip netns exec %s shows %q, want %v on eth0", b.ns, out, b.ip)
		}
	})

	t.Run("TCP between pods", func(t *testing.T) {
		var ln net.Listener
		err := InNamespace(a.ns, func() error {
			var err error
			ln, err = net.Listen("tcp", netip.AddrPortFrom(a.ip.Addr(), 8080).String())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				fmt.Fprintf(c, "hello from %s\n", a.ns)
				c.Close()
			}
		}()

		dial := func(port uint16) (string, error) {
			var line string
			err := InNamespace(b.ns, func() error {
				// A single literal address: the dial happens on this
				// goroutine, hence on the switched thread.
				c, err := net.DialTimeout("tcp", netip.AddrPortFrom(a.ip.Addr(), port).String(), 3*time.Second)
				if err != nil {
					return err
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(3 * time.Second))
				line, err = bufio.NewReader(c).ReadString('\n')
				return err
			})
			return strings.TrimSpace(line), err
		}
		got, err := dial(8080)
		if err != nil || got != "hello from "+a.ns {
			t.Fatalf("b -> a:8080 = %q, %v; want %q", got, err, "hello from "+a.ns)
		}
		// A closed port is refused, not timed out: the packets really
		// cross the bridge and a's kernel answers.
		if _, err := dial(8081); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("b -> a:8081 = %v, want connection refused", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		for _, p := range []pod{a, b} {
			if err := DeletePod(p.ns, p.veth); err != nil {
				t.Fatal(err)
			}
			if err := DeletePod(p.ns, p.veth); err != nil {
				t.Fatalf("second DeletePod: %v", err)
			}
			if err := InNamespace(p.ns, func() error { return nil }); err == nil {
				t.Fatalf("InNamespace(%s) succeeded after DeletePod", p.ns)
			}
		}
		if err := DeleteBridge(brName); err != nil {
			t.Fatal(err)
		}
		if err := DeleteBridge(brName); err != nil {
			t.Fatalf("second DeleteBridge: %v", err)
		}
		if forwardAdded {
			if err := RemoveForwardAccept(brName); err != nil {
				t.Fatal(err)
			}
			if iptablesHas(t, brName) {
				t.Fatal("FORWARD rule still there after RemoveForwardAccept")
			}
		}
		left, err := Leftovers(prefix)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) > 0 {
			t.Fatalf("leftovers:\n%s", strings.Join(left, "\n"))
		}
	})
}

// TestInNamespaceRestores checks that the calling thread is back in its
// original namespace after InNamespace, including after fn panics.
func TestInNamespaceRestores(t *testing.T) {
	testenv.RequireRoot(t)
	prefix := testPrefix(t)
	subnet := freeSubnet(t)
	brName, ns, veth := prefix+"-br", prefix+"-p", prefix+"-p"
	t.Cleanup(func() {
		if err := DeletePod(ns, veth); err != nil {
			t.Error(err)
		}
		if err := DeleteBridge(brName); err != nil {
			t.Error(err)
		}
		if left, _ := Leftovers(prefix); len(left) > 0 {
			t.Errorf("leftovers: %v", left)
		}
	})
	gw := hostAddr(subnet, 1, 24)
	if _, err := CreateBridge(brName, gw); err != nil {
		t.Fatal(err)
	}
	if _, err := CreatePod(ns, brName, veth, hostAddr(subnet, 10, 24), gw.Addr()); err != nil {
		t.Fatal(err)
	}

	// Lock first, so the thread observed before and after is the same one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	target, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()

	var inside netns.NsHandle
	err = InNamespace(ns, func() error {
		var err error
		inside, err = netns.Get()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer inside.Close()
	if !inside.Equal(target) {
		t.Fatal("fn did not run in the pod's namespace")
	}
	assertNS := func(when string) {
		now, err := netns.Get()
		if err != nil {
			t.Fatal(err)
		}
		defer now.Close()
		if !now.Equal(before) {
			t.Fatalf("%s: thread left in namespace %v, want %v", when, now, before)
		}
	}
	assertNS("after InNamespace")

	wantErr := errors.New("boom")
	if err := InNamespace(ns, func() error { return wantErr }); !errors.Is(err, wantErr) {
		t.Fatalf("InNamespace returned %v, want fn's error", err)
	}
	assertNS("after fn failed")

	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic in fn was swallowed")
			}
		}()
		InNamespace(ns, func() error { panic("boom") })
	}()
	assertNS("after fn panicked")

	if err := InNamespace(prefix+"-missing", func() error { return nil }); err == nil {
		t.Fatal("InNamespace on a missing namespace succeeded")
	}
}

// TestForwardAcceptWithoutIPTables hides iptables from PATH: the call must
// be a no-op when bridged traffic bypasses iptables, and an error when it
// does not, since pods could then not talk.
func TestForwardAcceptWithoutIPTables(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	added, err := EnsureForwardAccept("nlt-nothing")
	_, call := bridgeNetfilter()
	switch {
	case call && err == nil:
		t.Fatal("no error although br_netfilter sends bridged traffic to iptables and iptables is missing")
	case !call && (err != nil || added):
		t.Fatalf("EnsureForwardAccept = %v, %v; want false, nil when bridged traffic bypasses iptables", added, err)
	}
	if err := RemoveForwardAccept("nlt-nothing"); err != nil {
		t.Fatalf("RemoveForwardAccept without iptables: %v", err)
	}
}

func TestForwardingDiagnosis(t *testing.T) {
	testenv.RequireRoot(t) // reading iptables needs root
	lines := ForwardingDiagnosis()
	for _, l := range lines {
		t.Log(l)
	}
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "br_netfilter: ") || !strings.HasPrefix(lines[len(lines)-1], "verdict: ") {
		t.Fatalf("diagnosis should start with br_netfilter and end with a verdict: %q", lines)
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"nl-lab", true},
		{"123456789012345", true},
		{"1234567890123456", false},
		{"", false},
		{"a/b", false},
		{"a b", false},
	}
	for _, tt := range tests {
		if err := checkIfName(tt.name); (err == nil) != tt.ok {
			t.Errorf("checkIfName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	if !mentions("-A FORWARD -i nlt12-br -o nlt12-br -j ACCEPT", "nlt12") || mentions("-A FORWARD -i docker0 -j ACCEPT", "nlt12") {
		t.Error("mentions matches the wrong rules")
	}
}

// TestForwardAcceptUnderDockerPolicy reproduces, inside a throwaway
// "host" namespace, what Docker does to a host (FORWARD policy DROP with
// br_netfilter on) and checks that pod-to-pod traffic on the bridge is
// dropped without netlab's rule and flows with it. Building the lab inside
// that namespace also checks that every function acts on the calling
// thread's namespace.
func TestForwardAcceptUnderDockerPolicy(t *testing.T) {
	testenv.RequireRoot(t)
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("no iptables command")
	}
	prefix := testPrefix(t)
	hostNS := prefix + "-host"
	h, err := createNamedNS(hostNS)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	a := struct{ ns, veth string }{prefix + "-a", prefix + "-a"}
	b := struct{ ns, veth string }{prefix + "-b", prefix + "-b"}
	t.Cleanup(func() {
		// Pods' namespaces are pinned under /run/netns; their host veths
		// and the bridge live in hostNS and go away with it.
		for _, ns := range []string{a.ns, b.ns, hostNS} {
			if err := DeletePod(ns, ""); err != nil {
				t.Error(err)
			}
		}
		if left, _ := Leftovers(prefix); len(left) > 0 {
			t.Errorf("leftovers: %v", left)
		}
	})

	err = InNamespace(hostNS, func() error {
		if _, call := bridgeNetfilter(); !call {
			t.Skip("bridged traffic bypasses iptables in a new namespace here: nothing to reproduce")
		}
		if out, err := exec.Command("iptables", "-w", "5", "-P", "FORWARD", "DROP").CombinedOutput(); err != nil {
			return fmt.Errorf("iptables -P FORWARD DROP: %v: %s", err, out)
		}
		subnet := netip.MustParsePrefix("10.250.0.0/24") // private to hostNS
		gw := hostAddr(subnet, 1, 24)
		br, err := CreateBridge(prefix+"-br", gw)
		if err != nil {
			return err
		}
		// A second address (the sandbox adds the internet's gateway) must
		// not break idempotency.
		link, err := netlink.LinkByIndex(br.Index)
		if err != nil {
			return err
		}
		if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("10.250.1.1/24"))}); err != nil {
			return err
		}
		if _, err := CreateBridge(prefix+"-br", gw); err != nil {
			return fmt.Errorf("CreateBridge on a bridge with an extra address: %w", err)
		}
		aIP, bIP := hostAddr(subnet, 10, 24), hostAddr(subnet, 11, 24)
		if _, err := CreatePod(a.ns, prefix+"-br", a.veth, aIP, gw.Addr()); err != nil {
			return err
		}
		if _, err := CreatePod(b.ns, prefix+"-br", b.veth, bIP, gw.Addr()); err != nil {
			return err
		}
		var ln net.Listener
		if err := InNamespace(a.ns, func() error {
			var err error
			ln, err = net.Listen("tcp", netip.AddrPortFrom(aIP.Addr(), 8080).String())
			return err
		}); err != nil {
			return err
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		dial := func() error {
			return InNamespace(b.ns, func() error {
				c, err := net.DialTimeout("tcp", netip.AddrPortFrom(aIP.Addr(), 8080).String(), 700*time.Millisecond)
				if err == nil {
					c.Close()
				}
				return err
			})
		}
		var ne net.Error
		if err := dial(); !errors.As(err, &ne) || !ne.Timeout() {
			return fmt.Errorf("with FORWARD policy DROP and no rule: dial = %v, want a timeout (silent drop)", err)
		}
		added, err := EnsureForwardAccept(prefix + "-br")
		if err != nil {
			return err
		}
		if !added {
			return errors.New("EnsureForwardAccept added no rule under a DROP policy")
		}
		if diag := strings.Join(ForwardingDiagnosis(), "\n"); !strings.Contains(diag, "FORWARD policy DROP") {
			return fmt.Errorf("diagnosis does not report the DROP policy:\n%s", diag)
		}
		if err := dial(); err != nil {
			return fmt.Errorf("with netlab's ACCEPT rule: dial = %v, want success", err)
		}
		if err := RemoveForwardAccept(prefix + "-br"); err != nil {
			return err
		}
		if err := dial(); !errors.As(err, &ne) || !ne.Timeout() {
			return fmt.Errorf("after RemoveForwardAccept: dial = %v, want a timeout again", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
