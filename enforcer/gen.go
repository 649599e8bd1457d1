//go:build linux

package enforcer

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target bpfel -type event netpol bpf/netpol.c -- -I/usr/include/x86_64-linux-gnu
