//go:build !linux

package agent

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"
)

// errSCTPUnsupported reports that SCTP sockets cannot be made: outside
// Linux the agent never tries.
var errSCTPUnsupported = errors.New("SCTP not supported on this platform")

func checkSCTP() error { return errSCTPUnsupported }

func dialSCTP(context.Context, netip.Addr, int, time.Time) (string, error) {
	return "", errSCTPUnsupported
}

type sctpListener struct{}

func listenSCTP(int) (*sctpListener, error) { return nil, errSCTPUnsupported }

func (*sctpListener) Close() error { return nil }

func (*sctpListener) serve(context.Context, *sync.WaitGroup, string, *logger) {}
