package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/netlab/netlab/internal/sandbox"
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

// hostOrphans is what 'netlab gc' would remove.
func hostOrphans(ctx context.Context) []sandbox.Orphan {
	return sandbox.Orphans(false)
}

func printOrphans(out io.Writer, orphans []sandbox.Orphan) {
	if len(orphans) == 0 {
		return
	}
	fmt.Fprintf(out, "%d things on this host belong to no running lab ('sudo netlab gc' removes them):\n", len(orphans))
	for _, o := range orphans {
		fmt.Fprintf(out, "  %s: %s\n", o.Resource, o.Why)
	}
}
