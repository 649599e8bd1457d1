package netpol_test

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
)

func proto(s string) corev1.Protocol { return corev1.Protocol(s) }

// externalIP picks an address in 203.0.113.0/24 (TEST-NET-3) from b.
func externalIP(b [8]byte) netip.Addr { return netip.AddrFrom4([4]byte{203, 0, 113, b[0]}) }
