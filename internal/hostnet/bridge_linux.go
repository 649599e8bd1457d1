package hostnet

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
)

// maxIfName is the longest interface name Linux accepts (IFNAMSIZ - 1).
const maxIfName = 15

// Bridge is a lab's Linux bridge: the pods' L2 segment, whose own address
// is the pods' default gateway.
type Bridge struct {
	Name    string
	Index   int          // interface index on the host
	Gateway netip.Prefix // the bridge's address, e.g. 10.244.0.1/16
}

// CreateBridge creates the bridge name with address gw and brings it up.
// It is idempotent: a bridge that already exists with that address (or no
// address yet) is reused. It fails if name exists but is not a bridge, or
// lacks gw but carries another address of the same family, since it then
// belongs to something else (another lab).
func CreateBridge(name string, gw netip.Prefix) (*Bridge, error) {
	if err := checkIfName(name); err != nil {
		return nil, fmt.Errorf("hostnet: create bridge: %w", err)
	}
	if !gw.IsValid() {
		return nil, fmt.Errorf("hostnet: create bridge %s: invalid gateway prefix %v", name, gw)
	}
	created := false
	link, err := netlink.LinkByName(name)
	switch {
	case err == nil:
		if _, ok := link.(*netlink.Bridge); !ok {
			return nil, fmt.Errorf("hostnet: create bridge %s: a %s link with that name exists", name, link.Type())
		}
	case isNotFound(err):
		attrs := netlink.NewLinkAttrs()
		attrs.Name = name
		// A fixed MAC: otherwise the bridge takes the lowest MAC of its
		// ports, which changes as pods come and go and leaves pods with a
		// stale ARP entry for their gateway.
		attrs.HardwareAddr = randomMAC()
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
			return nil, fmt.Errorf("hostnet: create bridge %s: %w", name, err)
		}
		created = true
		if link, err = netlink.LinkByName(name); err != nil {
			return nil, fmt.Errorf("hostnet: create bridge %s: %w", name, err)
		}
	default:
		return nil, fmt.Errorf("hostnet: create bridge %s: %w", name, err)
	}

	if err := ensureBridgeAddr(link, gw); err != nil {
		if created {
			netlink.LinkDel(link)
		}
		return nil, fmt.Errorf("hostnet: create bridge %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		if created {
			netlink.LinkDel(link)
		}
		return nil, fmt.Errorf("hostnet: create bridge %s: set up: %w", name, err)
	}
	return &Bridge{Name: name, Index: link.Attrs().Index, Gateway: gw}, nil
}

// ensureBridgeAddr adds gw to link unless it is there already. A bridge
// that lacks gw but has other global addresses of the same family is an
// error: it belongs to something else.
func ensureBridgeAddr(link netlink.Link, gw netip.Prefix) error {
	family := netlink.FAMILY_V4
	if gw.Addr().Is6() {
		family = netlink.FAMILY_V6
	}
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return netlink.AddrList(link, family) })
	if err != nil {
		return fmt.Errorf("list addresses: %w", err)
	}
	var others []string
	for _, a := range addrs {
		p, ok := prefixOf(a.IPNet)
		if !ok || p.Addr().IsLinkLocalUnicast() {
			continue
		}
		if p == gw {
			return nil // already there; extra addresses are the caller's
		}
		others = append(others, p.String())
	}
	if len(others) > 0 {
		return fmt.Errorf("it already has address %s, not %v", strings.Join(others, ", "), gw)
	}
	if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: ipNet(gw)}); err != nil {
		return fmt.Errorf("add address %v: %w", gw, err)
	}
	return nil
}

// checkIfName rejects names the kernel would refuse, with a clearer
// message than EINVAL.
func checkIfName(name string) error {
	switch {
	case name == "":
		return errors.New("empty interface name")
	case len(name) > maxIfName:
		return fmt.Errorf("interface name %q is %d characters long; Linux allows at most %d", name, len(name), maxIfName)
	case name == "." || name == ".." || strings.ContainsAny(name, "/: \t\n"):
		return fmt.Errorf("invalid interface name %q", name)
	}
	return nil
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return err != nil && errors.As(err, &nf)
}

// retryDump retries a netlink dump that the kernel interrupted because the
// table changed underneath it (another lab, another test).
func retryDump[T any](dump func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range 5 {
		v, err = dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	addr, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(addr.Unmap(), ones), true
}

// randomMAC returns a random locally administered unicast MAC address.
func randomMAC() net.HardwareAddr {
	mac := make(net.HardwareAddr, 6)
	rand.Read(mac)
	mac[0] = (mac[0] | 0x02) &^ 0x01
	return mac
}
