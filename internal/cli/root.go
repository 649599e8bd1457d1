// Package cli is netlab's command line: a thin cobra layer over the library
// packages. Each command lives in its own small file.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/netlab/netlab/internal/agent"
	"golang.org/x/term"
	"k8s.io/klog/v2"

	"github.com/spf13/cobra"
)

// Streams are where a command reads and writes; tests pass buffers.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// ExitError carries a specific exit status (e.g. verify's mismatches)
// without printing anything more.
type ExitError struct{ Code int }

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Main runs netlab with args and returns the process exit status.
func Main(args []string, in io.Reader, out, errOut io.Writer) int {
	// client-go reports connection teardowns it handled (e.g. an event
	// stream we cancelled) through klog; netlab reports its own errors.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	root := NewRoot(Streams{In: in, Out: out, Err: errOut})
	root.SetArgs(args)
	// Ctrl-C (or SIGTERM) cancels the command's context, which reading
	// manifests and the labs honour; a second one ends netlab at once. The
	// cause says which signal came, so that a command with cleanup of its
	// own (grade) reports it and exits 128+signal, whichever of the two
	// handlers sees the signal first.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		sig := <-sigs
		cancel(interrupted{sig})
		signal.Stop(sigs)
	}()
	if err := root.ExecuteContext(ctx); err != nil {
		var ee ExitError
		if errors.As(err, &ee) {
			return ee.Code
		}
		fmt.Fprintf(errOut, "error: %v\n", platformError(err, runtime.GOOS))
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return 130
		}
		return 1
	}
	return 0
}

const rootLong = `netlab turns Kubernetes NetworkPolicy into a lab you can break and fix.

A cluster is flat by default: every pod reaches every other pod. A
NetworkPolicy that selects a pod isolates it in the directions named in its
policyTypes (Ingress, Egress); from then on only what some rule of some
selecting policy allows gets through. Policies only ever add allowances and
OR together, and a connection needs both sides: the source's egress and the
destination's ingress.

netlab answers "is this allowed, and why?" three ways:
  sim      predicts the whole reachability matrix from the policies (no cluster)
  explain  says which policy and rule admit a connection, or the nearest miss
  probe    (on a running lab) sends real packets through netlab's eBPF enforcer

World files are ordinary Kubernetes manifests: Namespaces, Pods (labels,
container ports, status.podIP), Services and NetworkPolicies, as YAML, JSON
or the List that 'kubectl get ns,pods,svc,netpol -A -o yaml' prints.`

const rootExample = `  # What do these policies allow in the netpol-lab scenario?
  netlab sim --scenario netpol-lab -f assets/examples/netpol-lab/

  # Why can (or can't) the frontend reach the backend?
  netlab explain --scenario netpol-lab -f assets/examples/netpol-lab/ \
      --from netpol-lab/frontend --to netpol-lab/backend --port 8080

  # Egress to the internet
  netlab explain -f world.yaml --from web/api --to-ip 203.0.113.7 --port 443`

// NewRoot builds the command tree.
func NewRoot(s Streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "netlab",
		Short:         "Kubernetes NetworkPolicy labs: simulate, enforce, probe, grade",
		Long:          rootLong + "\n\n" + platformHelp,
		Example:       rootExample,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// With no command on a terminal, netlab opens the course (the TUI);
	// anywhere else it prints help, as before.
	root.Args = cobra.NoArgs
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		if f, ok := s.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return runTUI(cmd.Context(), s, "", "", agent.DefaultTimeout)
		}
		return cmd.Help()
	}
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		return checkPlatform(cmd, runtime.GOOS)
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.AddCommand(
		newVersionCmd(s),
		newSimCmd(s),
		newExplainCmd(s),
		newUpCmd(s),
		newStatusCmd(s),
		newApplyCmd(s),
		newDeleteCmd(s),
		newLabelCmd(s),
		newProbeCmd(s),
		newVerifyCmd(s),
		newEventsCmd(s),
		newDownCmd(s),
		newGCCmd(s),
		newEnforcerCmd(s),
		newAgentCmd(s),
		newNodeAgentCmd(s),
		newDoctorCmd(s),
		newRuncWrapperCmd(s),
		newNodeImageCmd(s),
		newLabCmd(s),
		newGradeCmd(s),
		newTUICmd(s),
	)
	return root
}
