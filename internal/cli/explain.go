package cli

import (
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/spf13/cobra"
)

func newExplainCmd(s Streams) *cobra.Command {
	var wf worldFlags
	var from, to, toIP, port, output string
	cmd := &cobra.Command{
		Use:   "explain",
		Short: "Say whether one connection is allowed, and which policy and rule decide it",
		Long: `explain judges one connection (source, destination, port, protocol) and
shows both sides: the source pod's egress and the destination pod's ingress.
For each side it lists the policies that isolate the pod, the rule, peer and
port that admitted the connection, or, when it is blocked, every rule that
did not match and why ("peer 0 admits pods with app=api; x/web has labels
app=web"), nearest miss first.

--from and --to take "namespace/pod", "pod" (namespace default) or an IP. An
IP outside the world's pods stands for a host outside the cluster: only the
pod side's policies apply, and only ipBlock peers can match it.

--port takes 80, 80/UDP, 53/SCTP or a named port of the destination pod
(http, http/TCP). The protocol defaults to TCP.

` + addressHelp,
		Example: `  netlab explain --scenario netpol-lab -f assets/examples/netpol-lab/ \
      --from netpol-lab/client --to netpol-lab/backend --port 8080
  netlab explain -f world.yaml --from web/api --to-ip 203.0.113.7 --port 443 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if toIP != "" {
				if to != "" {
					return fmt.Errorf("--to and --to-ip are exclusive")
				}
				if _, err := netip.ParseAddr(toIP); err != nil {
					return fmt.Errorf("--to-ip %q: not an IP address", toIP)
				}
				to = toIP
			}
			if from == "" || to == "" || port == "" {
				return fmt.Errorf("--from, --to (or --to-ip) and --port are required")
			}
			w, err := wf.load(s.Err)
			if err != nil {
				return err
			}
			e := netpol.New(w)
			src, err := e.ResolveEndpoint(from)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			dst, err := e.ResolveEndpoint(to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			if src.Pod == nil && dst.Pod == nil {
				return fmt.Errorf("--from %s and --to %s are both outside the world's pods: NetworkPolicy only decides traffic to or from a pod, so at least one side must be a pod", from, to)
			}
			p, proto, err := netpol.ResolvePort(port, dst)
			if err != nil {
				return fmt.Errorf("--port: %w", err)
			}
			x := e.Explain(src, dst, p, proto)
			if output == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(x)
			}
			return x.WriteText(s.Out)
		},
	}
	wf.add(cmd)
	cmd.Flags().StringVar(&from, "from", "", "source: namespace/pod, pod, or IP")
	cmd.Flags().StringVar(&to, "to", "", "destination: namespace/pod, pod, or IP")
	cmd.Flags().StringVar(&toIP, "to-ip", "", "destination IP outside the cluster (same as --to IP)")
	cmd.Flags().StringVar(&port, "port", "", "port: 80, 80/UDP, 132/SCTP, or a named port of the destination")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func matrixTableOptions(s Streams) matrix.TableOptions {
	return matrix.TableOptions{Color: useColor(s.Out)}
}
