package nodeimage

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/cluster/constants"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// BridgeCNIPath is where InstallBridgeCNI writes its config in a node.
const BridgeCNIPath = "/etc/cni/net.d/10-netlab-bridge.conflist"

// BridgeCNIConfig is a CNI config list that puts pods on a Linux bridge with
// addresses from podCIDR (the bridge, host-local and portmap plugins of
// Debian's containernetworking-plugins, which the node image carries). It
// connects the pods of one node; a cluster created with disableDefaultCNI
// and one node needs nothing more.
func BridgeCNIConfig(podCIDR string) []byte {
	return []byte(fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "netlab-bridge",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, podCIDR))
}

// InstallBridgeCNI waits until the control plane has given node its pod
// CIDR and writes BridgeCNIConfig for it into the node, after which kubelet
// reports the node Ready. kubectl runs inside node (a control-plane node, or
// any node when kubeconfig names a reachable admin config).
func InstallBridgeCNI(ctx context.Context, node nodes.Node, controlPlane nodes.Node) error {
	var cidr string
	err := waitFor(ctx, 2*time.Minute, func() error {
		var out bytes.Buffer
		cmd := controlPlane.CommandContext(ctx, "kubectl", "--kubeconfig=/etc/kubernetes/admin.conf",
			"get", "node", node.String(), "-o", "jsonpath={.spec.podCIDR}")
		if err := cmd.SetStdout(&out).Run(); err != nil {
			return err
		}
		if cidr = strings.TrimSpace(out.String()); cidr == "" {
			return fmt.Errorf("node %s has no podCIDR yet", node.String())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pod CIDR of %s: %w", node.String(), err)
	}
	cmd := node.CommandContext(ctx, "sh", "-c", "mkdir -p /etc/cni/net.d && cat > "+BridgeCNIPath)
	if err := cmd.SetStdin(bytes.NewReader(BridgeCNIConfig(cidr))).Run(); err != nil {
		return fmt.Errorf("write CNI config into %s: %w", node.String(), err)
	}
	return nil
}

// InstallPodNetwork is the whole pod network of a cluster created with
// disableDefaultCNI: the bridge config on every node (InstallBridgeCNI) and,
// on every node, a route to each other node's pod CIDR via that node's
// address (kind's nodes share one Docker network), which is what kind's
// own CNI would otherwise provide.
func InstallPodNetwork(ctx context.Context, all []nodes.Node) error {
	all = kubernetesNodes(all)
	controlPlane, err := findControlPlane(all)
	if err != nil {
		return err
	}
	for _, n := range all {
		if err := InstallBridgeCNI(ctx, n, controlPlane); err != nil {
			return err
		}
	}
	var out bytes.Buffer
	cmd := controlPlane.CommandContext(ctx, "kubectl", "--kubeconfig=/etc/kubernetes/admin.conf", "get", "nodes", "-o",
		`jsonpath={range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}`)
	if err := cmd.SetStdout(&out).Run(); err != nil {
		return fmt.Errorf("list node pod CIDRs: %w", err)
	}
	type route struct{ node, cidr, via string }
	var routes []route
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			return fmt.Errorf("node without pod CIDR or address: %q", l)
		}
		routes = append(routes, route{f[0], f[1], f[2]})
	}
	for _, n := range all {
		for _, r := range routes {
			if r.node == n.String() {
				continue
			}
			if err := n.CommandContext(ctx, "ip", "route", "replace", r.cidr, "via", r.via).Run(); err != nil {
				return fmt.Errorf("route %s via %s on %s: %w", r.cidr, r.via, n.String(), err)
			}
		}
	}
	return nil
}

// kubernetesNodes drops kind's external load balancer, which is no
// Kubernetes node.
func kubernetesNodes(all []nodes.Node) []nodes.Node {
	var out []nodes.Node
	for _, n := range all {
		if role, err := n.Role(); err == nil && role == constants.ExternalLoadBalancerNodeRoleValue {
			continue
		}
		out = append(out, n)
	}
	return out
}

func findControlPlane(all []nodes.Node) (nodes.Node, error) {
	for _, n := range all {
		if role, err := n.Role(); err == nil && role == constants.ControlPlaneNodeRoleValue {
			return n, nil
		}
	}
	return nil, fmt.Errorf("no control-plane node among %d nodes", len(all))
}
