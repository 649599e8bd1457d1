package hostnet

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netnsDir is where named network namespaces live, as with `ip netns`.
const netnsDir = "/run/netns"

// podIfName is the pod side of the veth, as in a Kubernetes pod.
const podIfName = "eth0"

// CreatePod creates the pod nsName: a named network namespace with
// loopback up and an eth0 addressed ip, up, with a default route via gw;
// eth0's veth peer on the host is called hostVeth, attached to bridge and
// up. It returns hostVeth's interface index, where the enforcer attaches.
//
// It fails, changing nothing, if the namespace or hostVeth already exists;
// if a later step fails it removes what it created.
func CreatePod(nsName, bridge, hostVeth string, ip netip.Prefix, gw netip.Addr) (hostIfindex int, err error) {
	wrap := func(format string, args ...any) error {
		return fmt.Errorf("hostnet: create pod %s: "+format, append([]any{nsName}, args...)...)
	}
	if err := checkNSName(nsName); err != nil {
		return 0, wrap("%w", err)
	}
	if err := checkIfName(hostVeth); err != nil {
		return 0, wrap("%w", err)
	}
	switch {
	case !ip.IsValid() || !gw.IsValid():
		return 0, wrap("invalid address %v or gateway %v", ip, gw)
	case !ip.Masked().Contains(gw):
		return 0, wrap("gateway %v is not in the pod's subnet %v", gw, ip.Masked())
	case ip.Addr() == gw:
		return 0, wrap("pod address %v is the gateway", ip.Addr())
	}
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		return 0, wrap("bridge %s: %w", bridge, err)
	}
	if _, ok := br.(*netlink.Bridge); !ok {
		return 0, wrap("%s is a %s link, not a bridge", bridge, br.Type())
	}
	if _, err := netlink.LinkByName(hostVeth); err == nil {
		return 0, wrap("host interface %s already exists", hostVeth)
	} else if !isNotFound(err) {
		return 0, wrap("host interface %s: %w", hostVeth, err)
	}

	ns, err := createNamedNS(nsName)
	if err != nil {
		return 0, wrap("%w", err)
	}
	defer ns.Close()
	defer func() {
		if err != nil {
			// Best effort: the error that matters is the one returned.
			_ = DeletePod(nsName, hostVeth)
		}
	}()

	// The peer is created directly inside the namespace, already named
	// eth0: no temporary name on the host to collide with.
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: hostVeth},
		PeerName:      podIfName,
		PeerNamespace: netlink.NsFd(ns),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return 0, wrap("add veth %s: %w", hostVeth, err)
	}
	host, err := netlink.LinkByName(hostVeth)
	if err != nil {
		return 0, wrap("veth %s: %w", hostVeth, err)
	}
	if err := netlink.LinkSetMaster(host, br); err != nil {
		return 0, wrap("attach %s to %s: %w", hostVeth, bridge, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return 0, wrap("set %s up: %w", hostVeth, err)
	}
	if err := configurePod(ns, ip, gw); err != nil {
		return 0, wrap("%w", err)
	}
	return host.Attrs().Index, nil
}

// configurePod sets up lo and eth0 inside ns through a netlink handle
// bound to it, so no thread has to switch namespaces.
func configurePod(ns netns.NsHandle, ip netip.Prefix, gw netip.Addr) error {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink handle in namespace: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("lo: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	eth0, err := h.LinkByName(podIfName)
	if err != nil {
		return fmt.Errorf("%s: %w", podIfName, err)
	}
	addr := &netlink.Addr{IPNet: ipNet(ip)}
	if ip.Addr().Is6() {
		// No duplicate address detection: the address must be usable
		// at once, and the lab owns the subnet.
		addr.Flags = unix.IFA_F_NODAD
	}
	if err := h.AddrAdd(eth0, addr); err != nil {
		return fmt.Errorf("add address %v to %s: %w", ip, podIfName, err)
	}
	if err := h.LinkSetUp(eth0); err != nil {
		return fmt.Errorf("set %s up: %w", podIfName, err)
	}
	route := &netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: net.IP(gw.AsSlice())}
	if err := h.RouteAdd(route); err != nil {
		return fmt.Errorf("add default route via %v: %w", gw, err)
	}
	return nil
}

// DeletePod deletes the host veth hostVeth (which destroys eth0 with it)
// and the named namespace nsName. Either may be empty, and either already
// being gone is not an error. A hostVeth that is not a veth is left alone
// and reported.
func DeletePod(nsName, hostVeth string) error {
	var errs []error
	if hostVeth != "" {
		link, err := netlink.LinkByName(hostVeth)
		switch {
		case isNotFound(err):
		case err != nil:
			errs = append(errs, fmt.Errorf("host interface %s: %w", hostVeth, err))
		case link.Type() != "veth":
			errs = append(errs, fmt.Errorf("host interface %s is a %s link, not a veth; not deleting", hostVeth, link.Type()))
		default:
			if err := netlink.LinkDel(link); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("delete %s: %w", hostVeth, err))
			}
		}
	}
	if nsName != "" {
		if err := checkNSName(nsName); err != nil {
			errs = append(errs, err)
		} else if err := deleteNamedNS(nsName); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("hostnet: delete pod %s: %w", nsName, err)
	}
	return nil
}

// InNamespace runs fn on the calling goroutine, locked to its OS thread,
// with that thread switched into the named network namespace; sockets fn
// creates belong to the namespace and stay there after fn returns.
// Goroutines that fn starts do NOT run in the namespace.
//
// The thread is switched back afterwards, even if fn panics. If switching
// back fails, the thread stays locked so that the Go runtime destroys it
// when the goroutine exits, instead of reusing a thread in the wrong
// namespace; the error says so.
func InNamespace(nsName string, fn func() error) (err error) {
	if err := checkNSName(nsName); err != nil {
		return fmt.Errorf("hostnet: in namespace: %w", err)
	}
	target, err := netns.GetFromName(nsName)
	if err != nil {
		return fmt.Errorf("hostnet: in namespace %s: %w", nsName, err)
	}
	defer target.Close()

	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("hostnet: in namespace %s: current namespace: %w", nsName, err)
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("hostnet: in namespace %s: enter: %w", nsName, err)
	}
	defer func() {
		if rerr := netns.Set(orig); rerr != nil {
			// Keep the thread locked: it dies with this goroutine.
			err = errors.Join(err, fmt.Errorf("hostnet: in namespace %s: restore original namespace (thread abandoned): %w", nsName, rerr))
			return
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}

// createNamedNS creates a network namespace and pins it with a bind mount
// on /run/netns/name, as `ip netns add` does, and returns an open handle.
// The namespace is made on a throwaway thread that is never unlocked, so
// the runtime destroys it instead of reusing a thread in the new namespace.
// Unlike `ip netns add` it does not turn /run/netns into a shared mount
// point: that only matters across mount namespaces, and would leave a
// mount behind on the host.
func createNamedNS(name string) (netns.NsHandle, error) {
	if err := os.MkdirAll(netnsDir, 0o755); err != nil {
		return netns.None(), fmt.Errorf("create %s: %w", netnsDir, err)
	}
	path := filepath.Join(netnsDir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if errors.Is(err, fs.ErrExist) {
		return netns.None(), fmt.Errorf("network namespace %s already exists (%s); delete the pod first", name, path)
	}
	if err != nil {
		return netns.None(), fmt.Errorf("create %s: %w", path, err)
	}
	f.Close()

	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: this thread ends up in the new namespace.
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare network namespace: %w", err)
			return
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("bind-mount namespace on %s: %w", path, err)
			return
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return netns.None(), err
	}
	h, err := netns.GetFromPath(path)
	if err != nil {
		deleteNamedNS(name)
		return netns.None(), fmt.Errorf("open %s: %w", path, err)
	}
	return h, nil
}

// deleteNamedNS unmounts and removes /run/netns/name. The namespace itself
// disappears once nothing else (a process, an open handle) holds it.
func deleteNamedNS(name string) error {
	path := filepath.Join(netnsDir, name)
	// EINVAL: not a mount point (a stale file); ENOENT: already gone.
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// checkNSName rejects namespace names that are not a single file name.
func checkNSName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("invalid network namespace name %q", name)
	}
	return nil
}
