package cli

import (
	"errors"
	"fmt"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/hostnet"
	"github.com/spf13/cobra"
)

// platformHelp is the part of 'netlab --help' that says what runs where.
const platformHelp = `The sandbox backend (the default of up, grade, lab start and the TUI), the
enforcer, the node agent and the runc wrapper need Linux (network
namespaces and eBPF) and root. sim, explain, lab list, lab lint and the
kind backend (--backend kind) run on any system.`

// linuxCommands need Linux whatever their flags: the dataplane and the
// daemons that run on a Linux host or a kind node.
var linuxCommands = map[string]bool{
	"netlab enforcer":     true,
	"netlab node-agent":   true,
	"netlab runc-wrapper": true,
}

// labStarters start a lab on the backend named by --backend.
var labStarters = map[string]bool{
	"netlab up":        true,
	"netlab grade":     true,
	"netlab lab start": true,
	"netlab tui":       true,
}

// needLinux is the end of every "needs Linux" error on goos.
func needLinux(goos string) string {
	return fmt.Sprintf("needs Linux (network namespaces and eBPF); on %s netlab runs sim, explain, lab list, lab lint and --backend kind", goos)
}

// checkPlatform refuses, before it does anything, a command that cannot
// work on goos: a Linux-only command, or a lab on the sandbox backend.
func checkPlatform(cmd *cobra.Command, goos string) error {
	if goos == "linux" {
		return nil
	}
	for c := cmd; c != nil; c = c.Parent() {
		if linuxCommands[c.CommandPath()] {
			return fmt.Errorf("'%s' %s", cmd.CommandPath(), needLinux(goos))
		}
	}
	if !labStarters[cmd.CommandPath()] {
		if f := cmd.Flags().Lookup("sandbox"); f != nil && f.Value.String() == "true" {
			return fmt.Errorf("'%s --sandbox': the sandbox backend %s", cmd.CommandPath(), needLinux(goos))
		}
		return nil
	}
	if f := cmd.Flags().Lookup("backend"); f != nil && f.Value.String() == backend.Sandbox {
		return fmt.Errorf("'%s': the sandbox backend %s", cmd.CommandPath(), needLinux(goos))
	}
	return nil
}

// platformError says in words that an error from deep in the sandbox
// (or its root check, which is meaningless there) means goos is not Linux.
func platformError(err error, goos string) error {
	if goos == "linux" || err == nil {
		return err
	}
	if errors.Is(err, backend.ErrNeedRoot) || errors.Is(err, hostnet.ErrUnsupported) || errors.Is(err, enforcer.ErrUnsupported) {
		return fmt.Errorf("the sandbox backend %s", needLinux(goos))
	}
	return err
}
