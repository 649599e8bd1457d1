package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/kindlab"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/spf13/cobra"
)

// running describes a lab's enforcer processes.
func running(pids []int) string {
	switch len(pids) {
	case 0:
		return "NOT RUNNING"
	case 1:
		return fmt.Sprintf("running (pid %d)", pids[0])
	}
	return fmt.Sprintf("running (pids %v: more than one)", pids)
}

func agentState(st *sandbox.State, i int) string {
	if st.AgentRunning(i) {
		return fmt.Sprintf("running (pid %d)", st.Pods[i].PID)
	}
	return "NOT RUNNING"
}

// printHealth says what of a running lab is broken and how to repair it.
func printHealth(out io.Writer, h sandbox.Health) {
	if h.Repair == "" {
		return
	}
	var what []string
	if len(h.EnforcerPIDs) == 0 {
		what = append(what, "the enforcer")
	}
	if len(h.DeadAgents) > 0 {
		what = append(what, "agents of "+strings.Join(h.DeadAgents, ", "))
	}
	if len(h.MissingNetns) > 0 {
		what = append(what, "namespaces "+strings.Join(h.MissingNetns, ", "))
	}
	fmt.Fprintf(out, "  NOT RUNNING: %s\n  repair: %s\n", strings.Join(what, "; "), h.Repair)
}

// orphan is one thing on the host that no running lab owns.
type orphan struct {
	Backend string `json:"backend"`
	Lab     string `json:"lab,omitempty"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	PID     int    `json:"pid,omitempty"`
	Why     string `json:"why"`

	cluster *kindlab.Cluster
}

func (o orphan) String() string {
	if o.Kind == sandbox.KindProcess {
		return fmt.Sprintf("process %d (%s)", o.PID, o.Name)
	}
	return o.Kind + " " + o.Name
}

// hostOrphans is what 'netlab gc' would remove: sandbox resources and
// kind clusters netlab made that no running lab owns. With a netlab kind
// cluster on the host, TCX links its nodes' enforcers hold cannot be told
// from strays, so they are not listed.
func hostOrphans(ctx context.Context) []orphan {
	var out []orphan
	clusters, err := kindlab.Clusters(ctx)
	if err != nil {
		out = append(out, orphan{Backend: backend.Kind, Kind: "error", Name: err.Error(), Why: "cannot list kind clusters"})
	}
	for _, o := range sandbox.Orphans(len(clusters) > 0) {
		out = append(out, orphan{Backend: backend.Sandbox, Lab: o.Lab, Kind: o.Kind, Name: o.Name, PID: o.PID, Why: o.Why})
	}
	for i, c := range clusters {
		if c.Orphan() {
			out = append(out, orphan{Backend: backend.Kind, Lab: c.Name, Kind: "kind-cluster", Name: c.Name + " (" + strings.Join(c.Containers, ", ") + ")",
				Why: "netlab made it, and its lab's state " + c.StateDir + " is gone", cluster: &clusters[i]})
		}
	}
	return out
}

func printOrphans(out io.Writer, orphans []orphan) {
	if len(orphans) == 0 {
		return
	}
	fmt.Fprintf(out, "%d things on this host belong to no running lab ('sudo netlab gc' removes them):\n", len(orphans))
	for _, o := range orphans {
		fmt.Fprintf(out, "  %s: %s\n", o, o.Why)
	}
}

// removeOrphans removes what hostOrphans found, lab by lab, each under its
// lab's lock and checked again there.
func removeOrphans(orphans []orphan) error {
	var errs []error
	done := map[string]bool{}
	for _, o := range orphans {
		switch {
		case o.cluster != nil:
			if err := kindlab.RemoveOrphan(*o.cluster); err != nil {
				errs = append(errs, err)
			}
		case o.Backend == backend.Sandbox && o.Lab != "":
			if done[o.Lab] {
				continue
			}
			done[o.Lab] = true
			if err := sandbox.RemoveOrphans(o.Lab); err != nil {
				errs = append(errs, fmt.Errorf("lab %s: %w", o.Lab, err))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: not removed (%s): no netlab pin directory holds it; find the process or pin that does", o, o.Why))
		}
	}
	return errors.Join(errs...)
}

func newGCCmd(s Streams) *cobra.Command {
	var output string
	var dryRun, check bool
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove what netlab left on this host that no running lab owns",
		Long: `gc lists and removes every netlab resource on this host that no running
lab owns: network namespaces (netlab.LAB...), bpffs pins and the TCX links
pinned there, agent and enforcer processes, state directories, and kind
clusters netlab created (their nodes mount the lab's owner directory;
clusters netlab did not create are never touched). It works from what is
on the host, not from the state files, so it finds what an up killed
halfway or a lost state directory left. A lab that has state is running
and is left alone (see 'netlab status' for how to repair it); so is a lab
a netlab command is working on.

--dry-run only lists; --check exits 1 when anything is listed (make
test's leak check).`,
		Example: `  netlab gc --dry-run
  sudo netlab gc
  netlab gc --dry-run -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if !dryRun && os.Geteuid() != 0 {
				return errNeedRoot
			}
			orphans := hostOrphans(cmd.Context())
			var err error
			if !dryRun {
				err = removeOrphans(orphans)
			}
			if output == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				res := struct {
					Orphans []orphan `json:"orphans"`
					Removed bool     `json:"removed"`
					Error   string   `json:"error,omitempty"`
				}{Orphans: append([]orphan{}, orphans...), Removed: !dryRun && err == nil}
				if err != nil {
					res.Error = err.Error()
				}
				if eerr := enc.Encode(res); eerr != nil {
					return eerr
				}
			} else {
				verb := "would remove"
				if !dryRun {
					verb = "removed"
				}
				if len(orphans) == 0 {
					fmt.Fprintln(s.Out, "Nothing to remove: everything netlab made on this host belongs to a running lab.")
				}
				for _, o := range orphans {
					fmt.Fprintf(s.Out, "%s %s: %s\n", verb, o, o.Why)
				}
			}
			if err != nil {
				return err
			}
			if check && len(orphans) > 0 {
				return ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only list what would be removed")
	cmd.Flags().BoolVar(&check, "check", false, "exit 1 if anything was found")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
