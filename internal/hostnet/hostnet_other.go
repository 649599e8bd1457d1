//go:build !linux

package hostnet

import "net/netip"

// Outside Linux the package only exists so that netlab builds; the Linux
// files document what each function does.

// Bridge is a lab's Linux bridge.
type Bridge struct {
	Name    string
	Index   int
	Gateway netip.Prefix
}

func CreateBridge(string, netip.Prefix) (*Bridge, error) { return nil, ErrUnsupported }

func CreatePod(string, string, string, netip.Prefix, netip.Addr) (int, error) {
	return 0, ErrUnsupported
}

func DeletePod(string, string) error { return ErrUnsupported }

func InNamespace(string, func() error) error { return ErrUnsupported }
