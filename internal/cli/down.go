package cli

import (
	"fmt"

	"github.com/netlab/netlab/internal/currentlab"

	"github.com/spf13/cobra"
)

func newDownCmd(s Streams) *cobra.Command {
	var lab labFlag
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Remove a lab: processes, eBPF programs, pinned maps, namespaces, links, state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := lab.find()
			if err != nil {
				return err
			}
			fmt.Fprintf(s.Err, "Removing lab %q\n", b.Name())
			if err := b.Down(cmd.Context(), s.Err); err != nil {
				return err
			}
			if err := currentlab.Clear(b.Name()); err != nil {
				fmt.Fprintf(s.Err, "warning: %v\n", err)
			}
			fmt.Fprintf(s.Out, "Lab %s removed.\n", b.Name())
			return nil
		},
	}
	lab.add(cmd)
	return cmd
}
