// Package nodeagent is netlab's node daemon for the kind backend, run by a
// DaemonSet (`netlab node-agent`) on every node in place of kindnet:
//
//   - it writes a CNI configuration for the node's podCIDR that uses the
//     plugins the node image ships (ptp or bridge, with host-local IPAM),
//     so the kubelet can start pods;
//   - it routes every other node's podCIDR through that node's IP, so pods
//     reach each other across nodes with their own addresses (no
//     masquerading: NetworkPolicy needs the sender's pod IP);
//   - it runs netlab's eBPF enforcer on every pod's host-side veth, fed by
//     client-go informers (Pods, Namespaces, Services, NetworkPolicies)
//     through the same compiler as the sandbox (netpol.Lower, which gives
//     an enforcer.State).
//
// Pod-to-Service traffic: kube-proxy rewrites a ClusterIP to a pod IP after
// the sender's veth, so the maps mark every ClusterIP whose backends are
// pods, and the enforcer judges the sender's egress where the packet is
// delivered (enforcer.State.EgressAtDestination). Every node holds every
// endpoint of the cluster, so any node can judge any sender.
package nodeagent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
)

// CNI plugin types the configuration can use.
const (
	PluginPTP    = "ptp"
	PluginBridge = "bridge"
)

// BridgeName is the bridge the bridge plugin creates.
const BridgeName = "netlab0"

// ConfigName is the file name of the configuration in the CNI directory.
// "10-" sorts it before anything a node image might ship.
const ConfigName = "10-netlab.conflist"

// NetworkName is the CNI network name.
const NetworkName = "netlab"

// Conflist is a CNI network configuration list.
type Conflist struct {
	CNIVersion string   `json:"cniVersion"`
	Name       string   `json:"name"`
	Plugins    []Plugin `json:"plugins"`
}

// Plugin is one plugin entry; only the fields netlab uses.
type Plugin struct {
	Type         string          `json:"type"`
	Bridge       string          `json:"bridge,omitempty"`
	IsGateway    bool            `json:"isGateway,omitempty"`
	HairpinMode  bool            `json:"hairpinMode,omitempty"`
	IPMasq       *bool           `json:"ipMasq,omitempty"`
	MTU          int             `json:"mtu,omitempty"`
	IPAM         *IPAM           `json:"ipam,omitempty"`
	Capabilities map[string]bool `json:"capabilities,omitempty"`
}

// IPAM is host-local address management.
type IPAM struct {
	Type    string     `json:"type"`
	DataDir string     `json:"dataDir,omitempty"`
	Ranges  [][]Range  `json:"ranges"`
	Routes  []CNIRoute `json:"routes,omitempty"`
}

// Range is one host-local address range.
type Range struct {
	Subnet  string `json:"subnet"`
	Gateway string `json:"gateway,omitempty"`
}

// CNIRoute is a route put into the pod.
type CNIRoute struct {
	Dst string `json:"dst"`
}

// CNIConfig is the configuration for a node whose pods get addresses from
// podCIDR, using plugin (PluginPTP or PluginBridge) for the pod's veth.
// Masquerading is off: traffic between pods keeps its source address, and
// lab pods have nowhere else to go.
func CNIConfig(plugin string, podCIDR netip.Prefix, mtu int) ([]byte, error) {
	if !podCIDR.IsValid() || !podCIDR.Addr().Is4() {
		return nil, fmt.Errorf("node podCIDR %q: want an IPv4 prefix", podCIDR)
	}
	if podCIDR.Bits() > 30 {
		return nil, fmt.Errorf("node podCIDR %s: too small for pods (want /30 or larger)", podCIDR)
	}
	podCIDR = podCIDR.Masked()
	no := false
	main := Plugin{
		Type:   plugin,
		IPMasq: &no,
		MTU:    mtu,
		IPAM: &IPAM{
			Type:    "host-local",
			DataDir: "/run/cni-ipam-state",
			Ranges:  [][]Range{{{Subnet: podCIDR.String(), Gateway: podCIDR.Addr().Next().String()}}},
			Routes:  []CNIRoute{{Dst: "0.0.0.0/0"}},
		},
	}
	switch plugin {
	case PluginPTP:
	case PluginBridge:
		main.Bridge = BridgeName
		main.IsGateway = true
		main.HairpinMode = true
	default:
		return nil, fmt.Errorf("CNI plugin %q: want %s or %s", plugin, PluginPTP, PluginBridge)
	}
	c := Conflist{
		CNIVersion: "0.4.0",
		Name:       NetworkName,
		Plugins:    []Plugin{main, {Type: "portmap", Capabilities: map[string]bool{"portMappings": true}}},
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// ChoosePlugin picks the CNI plugin the node has in binDir: ptp (every
// packet routed through the node, like kindnet) when present, else bridge.
// host-local must be there for either.
func ChoosePlugin(binDir string) (string, error) {
	// Lstat: node images link the plugins from elsewhere (Debian keeps them
	// in /usr/lib/cni), and only the node's runtime needs to follow the link.
	has := func(name string) bool {
		st, err := os.Lstat(filepath.Join(binDir, name))
		return err == nil && (st.Mode().IsRegular() || st.Mode()&os.ModeSymlink != 0)
	}
	if !has("host-local") {
		return "", fmt.Errorf("CNI plugin host-local not found in %s: the node image must ship the standard CNI plugins", binDir)
	}
	for _, p := range []string{PluginPTP, PluginBridge} {
		if has(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("neither the ptp nor the bridge CNI plugin is in %s", binDir)
}

// WriteCNIConfig writes data as dir/ConfigName atomically (the kubelet may
// read it at any moment) and reports whether the file changed.
func WriteCNIConfig(dir string, data []byte) (bool, error) {
	path := filepath.Join(dir, ConfigName)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("creating CNI config dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".netlab-*.tmp")
	if err != nil {
		return false, fmt.Errorf("writing CNI config: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, fmt.Errorf("writing CNI config: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("installing CNI config %s: %w", path, err)
	}
	return true, nil
}
