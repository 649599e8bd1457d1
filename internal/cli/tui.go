package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/course"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/progress"
	"github.com/netlab/netlab/labs"
	"github.com/netlab/netlab/tui"
	"github.com/spf13/cobra"
)

func newTUICmd(s Streams) *cobra.Command {
	var lab, where string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "tui",
		Short: "The interactive course: pick a lab, read the task, watch the grid, check (also: netlab with no arguments)",
		Long: `tui is the course in a terminal: a lab picker, then the lesson screen with
the task's brief, the reachability grid (probed again whenever you apply
policies or change labels from another terminal), the enforcer's live
verdicts, c to check, h for a hint, n for the next task. It runs the lab
on the sandbox (root) or, with --backend kind, on a kind cluster, and
keeps your progress as 'netlab lab' does. It
fits 80x24 and has no colours when NO_COLOR is set.`,
		Example: `  sudo netlab
  sudo netlab tui --lab default-deny`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTUI(cmd.Context(), s, lab, where, timeout)
		},
	}
	cmd.Flags().StringVar(&where, "backend", "", "where labs start: sandbox, or kind (a real cluster; Docker); default: where the course lab runs, else sandbox")
	cmd.Flags().StringVar(&lab, "lab", "", "start this lab at once instead of showing the picker")
	addTimeoutFlag(cmd, &timeout, "of the grid and the checks")
	return cmd
}

func runTUI(ctx context.Context, s Streams, lab, where string, timeout time.Duration) error {
	if os.Geteuid() != 0 {
		return errNeedRoot
	}
	st, err := progress.Open()
	if err != nil {
		return err
	}
	opts := tui.Options{Lab: lab, AltScreen: true, In: s.In, Out: s.Out}
	ls := &lessons{store: st, timeout: timeout, backend: where}
	err = tui.Run(ctx, ls, opts)
	// Back on the normal screen: a lab left running says so, and how to
	// remove it.
	rt := ls.started
	if rt == nil {
		rt = ls.session(nil).Runtime()
	}
	course := ""
	if f, ferr := st.Load(); ferr == nil {
		course = f.Current
	}
	quitNotice(s.Err, rt, course)
	return err
}

// quitNotice tells a learner leaving the TUI that the course lab still
// runs (it keeps using memory, processes and namespaces), how to come back
// and how to remove it. Nothing is said when no lab runs.
func quitNotice(w io.Writer, lab backend.Lab, course string) {
	if _, up := lab.Running(); !up {
		return
	}
	what := "Lab " + lab.Name()
	if course != "" {
		what += " (" + course + ")"
	}
	// Each line fits 80 columns.
	fmt.Fprintf(w, "%s is still running; 'netlab tui' resumes it.\nRemove it with: netlab down --name %s\n", what, lab.Name())
}

// lessons adapts the course session to the TUI.
type lessons struct {
	store   progress.Store
	timeout time.Duration
	backend string
	started backend.Lab // the lab Start brought up, if any
}

func (l *lessons) session(progressLine func(string)) *course.Session {
	sess := &course.Session{Store: l.store, Timeout: l.timeout, Backend: l.backend}
	if progressLine != nil {
		sess.Progress = lineWriter(progressLine)
	}
	return sess
}

func (l *lessons) Labs(ctx context.Context) ([]tui.LabInfo, error) {
	all, err := labs.List()
	if err != nil {
		return nil, err
	}
	f, err := l.store.Load()
	if err != nil {
		return nil, err
	}
	sess := l.session(nil)
	_, up := sess.Runtime().Running()
	var out []tui.LabInfo
	for _, lab := range all {
		info := tui.LabInfo{Name: lab.Name, Title: lab.Title, Summary: lab.Summary, Tasks: len(lab.Tasks),
			Running: up && f.Current == lab.Name}
		if lp, ok := f.Labs[lab.Name]; ok {
			info.Passed = len(lp.Passed)
		}
		out = append(out, info)
	}
	return out, nil
}

func (l *lessons) Start(ctx context.Context, name string, progressLine func(string)) (tui.Lesson, error) {
	sess := l.session(progressLine)
	pos, err := sess.Start(ctx, name)
	if err != nil {
		return nil, err
	}
	l.started = sess.Runtime()
	setCurrent(Streams{Err: io.Discard}, l.started.Name())
	return &lesson{sess: sess, pos: pos, apply: applyCommand(l.started, "FILE")}, nil
}

// lesson is one running lab for the TUI.
type lesson struct {
	sess  *course.Session
	apply string // how to apply policies, for the status line
	mu    sync.Mutex
	pos   course.Position
}

func (l *lesson) position() course.Position {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pos
}

func (l *lesson) Task() tui.TaskInfo {
	pos := l.position()
	info := tui.TaskInfo{Lab: pos.Lab.Name, LabTitle: pos.Lab.Title, Total: len(pos.Lab.Tasks)}
	t := pos.Task
	if t == nil { // finished: show the last task as passed
		t = pos.Lab.Tasks[len(pos.Lab.Tasks)-1]
	}
	info.Index, info.Name, info.Title, info.Brief, info.Points = t.Index, t.Name, t.Title, t.Brief, t.Points
	info.Hints = len(t.Hints)
	if pos.Task != nil {
		info.Revealed = append(info.Revealed, t.Hints[:min(pos.Done.HintsShown, len(t.Hints))]...)
	}
	_, info.Passed = pos.Done.Passed[t.Name]
	info.Apply = l.apply
	return info
}

func (l *lesson) Grid(ctx context.Context) (*matrix.Matrix, error) {
	return l.sess.Probe(ctx)
}

// Changes polls the lab's version, which every apply, delete and label
// changes (the sandbox's state generation; on kind, the hash of what the
// API server holds).
func (l *lesson) Changes(ctx context.Context) (<-chan struct{}, error) {
	rt := l.sess.Runtime()
	last, err := rt.Version(ctx)
	if err != nil {
		return nil, err
	}
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			v, err := rt.Version(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				continue
			}
			if v != last {
				last = v
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	return ch, nil
}

func (l *lesson) Events(ctx context.Context) (<-chan tui.Event, error) {
	rt := l.sess.Runtime()
	if !l.enforcing() {
		return nil, nil // no enforcer, no verdicts: the panel is hidden
	}
	desc, err := newEventDescriber(rt)
	if err != nil {
		return nil, err
	}
	cutoff := time.Now() // the panel is live: no verdicts from before
	evs, err := rt.Events(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan tui.Event, 64)
	go func() {
		defer close(out)
		for ev := range newerThan(ctx, evs, cutoff) {
			select {
			case out <- tui.Event{Time: ev.Time, Allowed: ev.Allowed, Text: desc.describe(ev)}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// enforcing reports whether the current task runs with an enforcer.
func (l *lesson) enforcing() bool {
	pos := l.position()
	return pos.Task == nil || pos.Task.Enforcer != labs.EnforcerNone
}

func (l *lesson) Check(ctx context.Context) (*tui.CheckResult, error) {
	res, m, err := l.sess.Check(ctx)
	if err != nil {
		return nil, err
	}
	if pos, err := l.sess.Current(); err == nil {
		l.mu.Lock()
		l.pos = pos
		l.mu.Unlock()
	}
	return checkResult(res, m), nil
}

// checkResult is a grade in the TUI's terms: the verdict alone as Summary
// (the TUI adds cells and points), the wrong cells, grouped by the change
// that fixes them.
func checkResult(res *grade.Result, m *matrix.Matrix) *tui.CheckResult {
	out := &tui.CheckResult{Passed: res.Passed, Correct: res.Correct, Cells: res.Cells, Points: res.Points,
		MaxPoints: res.MaxPoints, Explanation: res.Explanation, Grid: m}
	if !res.Passed {
		// The verdict alone: the TUI adds the cells and points itself.
		out.Summary = res.VerdictText()
	}
	if res.SolutionShown {
		out.Note = "0 points: the solution was shown before this pass"
	}
	add := func(cells []grade.Cell, status tui.CellStatus) {
		for _, g := range grade.Groups(cells) {
			group := 0
			if len(g.Cells) > 1 {
				out.Groups = append(out.Groups, tui.WrongGroup{Side: g.Side, Flows: g.Flows, Cells: len(g.Cells), Why: g.Why, Hint: g.Hint})
				group = len(out.Groups)
			}
			for _, c := range g.Cells {
				out.Wrong = append(out.Wrong, tui.WrongCell{From: c.From, To: c.To, Port: c.Port, Protocol: c.Protocol,
					Status: status, Allowed: c.Got == "allowed", Detail: c.Detail, Why: c.Why, Hint: c.Hint, Group: group})
			}
		}
	}
	add(res.Missing, tui.Missing)
	add(res.Leaked, tui.Leaked)
	add(res.Unmeasured, tui.Unmeasured)
	return out
}

func (l *lesson) Hint(ctx context.Context) (string, bool, error) {
	pos := l.position()
	if pos.Task == nil || pos.Done.HintsShown >= len(pos.Task.Hints) {
		return "", false, nil
	}
	text, _, _, err := l.sess.Hint()
	if err != nil {
		return "", false, err
	}
	if p, err := l.sess.Current(); err == nil {
		l.mu.Lock()
		l.pos = p
		l.mu.Unlock()
	}
	return text, true, nil
}

func (l *lesson) Next(ctx context.Context) (bool, error) {
	pos, advanced, err := l.sess.Next(ctx)
	if err != nil {
		return false, err
	}
	l.mu.Lock()
	l.pos = pos
	l.mu.Unlock()
	return advanced && !pos.Finished(), nil
}

// lineWriter calls fn with each line written to it.
type lineWriter func(string)

func (w lineWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "•")); line != "" {
			w(line)
		}
	}
	return len(p), nil
}
