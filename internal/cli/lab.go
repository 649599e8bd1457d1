package cli

import (
	"fmt"
	"os"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/currentlab"
	"github.com/netlab/netlab/internal/kindlab"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/spf13/cobra"
)

// labFlag is --name, shared by every command that acts on a running lab.
type labFlag struct{ name string }

func (f *labFlag) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.name, "name", "", "lab name (default: the current lab, set by up and lab start; else the only lab running)")
}

// meant is the lab name the command means: --name, else the current lab
// while it runs, else "" (the only lab running).
func (f *labFlag) meant() string {
	if f.name != "" {
		return f.name
	}
	return runningCurrent()
}

// runningCurrent is the current lab if it still runs, else "".
func runningCurrent() string {
	cur := currentlab.Get()
	if cur == "" {
		return ""
	}
	if kindlab.Exists(cur) {
		return cur
	}
	if _, err := sandbox.Load(cur); err == nil {
		return cur
	}
	return ""
}

// resolve returns the sandbox lab meant, checking privileges first.
func (f *labFlag) resolve() (string, error) {
	if os.Geteuid() != 0 {
		return "", errNeedRoot
	}
	return sandbox.Resolve(f.meant())
}

// setCurrent makes lab the current one; failing to is worth a warning,
// not a failed command.
func setCurrent(s Streams, lab string) {
	if err := currentlab.Set(lab); err != nil {
		fmt.Fprintf(s.Err, "warning: could not make %s the current lab: %v\n", lab, err)
	}
}

// applyCommand is how to apply policies in lab, as a command that works as
// printed whatever else runs: netlab apply on the sandbox, kubectl on a
// cluster.
func applyCommand(lab backend.Lab, file string) string {
	if lab.Backend() == backend.Kind {
		return "kubectl --context kind-" + lab.Name() + " apply -f " + file
	}
	return "netlab apply --name " + lab.Name() + " -f " + file
}
