package cli

import (
	"github.com/netlab/netlab/internal/netpol"
	"github.com/spf13/cobra"
)

func newSimCmd(s Streams) *cobra.Command {
	var wf worldFlags
	var output string
	var sel simSelection
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Predict the reachability matrix of a world and its policies",
		Long: `sim computes, without any cluster, what the policies allow: every ordered
pair of distinct pods x every container port of the destination pod.

A pod with no policy selecting it is open in that direction. Once selected,
only what some rule allows passes, and both the source's egress and the
destination's ingress must allow. Cells are "allowed" or "blocked" exactly
as networking.k8s.io/v1 defines them; 'netlab explain' tells you why.

-o json streams every cell as it is decided (memory does not grow with the
number of cells). -o summary counts allowed and blocked cells per namespace
pair and lists the policies that admit the most flows: the view for a real
cluster dump. -o table and -o mermaid are for up to --max-pods pods (50);
on larger worlds they fail and say how to narrow with --from/--to.
` + addressHelp,
		Example: `  netlab sim --scenario netpol-lab -f assets/examples/netpol-lab/
  kubectl get ns,pods,svc,netpol -A -o yaml | netlab sim -f -
  netlab sim -f world.yaml -o json | jq '.results[] | select(.allowed)'
  netlab sim -f world.yaml -o mermaid > flows.mmd
  kubectl get ns,pods,netpol -A -o yaml | netlab sim -f - -o summary
  netlab sim -f cluster.yaml --from shop/ --to payments/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, simOutputs...); err != nil {
				return err
			}
			w, err := wf.load(s.Err)
			if err != nil {
				return err
			}
			return writeSim(s, netpol.New(w), output, sel)
		},
	}
	wf.add(cmd)
	sel.add(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json, mermaid or summary")
	return cmd
}
