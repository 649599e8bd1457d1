package world

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// This file holds what the world knows about pod addresses beyond
// status.podIP: which pods are left out of a world because they no longer
// run, and how a pod without an address may get one. A pod without an
// address sends and receives nothing in a cluster, so netlab never invents
// one on its own: only a caller that names the addresses (the sandbox,
// which really gives them; a user's --assign-ips CIDR) assigns them.

// running reports whether a pod is part of the world: pods that finished
// (status.phase Succeeded or Failed) have no network any more, and the
// addresses they still show may belong to running pods.
func running(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed
}

// Unaddressed returns the pods on the pod network that have no address.
func (w *World) Unaddressed() []*Pod {
	var out []*Pod
	for _, p := range w.Pods {
		if !p.IP.IsValid() && !p.HostNetwork {
			out = append(out, p)
		}
	}
	return out
}

// AssignPodIPs gives every pod on the pod network that has no address, and
// for which pick returns true (nil picks all), the next free address of
// cidr in name order, so the same world always gets the same addresses.
// The network address and the first host address (the gateway) are never
// given, nor IPv4 addresses ending in .0 or .255. Addresses other pods and
// services hold are skipped. If cidr has too few free addresses, nothing
// is assigned and the error says how many are missing. The assignments are
// reported on notes (may be nil).
func AssignPodIPs(w *World, cidr netip.Prefix, pick func(*Pod) bool, notes io.Writer) error {
	cidr = cidr.Masked()
	var want []*Pod
	for _, p := range w.Unaddressed() {
		if pick == nil || pick(p) {
			want = append(want, p)
		}
	}
	if len(want) == 0 {
		return nil
	}
	used := usedAddrs(w)
	addrs := make([]netip.Addr, 0, len(want))
	for range want {
		a := nextFree(cidr, used)
		if !a.IsValid() {
			return fmt.Errorf("%s has %d free addresses for pods, and %d pods have no status.podIP", cidr, len(addrs), len(want))
		}
		addrs = append(addrs, a)
	}
	assigned := make([]string, len(want))
	for i, p := range want {
		p.IP, p.IPAssigned = addrs[i], true
		assigned[i] = p.Key() + "=" + p.IP.String()
	}
	if notes != nil {
		fmt.Fprintf(notes, "note: pods without status.podIP got addresses from %s in name order: %s\n", cidr, shortList(assigned))
	}
	return nil
}

// usedAddrs is every address a pod or service of w holds.
func usedAddrs(w *World) map[netip.Addr]bool {
	used := map[netip.Addr]bool{}
	for _, p := range w.Pods {
		if p.IP.IsValid() {
			used[p.IP] = true
		}
	}
	for _, s := range w.Services {
		if s.ClusterIP.IsValid() {
			used[s.ClusterIP] = true
		}
	}
	return used
}

// nextFree returns the lowest address of cidr that is not used (and marks
// it used), skipping the network address, the gateway (the first host
// address) and IPv4 addresses ending in .0 or .255; the zero Addr when
// none is left.
func nextFree(cidr netip.Prefix, used map[netip.Addr]bool) netip.Addr {
	for a := cidr.Addr().Next().Next(); a.IsValid() && cidr.Contains(a); a = a.Next() {
		if a.Is4() {
			if b := a.As4(); b[3] == 0 || b[3] == 255 {
				continue
			}
		}
		if used[a] {
			continue
		}
		used[a] = true
		return a
	}
	return netip.Addr{}
}

// shortList joins names, showing the first few and counting the rest.
func shortList(names []string) string {
	const show = 6
	if len(names) <= show {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:show], ", "), len(names)-show)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
