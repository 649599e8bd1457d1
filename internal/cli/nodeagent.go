package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/netlab/netlab/internal/kindlab"
	"github.com/netlab/netlab/internal/nodeagent"
	"github.com/spf13/cobra"
)

// newNodeAgentCmd is the kind backend's node daemon, run by the
// netlab-node-agent DaemonSet from netlab's own image.
func newNodeAgentCmd(s Streams) *cobra.Command {
	o := nodeagent.Options{Node: os.Getenv("NODE_NAME")}
	var enforcement string
	cmd := &cobra.Command{
		Use:    "node-agent",
		Short:  "The kind backend's node daemon: CNI config, routes between nodes, the informer-fed eBPF enforcer",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch enforcement {
			case kindlab.EnforceEBPF:
				o.Enforce = true
			case kindlab.EnforceNone:
			default:
				return fmt.Errorf("--enforcer %q: want %s or %s", enforcement, kindlab.EnforceEBPF, kindlab.EnforceNone)
			}
			o.Log = s.Err
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return nodeagent.Run(ctx, o)
		},
	}
	cmd.Flags().StringVar(&o.Node, "node", o.Node, "this node's name (default $NODE_NAME)")
	cmd.Flags().StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster)")
	cmd.Flags().StringVar(&o.CNIConfDir, "cni-conf-dir", "/etc/cni/net.d", "where the CNI config is written")
	cmd.Flags().StringVar(&o.CNIBinDir, "cni-bin-dir", "/opt/cni/bin", "where the node's CNI plugins are")
	cmd.Flags().StringVar(&o.PinDir, "pin-dir", nodeagent.DefaultPinDir, "bpffs directory for the enforcer's pins")
	cmd.Flags().StringVar(&enforcement, "enforcer", kindlab.EnforceEBPF, "ebpf or none (networking only)")
	return cmd
}
