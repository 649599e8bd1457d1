// Package hostnet is the sandbox backend's host plumbing: it turns a lab's
// pods into Linux network namespaces wired to one bridge, the way a CNI
// plugin would.
//
// Each pod is a named network namespace (persisted under /run/netns like
// `ip netns add`, so `ip netns exec NAME ...` works) with loopback up and an
// eth0 that is one end of a veth pair; the other end, on the host, is
// attached to the lab's bridge, which carries the pods' gateway address.
// The host-side veth is where the enforcer attaches its eBPF programs.
//
// Every function acts on the network namespace of the calling thread, so
// the sandbox builds each lab's bridge and host veths inside a private
// "node" namespace entered with InNamespace (where Docker's FORWARD DROP
// policy on the host never applies); pod namespaces are always new ones.
//
// Everything here needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and Linux;
// on other systems every function fails with ErrUnsupported.
package hostnet

import "errors"

// ErrUnsupported is returned by every function outside Linux: the sandbox
// needs Linux network namespaces, veths and bridges.
var ErrUnsupported = errors.New("hostnet: the sandbox needs Linux")
