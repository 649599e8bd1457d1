//go:build !linux

package nodeagent

import (
	"context"
	"errors"
)

// Run is the node agent; it runs on the nodes of a kind cluster, which are
// Linux, and fails anywhere else.
func Run(context.Context, Options) error {
	return errors.New("node-agent needs Linux: it runs on a kind node (network namespaces, routes, eBPF)")
}
