package cli

import (
	"time"

	"github.com/netlab/netlab/internal/agent"
	"github.com/spf13/cobra"
)

// addTimeoutFlag adds --timeout, the probe timeout per connection, with
// netlab's one default (agent.DefaultTimeout) to every command that probes;
// note, if any, says when the command probes at all.
func addTimeoutFlag(cmd *cobra.Command, p *time.Duration, note string) {
	usage := "probe timeout per connection: a blocked cell costs this once, all cells are tried at once"
	if note != "" {
		usage += " (" + note + ")"
	}
	cmd.Flags().DurationVar(p, "timeout", agent.DefaultTimeout, usage)
}
