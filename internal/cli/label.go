package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newLabelCmd(s Streams) *cobra.Command {
	var lab labFlag
	var namespace string
	var overwrite bool
	cmd := &cobra.Command{
		Use:   "label (pod NAME | ns NAME) KEY=VALUE|KEY- ...",
		Short: "Change pod or namespace labels in a running lab (kubectl's syntax)",
		Long: `label changes labels the way 'kubectl label' does: KEY=VALUE sets, KEY-
removes, and changing an existing value needs --overwrite. Selectors are
re-evaluated and enforced before the command returns, so a pod can walk
into or out of a policy.`,
		Example: `  netlab label -n netpol-lab pod client app=frontend --overwrite
  netlab label ns netpol-lab team=blue
  netlab label -n netpol-lab pod client tier-`,
		Args: cobra.MinimumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := lab.find()
			if err != nil {
				return err
			}
			kind, target := strings.ToLower(args[0]), args[1]
			isNS := false
			switch kind {
			case "pod", "pods", "po":
				if namespace == "" {
					namespace = "default"
				}
				target = namespace + "/" + target
			case "ns", "namespace", "namespaces":
				isNS = true
			default:
				return fmt.Errorf("can label pods and namespaces, not %q", args[0])
			}
			if err := b.Label(cmd.Context(), target, isNS, args[2:], overwrite); err != nil {
				return err
			}
			fmt.Fprintf(s.Out, "%s/%s labeled\n", map[bool]string{true: "namespace", false: "pod"}[isNS], args[1])
			return nil
		},
	}
	lab.add(cmd)
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "the pod's namespace (default \"default\")")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "allow changing an existing label's value")
	return cmd
}
