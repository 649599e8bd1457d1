package nodeagent

import (
	"fmt"
	"io"
)

// StatusPort is where a node agent serves /healthz and /status on its
// node's address (the DaemonSet runs in the node's network namespace).
const StatusPort = 9476

// DefaultPinDir is where a node agent pins its maps and links.
const DefaultPinDir = "/sys/fs/bpf/netlab-node"

// Options configure Run.
type Options struct {
	// Node is this node's name (the DaemonSet passes spec.nodeName).
	Node string
	// Kubeconfig is a kubeconfig file; empty means in-cluster config.
	Kubeconfig string
	// CNIConfDir and CNIBinDir are the node's CNI directories.
	CNIConfDir, CNIBinDir string
	// PinDir is the bpffs directory for the enforcer's pins.
	PinDir string
	// Enforce runs the eBPF enforcer; without it the node gets networking
	// only (`netlab up --enforcer=none`).
	Enforce bool
	// StatusAddr is the listen address of the status server.
	StatusAddr string
	// Log receives one line per notable event.
	Log io.Writer
}

func (o *Options) defaults() {
	if o.CNIConfDir == "" {
		o.CNIConfDir = "/etc/cni/net.d"
	}
	if o.CNIBinDir == "" {
		o.CNIBinDir = "/opt/cni/bin"
	}
	if o.PinDir == "" {
		o.PinDir = DefaultPinDir
	}
	if o.StatusAddr == "" {
		o.StatusAddr = fmt.Sprintf(":%d", StatusPort)
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}
