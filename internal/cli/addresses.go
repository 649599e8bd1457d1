package cli

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/netlab/netlab/internal/world"
)

// addressHelp is what sim and explain say about pods without an address.
const addressHelp = `A pod without status.podIP has no address: in a cluster it sends and
receives nothing, so netlab invents none. Whatever a selector decides for it
is decided as usual, but a cell that only an ipBlock could decide for it is
not decidable: "allowed": null with a "reason" in -o json, ? in the table.
--assign-ips CIDR gives such pods addresses from CIDR instead (in name
order, skipping the first host address and every address already held).
Pods of a built-in --scenario get the sandbox's addresses (10.244.0.0/16,
in name order), the ones 'netlab up' gives them.

hostNetwork pods are their node: no NetworkPolicy selects them, and their
traffic is node traffic from the node's address, which only ipBlock peers
match. Pods that finished (status.phase Succeeded or Failed) are left out,
with a note saying how many.`

// assignPrefix parses --assign-ips.
func (f *worldFlags) assignPrefix() (netip.Prefix, error) {
	if f.assignIPs == "" {
		return netip.Prefix{}, nil
	}
	p, err := netip.ParsePrefix(f.assignIPs)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("--assign-ips %q: not a CIDR (e.g. 10.244.0.0/16): %v", f.assignIPs, err)
	}
	return p.Masked(), nil
}

// address gives pods without status.podIP the addresses the user named:
// a built-in scenario's pods get the sandbox's, and with --assign-ips
// (assign valid) every other pod gets one of assign. Pods left without an
// address are noted.
func address(w *world.World, scenarioPods map[string]bool, assign netip.Prefix, notes io.Writer) error {
	if len(scenarioPods) > 0 {
		if err := world.AssignPodIPs(w, world.DefaultPodCIDR, func(p *world.Pod) bool { return scenarioPods[p.Key()] }, notes); err != nil {
			return fmt.Errorf("giving the scenario's pods the sandbox's addresses: %w", err)
		}
	}
	if assign.IsValid() {
		if err := world.AssignPodIPs(w, assign, nil, notes); err != nil {
			return fmt.Errorf("--assign-ips: %w", err)
		}
	}
	if left := w.Unaddressed(); len(left) > 0 && notes != nil {
		names := make([]string, 0, len(left))
		for i, p := range left {
			if i == 6 {
				names = append(names, fmt.Sprintf("and %d more", len(left)-6))
				break
			}
			names = append(names, p.Key())
		}
		fmt.Fprintf(notes, "note: %d pod(s) have no address (no status.podIP): %s; cells that only an ipBlock could decide for them are not decidable (--assign-ips CIDR gives them addresses)\n", len(left), strings.Join(names, ", "))
	}
	return nil
}
