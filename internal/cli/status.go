package cli

import (
	"encoding/json"
	"fmt"

	"github.com/netlab/netlab/internal/kindlab"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/spf13/cobra"
)

func newStatusCmd(s Streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running labs: pods, IPs, policies, processes (-o json: one object per lab, with \"backend\")",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			labs, err := sandbox.List()
			if err != nil {
				return err
			}
			var states []*sandbox.State
			for _, l := range labs {
				st, err := sandbox.Load(l)
				if err != nil {
					return err
				}
				states = append(states, st)
			}
			kinds, err := kindlab.List()
			if err != nil {
				return err
			}
			if output == "json" {
				// One object per lab; "backend" says which shape it has.
				type sandboxLab struct {
					Backend string `json:"backend"`
					*sandbox.State
				}
				out := []any{}
				for _, st := range states {
					out = append(out, sandboxLab{Backend: "sandbox", State: st})
				}
				for _, k := range kinds {
					st, err := kindlab.Load(k)
					if err != nil {
						return err
					}
					out = append(out, st)
				}
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			if len(states) == 0 && len(kinds) == 0 {
				fmt.Fprintln(s.Out, "No lab is running. Start one with 'sudo netlab up'.")
				return nil
			}
			for _, k := range kinds {
				if err := kindStatus(cmd.Context(), s.Out, k); err != nil {
					return err
				}
			}
			for _, st := range states {
				enf := "enforcer " + alive(st.EnforcerPID)
				if !st.Enforcing() {
					enf += ", policies NOT enforced (--enforcer none)"
				}
				fmt.Fprintf(s.Out, "lab %s (sandbox, up since %s, %d policies, %s)\n", st.Name,
					st.Created.Format("15:04:05"), len(st.World.Policies), enf)
				for i, p := range st.World.Pods {
					fmt.Fprintf(s.Out, "  %-32s %-15s agent %s\n", p.Key(), p.IP, alive(st.Pods[i].PID))
				}
				for _, np := range st.World.Policies {
					fmt.Fprintf(s.Out, "  networkpolicy %s/%s\n", np.Namespace, np.Name)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func alive(pid int) string {
	if pid > 0 && processAlive(pid) {
		return fmt.Sprintf("running (pid %d)", pid)
	}
	return "NOT RUNNING"
}
