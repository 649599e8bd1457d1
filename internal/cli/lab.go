package cli

import (
	"os"

	"github.com/netlab/netlab/internal/sandbox"
	"github.com/spf13/cobra"
)

// labFlag is --name, shared by every command that acts on a running lab.
type labFlag struct{ name string }

func (f *labFlag) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.name, "name", "", "lab name (default: the only lab running)")
}

// resolve returns the lab meant, checking privileges first.
func (f *labFlag) resolve() (string, error) {
	if os.Geteuid() != 0 {
		return "", errNeedRoot
	}
	return sandbox.Resolve(f.name)
}
