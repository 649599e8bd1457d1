//go:build linux

package nodeagent

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RouteProtocol marks the routes netlab installs, so that stale ones (a
// node that left) are found and removed without touching anyone else's.
const RouteProtocol netlink.RouteProtocol = 0x4e // "N"

// SyncRoutes makes the main routing table hold exactly want among netlab's
// routes (RouteProtocol): it replaces what differs and deletes the rest.
func SyncRoutes(want []Route) error {
	have, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("listing routes: %w", err)
	}
	keep := map[string]bool{}
	var errs []error
	for _, r := range want {
		nr := &netlink.Route{
			Dst:      &net.IPNet{IP: r.Dst.Addr().AsSlice(), Mask: net.CIDRMask(r.Dst.Bits(), 32)},
			Gw:       r.Via.AsSlice(),
			Protocol: RouteProtocol,
			Table:    unix.RT_TABLE_MAIN,
		}
		keep[nr.Dst.String()] = true
		if err := netlink.RouteReplace(nr); err != nil {
			errs = append(errs, fmt.Errorf("route %s: %w", r, err))
		}
	}
	for _, r := range have {
		if r.Dst != nil && !keep[r.Dst.String()] {
			if err := netlink.RouteDel(&r); err != nil {
				errs = append(errs, fmt.Errorf("deleting stale route %s: %w", r.Dst, err))
			}
		}
	}
	return errors.Join(errs...)
}
