// Package course is a learner's session in the embedded labs: which lab
// runs, which task is current, checking it with real probes, hints, the
// reference solution, and resetting a task. The session runs in one
// running lab (Instance) on the sandbox or the kind backend and remembers
// its place in the progress file, so it survives 'netlab down' and
// 'netlab up'.
package course

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/progress"
	"github.com/netlab/netlab/labs"
)

// Instance is the name of the running lab the course uses, on either backend.
const Instance = "course"

// ErrNoCurrent means no lab was started yet.
var ErrNoCurrent = errors.New("no lab in progress: start one with 'netlab lab start NAME' (see 'netlab lab list')")

// ErrNoMoreHints means every hint of the current task was shown already.
var ErrNoMoreHints = errors.New("no more hints")

// Session drives the course.
type Session struct {
	Store progress.Store
	// Instance is the running lab's name (default Instance).
	Instance string
	// Self is the netlab binary agents run as (default: this executable).
	Self string
	// Timeout is the probe timeout (0: agent.DefaultTimeout).
	Timeout time.Duration
	// Progress receives a line per step of long operations (nil: quiet).
	Progress io.Writer
	// Backend is where Start brings a lab up: backend.Sandbox or Kind; empty
	// means where the course lab already runs, else the sandbox. The other
	// calls use the backend the lab runs on.
	Backend string
	// Lab, when set, is the running lab the session drives whatever
	// Backend says (tests pass a fake); by default the lab called Instance
	// on the backend that runs it.
	Lab backend.Lab
}

// Position is where the learner is.
type Position struct {
	Lab  *labs.Lab
	Task *labs.Task // nil once the lab is finished
	Done *progress.Lab
	// StartedOver is set by Start when the lab had been finished before:
	// it starts again at its first task (the best scores are kept), and
	// Before is the score it had.
	StartedOver bool
	Before      float64
}

// Finished reports whether every task of the lab passed.
func (p Position) Finished() bool { return p.Task == nil }

func (s *Session) instance() string {
	if s.Instance == "" {
		return Instance
	}
	return s.Instance
}

// Runtime is the running lab the session drives.
func (s *Session) Runtime() backend.Lab {
	if s.Lab != nil {
		return s.Lab
	}
	return backend.Where(s.instance(), s.Self)
}

// Current returns the learner's position in the lab in progress.
func (s *Session) Current() (Position, error) {
	f, err := s.Store.Load()
	if err != nil {
		return Position{}, err
	}
	if f.Current == "" {
		return Position{}, ErrNoCurrent
	}
	return position(f, f.Current)
}

func position(f *progress.File, name string) (Position, error) {
	l, err := labs.Get(name)
	if err != nil {
		return Position{}, err
	}
	lp := f.Lab(name)
	pos := Position{Lab: l, Done: lp}
	if lp.Task < len(l.Tasks) {
		pos.Task = l.Tasks[max(lp.Task, 0)]
	}
	return pos, nil
}

// Start makes lab name the current one and brings its sandbox up in the
// state of the learner's current task. If the sandbox already runs this
// lab it is left as it is (the learner's policies stay); a sandbox running
// another lab is replaced.
func (s *Session) Start(ctx context.Context, name string) (Position, error) {
	l, err := labs.Get(name)
	if err != nil {
		return Position{}, err
	}
	var prev string
	over, before := false, 0.0
	err = s.Store.Update(func(f *progress.File) error {
		prev = f.Current
		f.Current = l.Name
		lp := f.Lab(l.Name)
		if lp.Task >= len(l.Tasks) {
			// Finished earlier: start over, keeping the scores, and say so.
			lp.Task, lp.HintsShown, lp.SolutionShown = 0, 0, false
			over, before = true, lp.Score()
		}
		lp.Updated = time.Now().UTC()
		return nil
	})
	if err != nil {
		return Position{}, err
	}
	pos, err := s.Current()
	if err != nil {
		return Position{}, err
	}
	pos.StartedOver, pos.Before = over, before
	rt := s.Runtime() // without a backend, stay where the course runs
	if s.Backend != "" && s.Lab == nil {
		if rt, err = backend.New(s.Backend, s.instance(), s.Self); err != nil {
			return pos, err
		}
	}
	if l.Internet && rt.Backend() != backend.Sandbox {
		return pos, fmt.Errorf("lab %s needs the internet host, which only the sandbox backend has", l.Name)
	}
	running := false
	if old := s.Runtime(); old.Backend() != rt.Backend() {
		if _, up := old.Running(); up {
			if err := old.Down(ctx, s.Progress); err != nil {
				return pos, fmt.Errorf("stopping the previous lab: %w", err)
			}
		}
	}
	if scenario, up := rt.Running(); up {
		if prev == l.Name && scenario == l.Scenario {
			running = true
		} else if err := rt.Down(ctx, s.Progress); err != nil {
			return pos, fmt.Errorf("stopping the previous lab: %w", err)
		}
	}
	if !running {
		if err := UpLab(ctx, rt, l, s.Progress); err != nil {
			return pos, err
		}
	}
	if !running || over {
		// A lab started over holds its last task's state: the first
		// task starts afresh.
		if err := s.enter(ctx, pos.Task, true); err != nil {
			return pos, err
		}
	}
	return pos, nil
}

// enter puts the running lab into task t's starting state: its labels and
// enforcer always; its starting policies when the lab gives the task its
// own (always, with fresh), otherwise the learner's policies stay.
func (s *Session) enter(ctx context.Context, t *labs.Task, fresh bool) error {
	if t == nil {
		return nil
	}
	return enterTask(ctx, s.Runtime(), t, fresh || t.StartYAML != "")
}

// Check probes the running lab and grades the current task; it returns
// the grade and the measured matrix. A pass is recorded (no points if the
// solution was shown first); Next then moves on.
func (s *Session) Check(ctx context.Context) (*grade.Result, *matrix.Matrix, error) {
	pos, err := s.Current()
	if err != nil {
		return nil, nil, err
	}
	if pos.Finished() {
		return nil, nil, fmt.Errorf("lab %s is finished (%s of %d points); 'netlab lab start %s' starts it over", pos.Lab.Name, grade.FormatPoints(pos.Done.Score()), pos.Lab.Points(), pos.Lab.Name)
	}
	rt := s.Runtime()
	if _, up := rt.Running(); !up {
		return nil, nil, fmt.Errorf("the lab is not running: 'netlab lab start %s' brings it back where you were", pos.Lab.Name)
	}
	res, m, err := CheckTask(ctx, rt, pos.Task, s.Timeout, grade.Options{HintsShown: pos.Done.HintsShown})
	if err != nil {
		return nil, nil, err
	}
	if pos.Done.SolutionShown {
		// What 'lab status' will record: a task whose solution was seen
		// earns nothing, so the check says so too.
		res.Points, res.SolutionShown = 0, true
	}
	if !res.Passed {
		return res, m, nil
	}
	err = s.Store.Update(func(f *progress.File) error {
		lp := f.Lab(pos.Lab.Name)
		points := res.Points
		if lp.SolutionShown {
			points = 0
		}
		if old, ok := lp.Passed[pos.Task.Name]; !ok || old.Points < points {
			lp.Passed[pos.Task.Name] = progress.Result{Points: points, MaxPoints: res.MaxPoints, Hints: lp.HintsShown, At: time.Now().UTC()}
		}
		lp.Updated = time.Now().UTC()
		return nil
	})
	return res, m, err
}

// Next moves to the task after the current one once the current one has
// passed, and enters its starting state (its labels and enforcer; its own
// starting policies if the lab gives it some, else the learner's stay).
// advanced is false when the current task has not passed yet.
func (s *Session) Next(ctx context.Context) (pos Position, advanced bool, err error) {
	err = s.Store.Update(func(f *progress.File) error {
		if f.Current == "" {
			return ErrNoCurrent
		}
		cur, err := position(f, f.Current)
		if err != nil {
			return err
		}
		if cur.Finished() {
			return nil
		}
		if _, ok := cur.Done.Passed[cur.Task.Name]; !ok {
			return nil
		}
		cur.Done.Task = cur.Task.Index + 1
		cur.Done.HintsShown, cur.Done.SolutionShown = 0, false
		cur.Done.Updated = time.Now().UTC()
		advanced = true
		return nil
	})
	if err != nil {
		return pos, false, err
	}
	if pos, err = s.Current(); err != nil {
		return pos, false, err
	}
	if advanced {
		err = s.enter(ctx, pos.Task, false)
	}
	return pos, advanced, err
}

// Hint reveals the current task's next hint: its text, its number and how
// many there are. Asking past the last one returns ErrNoMoreHints (with n
// = of), as the TUI says "No more hints".
func (s *Session) Hint() (text string, n, of int, err error) {
	err = s.Store.Update(func(f *progress.File) error {
		if f.Current == "" {
			return ErrNoCurrent
		}
		pos, err := position(f, f.Current)
		if err != nil {
			return err
		}
		if pos.Finished() {
			return fmt.Errorf("lab %s is finished", pos.Lab.Name)
		}
		of = len(pos.Task.Hints)
		if of == 0 {
			return fmt.Errorf("task %s has no hints", pos.Task.ID())
		}
		if pos.Done.HintsShown >= of {
			n = of
			return ErrNoMoreHints
		}
		n = pos.Done.HintsShown + 1
		pos.Done.HintsShown = n
		text = pos.Task.Hints[n-1]
		return nil
	})
	return text, n, of, err
}

// Solution returns the current task; its SolutionYAML is the reference
// solution. Seeing it means the task earns no points when it passes. Once
// the lab is finished it returns the last task, for review, and costs
// nothing (the scores are kept).
func (s *Session) Solution() (*labs.Task, error) {
	var t *labs.Task
	err := s.Store.Update(func(f *progress.File) error {
		if f.Current == "" {
			return ErrNoCurrent
		}
		pos, err := position(f, f.Current)
		if err != nil {
			return err
		}
		if pos.Finished() {
			t = pos.Lab.Tasks[len(pos.Lab.Tasks)-1]
			return nil
		}
		pos.Done.SolutionShown = true
		t = pos.Task
		return nil
	})
	return t, err
}

// Reset restores the current task's starting state in the running lab:
// its labels, enforcer and starting policies; the learner's policies go.
// Once the lab is finished it restores the last task's, for review.
func (s *Session) Reset(ctx context.Context) (Position, error) {
	pos, err := s.Current()
	if err != nil {
		return pos, err
	}
	if _, up := s.Runtime().Running(); !up {
		return pos, fmt.Errorf("the lab is not running: 'netlab lab start %s' brings it back where you were", pos.Lab.Name)
	}
	t := pos.Task
	if t == nil {
		t = pos.Lab.Tasks[len(pos.Lab.Tasks)-1]
	}
	return pos, s.enter(ctx, t, true)
}

// WriteFiles writes the files a task hands to the learner (e.g. the last
// good policy set of a rollback drill) into dir/<lab>/<task>/ and returns
// their paths.
func WriteFiles(dir string, t *labs.Task) ([]string, error) {
	if len(t.Files) == 0 {
		return nil, nil
	}
	base := filepath.Join(dir, t.Lab.Name, t.Name)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, err
	}
	var names []string
	for n := range t.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		p := filepath.Join(base, filepath.Base(n))
		if err := os.WriteFile(p, []byte(t.Files[n]), 0o644); err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Probe measures the current task's cells in the running lab (the TUI's
// grid); once the lab is finished, the last task's.
func (s *Session) Probe(ctx context.Context) (*matrix.Matrix, error) {
	pos, err := s.Current()
	if err != nil {
		return nil, err
	}
	t := pos.Task
	if t == nil {
		t = pos.Lab.Tasks[len(pos.Lab.Tasks)-1]
	}
	return probeTask(ctx, s.Runtime(), t, s.Timeout)
}
