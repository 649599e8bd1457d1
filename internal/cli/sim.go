package cli

import (
	"github.com/netlab/netlab/internal/netpol"
	"github.com/spf13/cobra"
)

func newSimCmd(s Streams) *cobra.Command {
	var wf worldFlags
	var output string
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Predict the reachability matrix of a world and its policies",
		Long: `sim computes, without any cluster, what the policies allow: every ordered
pair of distinct pods x every container port of the destination pod.

A pod with no policy selecting it is open in that direction. Once selected,
only what some rule allows passes, and both the source's egress and the
destination's ingress must allow. Cells are "allowed" or "blocked" exactly
as networking.k8s.io/v1 defines them; 'netlab explain' tells you why.

` + addressHelp,
		Example: `  netlab sim --scenario netpol-lab -f assets/examples/netpol-lab/
  kubectl get ns,pods,svc,netpol -A -o yaml | netlab sim -f -
  netlab sim -f world.yaml -o json | jq '.results[] | select(.allowed)'
  netlab sim -f world.yaml -o mermaid > flows.mmd`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "table", "json", "mermaid"); err != nil {
				return err
			}
			w, err := wf.load(s.Err)
			if err != nil {
				return err
			}
			m := netpol.New(w).Matrix()
			switch output {
			case "json":
				return m.WriteJSON(s.Out)
			case "mermaid":
				return m.WriteMermaid(s.Out)
			}
			return m.WriteTable(s.Out, matrixTableOptions(s))
		},
	}
	wf.add(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or mermaid")
	return cmd
}
