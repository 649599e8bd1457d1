// Package agent is what runs inside a lab pod: Serve answers on the pod's
// container ports so that a connection attempt has something to reach, and
// Probe makes the connection attempts that measure what the dataplane
// really allows.
//
// The same code runs in a kind pod (netlab agent serve / netlab agent
// probe, reached through kubectl-style exec) and in a sandbox network
// namespace. Probe opens its sockets from several goroutines, so it must
// run in a process whose threads are all in the source pod's network
// namespace (for example under `ip netns exec`); a single thread switched
// with hostnet.InNamespace is not enough. Serve binds all its sockets
// before it starts any goroutine, so it can be started on such a thread.
package agent

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// Protocols, as Kubernetes spells them.
const (
	TCP  = "TCP"
	UDP  = "UDP"
	SCTP = "SCTP"
)

// Port is a port the agent serves, like a container port.
type Port struct {
	Port     int    `json:"port"`
	Protocol string `json:"protocol"` // "TCP" (the default when empty), "UDP" or "SCTP"
}

// normProtocol upper-cases a protocol name and applies the Kubernetes
// default (TCP). It reports false for protocols the agent does not know.
func normProtocol(p string) (string, bool) {
	switch u := strings.ToUpper(strings.TrimSpace(p)); u {
	case "":
		return TCP, true
	case TCP, UDP, SCTP:
		return u, true
	default:
		return u, false
	}
}

// banner is the line a served port answers with: it tells the prober
// which pod and which port really answered (useful behind a Service).
func banner(pod string, port int, proto string) string {
	return fmt.Sprintf("netlab %s %d/%s\n", pod, port, proto)
}

// logger serializes lines written by concurrent goroutines to one writer.
// A nil writer discards.
type logger struct {
	mu  sync.Mutex
	w   io.Writer
	pod string
}

func (l *logger) printf(format string, args ...any) {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "agent %s: %s\n", l.pod, fmt.Sprintf(format, args...))
}
