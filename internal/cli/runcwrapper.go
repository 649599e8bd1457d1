package cli

import (
	"github.com/netlab/netlab/internal/dockerhost"
	"github.com/spf13/cobra"
)

// newRuncWrapperCmd is the hidden runtime that `netlab doctor --fix`
// registers with dockerd (through a generated script): it strips
// capabilities the host cannot grant from the OCI spec and execs runc.
func newRuncWrapperCmd(_ Streams) *cobra.Command {
	return &cobra.Command{
		Use:                "runc-wrapper --runc PATH -- RUNC-ARGS...",
		Short:              "Docker runtime that drops capabilities missing from the bounding set, then runs runc",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			return dockerhost.WrapperMain(args)
		},
	}
}
