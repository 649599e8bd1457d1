// Package labsandbox runs labs on the sandbox backend: it brings a lab's
// scenario up, puts a running lab into a task's starting or solved state,
// probes the task's cells and lints a lab with real packets (the reference
// solution of every task, applied and probed, must give exactly the
// expected matrix). It needs root, like the sandbox.
package labsandbox

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/labs"
)

// Options for the functions of this package.
type Options struct {
	// Self is the netlab binary the agents run as (default: this
	// executable).
	Self string
	// Timeout is the probe timeout per cell (default 1s).
	Timeout  time.Duration
	Progress io.Writer
}

// Up starts the lab's scenario as sandbox lab name, in the first task's
// starting state.
func Up(ctx context.Context, l *labs.Lab, name string, o Options) (*sandbox.State, error) {
	t := l.Tasks[0]
	return sandbox.Up(ctx, stateWorld(t, false), sandbox.Options{Name: name, Scenario: l.Scenario, Progress: o.Progress, Self: o.Self, Enforcement: Enforcement(t)})
}

// Enforcement is the sandbox enforcer mode of task t: a task without an
// enforcer runs with the enforcer holding no policies, as a cluster whose
// network plugin ignores NetworkPolicy (the policies are stored).
func Enforcement(t *labs.Task) string {
	if t.Enforcer == labs.EnforcerNone {
		return sandbox.EnforceNone
	}
	return sandbox.EnforceEBPF
}

// stateWorld is the world a running lab holds for task t: the task's labels
// and its starting (or, with solved, its reference) policies.
func stateWorld(t *labs.Task, solved bool) *world.World {
	if solved {
		return t.SolvedWorld()
	}
	return t.StartWorld()
}

// Enter makes the running lab name hold exactly task t's state: its labels,
// its enforcer mode and its starting policies (or the reference
// solution's, with solved). Policies the lab had that the state lacks are
// deleted.
func Enter(name string, t *labs.Task, solved bool) error {
	if _, err := sandbox.SetEnforcement(name, Enforcement(t)); err != nil {
		return err
	}
	want := stateWorld(t, solved)
	_, err := sandbox.Change(name, func(w *world.World) error {
		for _, ns := range w.Namespaces {
			if n := want.Namespace(ns.Name); n != nil {
				ns.Labels = n.Labels
			}
		}
		for _, p := range w.Pods {
			if q := want.Pod(p.Key()); q != nil {
				p.Labels = q.Labels
			}
		}
		w.Policies = want.Policies
		return nil
	})
	return err
}

// Probe measures task t's cells in the running lab name.
func Probe(ctx context.Context, name string, t *labs.Task, o Options) (*matrix.Matrix, error) {
	return sandbox.Probe(ctx, name, sandbox.ProbeOptions{Timeout: o.Timeout, Internet: t.Lab.Internet, Self: o.Self})
}

// Check probes the running lab name and grades task t; the applied world
// (for explanations) is the lab's saved state.
func Check(ctx context.Context, name string, t *labs.Task, o Options, g grade.Options) (*grade.Result, error) {
	m, err := Probe(ctx, name, t, o)
	if err != nil {
		return nil, err
	}
	st, err := sandbox.Load(name)
	if err != nil {
		return nil, err
	}
	return grade.Task(t, st.World, m, g), nil
}

// TaskLint is what the sandbox lint found for one task.
type TaskLint struct {
	Task  string        `json:"task"`
	Cells int           `json:"cells"`
	OK    bool          `json:"ok"`
	Probe time.Duration `json:"probeNanos"`
	// Result is the grade of the reference solution's measured matrix:
	// anything but a pass is a broken lab (or a dataplane bug).
	Result *grade.Result `json:"result"`
}

// Lint brings lab l up as sandbox lab name, applies each task's reference
// solution in turn, probes it and grades the measurement against the
// task's expected matrix; then it tears the lab down.
func Lint(ctx context.Context, l *labs.Lab, name string, o Options) (out []TaskLint, err error) {
	if _, err := Up(ctx, l, name, Options{Self: o.Self}); err != nil {
		return nil, fmt.Errorf("lab %s: starting the sandbox: %w", l.Name, err)
	}
	defer func() {
		if derr := sandbox.Down(name, nil); derr != nil && err == nil {
			err = fmt.Errorf("lab %s: tearing down sandbox %s: %w", l.Name, name, derr)
		}
	}()
	for _, t := range l.Tasks {
		if err := Enter(name, t, true); err != nil {
			return out, fmt.Errorf("task %s: applying the reference solution: %w", t.ID(), err)
		}
		start := time.Now()
		m, err := Probe(ctx, name, t, o)
		if err != nil {
			return out, fmt.Errorf("task %s: probing: %w", t.ID(), err)
		}
		res := grade.Task(t, t.SolvedWorld(), m, grade.Options{})
		out = append(out, TaskLint{Task: t.ID(), Cells: len(m.Results), OK: res.Passed, Probe: time.Since(start), Result: res})
		if o.Progress != nil {
			mark := "✓"
			if !res.Passed {
				mark = "✗"
			}
			fmt.Fprintf(o.Progress, "  %s %s: %d cells probed in %s\n", mark, t.ID(), len(m.Results), time.Since(start).Round(time.Millisecond))
		}
	}
	return out, nil
}
