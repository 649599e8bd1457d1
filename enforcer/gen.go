//go:build linux

// Package enforcer is netlab's eBPF NetworkPolicy dataplane: two tc programs
// on each pod's host-side veth and a loader that keeps their maps in sync with
// a desired State.
//
// The package knows nothing about Kubernetes objects. A compiler computes a
// State (endpoints with identities and isolation, CIDR classes for ipBlocks,
// and allowed port ranges keyed by subject, peer, direction and protocol) and
// calls Dataplane.Sync, which writes only the difference into the kernel.
// Maps are pinned in a bpffs directory, so a restarted process picks up the
// same maps and links: a restart never opens or closes traffic.
package enforcer

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target bpfel -type event netpol bpf/netpol.c -- -I/usr/include/x86_64-linux-gnu
