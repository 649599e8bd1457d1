package cli

import (
	"fmt"

	"github.com/netlab/netlab/internal/world"
	"github.com/spf13/cobra"
)

func newApplyCmd(s Streams) *cobra.Command {
	var lab labFlag
	var files []string
	var maxInput int64
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR",
		Short: "Create or replace NetworkPolicies in a running lab (enforced before it returns)",
		Long: `apply reads NetworkPolicies (YAML, JSON, List; files or directories),
validates them exactly as the API server would, and enforces them in the
lab. A policy with the same namespace/name replaces the old one. If any
object is invalid nothing is applied.`,
		Example: `  netlab apply -f assets/examples/netpol-lab/01-default-deny.yaml
  netlab apply --name t1 -f policies/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := lab.find()
			if err != nil {
				return err
			}
			objs, err := readPolicies(cmd, files, maxInput, s)
			if err != nil {
				return err
			}
			var pols = make([]string, 0, len(objs.Policies))
			for _, o := range objs.Policies {
				pols = append(pols, o.Obj.Namespace+"/"+o.Obj.Name)
			}
			stats, err := b.Apply(cmd.Context(), objs.PolicyList())
			if err != nil {
				return err
			}
			for _, p := range pols {
				fmt.Fprintf(s.Out, "networkpolicy %s applied\n", p)
			}
			fmt.Fprintf(s.Err, "enforced (%s)\n", stats)
			return nil
		},
	}
	lab.add(cmd)
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "policy file or directory (repeatable; - for stdin)")
	addMaxInput(cmd, &maxInput)
	return cmd
}

func newDeleteCmd(s Streams) *cobra.Command {
	var lab labFlag
	var files []string
	var namespace string
	var maxInput int64
	cmd := &cobra.Command{
		Use:   "delete (-f FILE | networkpolicy NAME...)",
		Short: "Delete NetworkPolicies from a running lab",
		Example: `  netlab delete -f assets/examples/netpol-lab/01-default-deny.yaml
  netlab delete networkpolicy default-deny -n netpol-lab`,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := lab.find()
			if err != nil {
				return err
			}
			var keys []string
			if len(files) > 0 {
				objs, err := readPolicies(cmd, files, maxInput, s)
				if err != nil {
					return err
				}
				for _, o := range objs.Policies {
					keys = append(keys, o.Obj.Namespace+"/"+o.Obj.Name)
				}
			}
			if len(args) > 0 {
				switch args[0] {
				case "networkpolicy", "networkpolicies", "netpol":
				default:
					return fmt.Errorf("only networkpolicy can be deleted, not %q", args[0])
				}
				if namespace == "" {
					namespace = "default"
				}
				for _, a := range args[1:] {
					keys = append(keys, namespace+"/"+a)
				}
			}
			if len(keys) == 0 {
				return fmt.Errorf("nothing to delete: pass -f FILE or 'networkpolicy NAME'")
			}
			if err := b.Delete(cmd.Context(), keys); err != nil {
				return err
			}
			for _, k := range keys {
				fmt.Fprintf(s.Out, "networkpolicy %s deleted\n", k)
			}
			return nil
		},
	}
	lab.add(cmd)
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "policy file or directory (repeatable)")
	addMaxInput(cmd, &maxInput)
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the named policies (default \"default\")")
	return cmd
}

// readPolicies reads and validates manifests that must hold only
// NetworkPolicies.
func readPolicies(cmd *cobra.Command, files []string, maxInput int64, s Streams) (*world.Objects, error) {
	if len(files) == 0 {
		return nil, fmt.Errorf("no policies given: pass -f FILE|DIR")
	}
	objs, err := readManifests(cmd, files, maxInput, s.Err)
	if err != nil {
		return nil, err
	}
	if n := len(objs.Pods) + len(objs.Namespaces) + len(objs.Services); n > 0 {
		return nil, fmt.Errorf("%d objects are not NetworkPolicies: a running lab's pods and namespaces come from its world (use 'netlab label' to change labels)", n)
	}
	if len(objs.Policies) == 0 {
		return nil, fmt.Errorf("no NetworkPolicy found in %v", files)
	}
	return objs, nil
}
