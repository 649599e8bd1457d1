package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newDownCmd(s Streams) *cobra.Command {
	var lab labFlag
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Remove a lab: processes, eBPF programs, pinned maps, namespaces, links, state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, b, err := lab.resolveBackend()
			if err != nil {
				return err
			}
			fmt.Fprintf(s.Err, "Removing lab %q\n", name)
			if err := b.Down(cmd.Context(), name, s.Err); err != nil {
				return err
			}
			fmt.Fprintf(s.Out, "Lab %s removed.\n", name)
			return nil
		},
	}
	lab.add(cmd)
	return cmd
}
