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

// subnet is the pods' network in the tests: private to their node
// namespace, so it never clashes with the host's routes.
var subnet = netip.MustParsePrefix("10.250.0.0/24")

// nodeNamespace makes a throwaway "node" network namespace, as the sandbox
// does for a lab, so that the bridge and the host veths never touch the
// host's own network (and Docker's FORWARD policy never applies).
func nodeNamespace(t *testing.T, name string) {
	t.Helper()
	h, err := createNamedNS(name)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
}

// leftovers lists the named network namespaces and host links whose
// names start with prefix.
func leftovers(t *testing.T, prefix string) []string {
	t.Helper()
	var out []string
	entries, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, "netns "+e.Name())
		}
	}
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, prefix) {
			out = append(out, "link "+l.Attrs().Name)
		}
	}
	return out
}

func hostAddr(p netip.Prefix, last byte, bits int) netip.Prefix {
	a := p.Addr().As4()
	a[3] = last
	return netip.PrefixFrom(netip.AddrFrom4(a), bits)
}

// TestPodsOnBridge builds, inside a throwaway node namespace as the
// sandbox does, a bridge with two pods, checks their wiring and that they
// reach each other over TCP, tears everything down and checks nothing is
// left.
func TestPodsOnBridge(t *testing.T) {
	testenv.RequireRoot(t)
	prefix := testPrefix(t)
	node := prefix + "-node"
	brName := prefix + "-br"
	gw := hostAddr(subnet, 1, 24)
	type pod struct {
		ns, veth string
		ip       netip.Prefix
	}
	a := pod{prefix + "-a", prefix + "-a", hostAddr(subnet, 10, 24)}
	b := pod{prefix + "-b", prefix + "-b", hostAddr(subnet, 11, 24)}

	nodeNamespace(t, node)
	t.Cleanup(func() {
		// The bridge and the host veths live in the node namespace and
		// go away with it.
		for _, ns := range []string{a.ns, b.ns, node} {
			if err := DeletePod(ns, ""); err != nil {
				t.Error(err)
			}
		}
		if left := leftovers(t, prefix); len(left) > 0 {
			t.Errorf("leftovers after teardown:\n%s", strings.Join(left, "\n"))
		}
	})
	// inNode runs fn in the node namespace and fails the test on its error.
	inNode := func(fn func() error) {
		t.Helper()
		if err := InNamespace(node, fn); err != nil {
			t.Fatal(err)
		}
	}

	var br *Bridge
	inNode(func() error {
		var err error
		if br, err = CreateBridge(brName, gw); err != nil {
			return err
		}
		if again, err := CreateBridge(brName, gw); err != nil || again.Index != br.Index {
			return fmt.Errorf("CreateBridge again = %+v, %v; want the same bridge (index %d)", again, err, br.Index)
		}
		if _, err := CreateBridge(brName, hostAddr(subnet, 2, 24)); err == nil {
			return errors.New("CreateBridge with another address succeeded")
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
		if _, err := CreateBridge(brName, gw); err != nil {
			return fmt.Errorf("CreateBridge on a bridge with an extra address: %w", err)
		}

		for _, p := range []pod{a, b} {
			idx, err := CreatePod(p.ns, brName, p.veth, p.ip, gw.Addr())
			if err != nil {
				return err
			}
			host, err := netlink.LinkByName(p.veth)
			if err != nil {
				return err
			}
			if host.Attrs().Index != idx || host.Attrs().MasterIndex != br.Index || host.Attrs().Flags&net.FlagUp == 0 {
				return fmt.Errorf("host veth %s: index %d master %d flags %v; want index %d, master %d, up",
					p.veth, host.Attrs().Index, host.Attrs().MasterIndex, host.Attrs().Flags, idx, br.Index)
			}
		}
		return nil
	})

	t.Run("already exists", func(t *testing.T) {
		inNode(func() error {
			_, err := CreatePod(a.ns, brName, prefix+"-z", hostAddr(subnet, 20, 24), gw.Addr())
			if err == nil || !strings.Contains(err.Error(), "already exists") {
				return fmt.Errorf("CreatePod on an existing namespace = %v, want an 'already exists' error", err)
			}
			_, err = CreatePod(prefix+"-z", brName, a.veth, hostAddr(subnet, 20, 24), gw.Addr())
			if err == nil || !strings.Contains(err.Error(), "already exists") {
				return fmt.Errorf("CreatePod with an existing veth = %v, want an 'already exists' error", err)
			}
			// Neither failure may leave anything behind or break pod a.
			if _, err := os.Stat(netnsDir + "/" + prefix + "-z"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("failed CreatePod left namespace %s-z", prefix)
			}
			if _, err := netlink.LinkByName(a.veth); err != nil {
				t.Errorf("failed CreatePod broke %s: %v", a.veth, err)
			}
			return nil
		})
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
				inNode(func() error {
					_, err := CreatePod(tt.ns, tt.bridge, tt.veth, tt.ip, tt.gw)
					if err == nil || !strings.Contains(err.Error(), tt.wantInMessage) {
						return fmt.Errorf("CreatePod = %v, want an error mentioning %q", err, tt.wantInMessage)
					}
					return nil
				})
			})
		}
		var left []string
		inNode(func() error { left = leftovers(t, prefix+"-y"); return nil })
		if len(left) > 0 {
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
		inNode(func() error {
			for _, p := range []pod{a, b} {
				if err := DeletePod(p.ns, p.veth); err != nil {
					return err
				}
				if err := DeletePod(p.ns, p.veth); err != nil {
					return fmt.Errorf("second DeletePod: %v", err)
				}
				if _, err := netlink.LinkByName(p.veth); err == nil {
					return fmt.Errorf("host veth %s still there after DeletePod", p.veth)
				}
				if err := InNamespace(p.ns, func() error { return nil }); err == nil {
					return fmt.Errorf("InNamespace(%s) succeeded after DeletePod", p.ns)
				}
			}
			return nil
		})
		// Deleting the node namespace takes the bridge with it.
		if err := DeletePod(node, ""); err != nil {
			t.Fatal(err)
		}
		if left := leftovers(t, prefix); len(left) > 0 {
			t.Fatalf("leftovers:\n%s", strings.Join(left, "\n"))
		}
	})
}

// TestInNamespaceRestores checks that the calling thread is back in its
// original namespace after InNamespace, including after fn panics.
func TestInNamespaceRestores(t *testing.T) {
	testenv.RequireRoot(t)
	prefix := testPrefix(t)
	ns := prefix + "-p"
	nodeNamespace(t, ns) // any named namespace will do
	t.Cleanup(func() {
		if err := DeletePod(ns, ""); err != nil {
			t.Error(err)
		}
		if left := leftovers(t, prefix); len(left) > 0 {
			t.Errorf("leftovers: %v", left)
		}
	})

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
}
