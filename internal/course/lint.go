package course

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/labs"
)

// TaskLint is what a dataplane lint found for one task.
type TaskLint struct {
	Task  string        `json:"task"`
	Cells int           `json:"cells"`
	OK    bool          `json:"ok"`
	Probe time.Duration `json:"probeNanos"`
	// Result is the grade of the reference solution's measured matrix:
	// anything but a pass is a broken lab (or a dataplane bug).
	Result *grade.Result `json:"result"`
}

// Lint brings lab l up on rt, applies each task's reference solution in
// turn, probes it and grades the measurement against the task's expected
// matrix; then it tears the lab down. progress (may be nil) gets a line
// per task.
func Lint(ctx context.Context, rt backend.Lab, l *labs.Lab, timeout time.Duration, progress io.Writer) (out []TaskLint, err error) {
	if err := UpLab(ctx, rt, l, nil); err != nil {
		return nil, fmt.Errorf("lab %s: starting it: %w", l.Name, err)
	}
	defer func() {
		if derr := rt.Down(context.WithoutCancel(ctx), nil); derr != nil && err == nil {
			err = fmt.Errorf("lab %s: tearing it down: %w", l.Name, derr)
		}
	}()
	for _, t := range l.Tasks {
		if err := enterState(ctx, rt, t, t.SolvedWorld(), true); err != nil {
			return out, fmt.Errorf("task %s: applying the reference solution: %w", t.ID(), err)
		}
		start := time.Now()
		res, m, err := CheckTask(ctx, rt, t, timeout, grade.Options{})
		if err != nil {
			return out, fmt.Errorf("task %s: probing: %w", t.ID(), err)
		}
		out = append(out, TaskLint{Task: t.ID(), Cells: len(m.Results), OK: res.Passed, Probe: time.Since(start), Result: res})
		if progress != nil {
			mark := "✓"
			if !res.Passed {
				mark = "✗"
			}
			fmt.Fprintf(progress, "  %s %s: %d cells probed in %s\n", mark, t.ID(), len(m.Results), time.Since(start).Round(time.Millisecond))
		}
	}
	return out, nil
}
