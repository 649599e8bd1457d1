package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/netlab/netlab/internal/currentlab"
	"github.com/netlab/netlab/internal/kindlab"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/spf13/cobra"
)

func newDownCmd(s Streams) *cobra.Command {
	var lab labFlag
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Remove a lab: processes, eBPF programs, pinned maps, namespaces, links, state",
		Long: `down removes a lab and checks that nothing of it is left. It works from
what is on the host as well as from the lab's state, so a lab whose state
directory was lost, or whose 'up' was killed before it saved its state, is
removed all the same (and a kind cluster netlab made for it). Everything is
matched by exact ownership: lab ux1 never touches lab ux1-p. 'netlab gc'
does the same for every lab that no longer runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := lab.find()
			if err != nil {
				return err
			}
			fmt.Fprintf(s.Err, "Removing lab %q\n", b.Name())
			if err := b.Down(cmd.Context(), s.Err); err != nil {
				// A kind cluster netlab made whose state was lost.
				if !errors.Is(err, sandbox.ErrNoLab) || !downOrphanCluster(cmd.Context(), s, b.Name()) {
					return err
				}
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

// downOrphanCluster removes the kind cluster called name if netlab made it
// and its lab has no state, and reports whether there was one.
func downOrphanCluster(ctx context.Context, s Streams, name string) bool {
	clusters, _ := kindlab.Clusters(ctx)
	for _, c := range clusters {
		if c.Name == name && c.Orphan() {
			fmt.Fprintf(s.Err, " • lab %s has no state; deleting the kind cluster netlab made for it\n", name)
			if err := kindlab.RemoveOrphan(c); err != nil {
				fmt.Fprintf(s.Err, "   %v\n", err)
				return false
			}
			return true
		}
	}
	return false
}
