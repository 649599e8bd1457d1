package course_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/netlab/netlab/internal/course"
	"github.com/netlab/netlab/internal/progress"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/labs"
)

func applySolution(t *testing.T, lab *fakeLab, task *labs.Task) {
	t.Helper()
	objs, err := world.Parse("solution.yaml", []byte(task.SolutionYAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lab.Apply(context.Background(), objs.PolicyList()); err != nil {
		t.Fatal(err)
	}
	if len(task.Remove) > 0 {
		if err := lab.Delete(context.Background(), task.Remove); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCourseState walks a lab to its end and past it: the hints run out
// and say so, a task solved after its solution was shown is graded 0 by
// check as status records it, a finished lab allows review (solution,
// reset), and starting it again says it starts over.
func TestCourseState(t *testing.T) {
	ctx := context.Background()
	fake := &fakeLab{}
	store := progress.Store{Path: filepath.Join(t.TempDir(), "progress.json")}
	s := &course.Session{Store: store, Lab: fake}
	lab, err := labs.Get("default-deny")
	if err != nil {
		t.Fatal(err)
	}
	pos, err := s.Start(ctx, lab.Name)
	if err != nil {
		t.Fatal(err)
	}
	if pos.StartedOver || pos.Task.Index != 0 {
		t.Fatalf("first start: started over %v at task %d", pos.StartedOver, pos.Task.Index)
	}

	// Every hint once, then "no more", not the last one again.
	first := lab.Tasks[0]
	for i := range first.Hints {
		text, n, of, err := s.Hint()
		if err != nil || n != i+1 || of != len(first.Hints) || text != first.Hints[i] {
			t.Fatalf("hint %d: %d/%d %q %v", i+1, n, of, text, err)
		}
	}
	if _, n, of, err := s.Hint(); !errors.Is(err, course.ErrNoMoreHints) || n != of {
		t.Fatalf("hint past the last: %d/%d %v, want ErrNoMoreHints", n, of, err)
	}

	applySolution(t, fake, first)
	if res, _, err := s.Check(ctx); err != nil || !res.Passed || res.Points != 10 {
		t.Fatalf("task 1 solved: %+v %v", res, err)
	}
	if _, advanced, err := s.Next(ctx); err != nil || !advanced {
		t.Fatalf("next: %v %v", advanced, err)
	}

	// The solution shown, the pass is worth 0: check says what status keeps.
	last, err := s.Solution()
	if err != nil || last != lab.Tasks[1] {
		t.Fatalf("solution of task 2: %v %v", last, err)
	}
	applySolution(t, fake, last)
	res, _, err := s.Check(ctx)
	if err != nil || !res.Passed {
		t.Fatalf("task 2 with its solution: %+v %v", res, err)
	}
	if res.Points != 0 || !res.SolutionShown {
		t.Fatalf("check after the solution: %v points (solution shown %v), want 0", res.Points, res.SolutionShown)
	}
	if pos, _, err = s.Next(ctx); err != nil || !pos.Finished() {
		t.Fatalf("after the last task: finished %v %v", pos.Finished(), err)
	}
	if got := pos.Done.Passed[last.Name].Points; got != res.Points {
		t.Fatalf("status records %v points, check said %v", got, res.Points)
	}

	// Finished: review is allowed and costs nothing.
	if t2, err := s.Solution(); err != nil || t2 != last {
		t.Fatalf("solution of a finished lab: %v %v", t2, err)
	}
	applySolution(t, fake, lab.Tasks[0]) // something to reset away
	if _, err := s.Reset(ctx); err != nil {
		t.Fatalf("reset of a finished lab: %v", err)
	}
	if got, want := len(fake.w.Policies), len(last.Start); got != want {
		t.Fatalf("reset of a finished lab: %d policies, want the last task's %d starting ones", got, want)
	}

	// Starting it again says so, starts at task 1 in its starting state,
	// and keeps the scores.
	ups := fake.ups
	pos, err = s.Start(ctx, lab.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !pos.StartedOver || pos.Before != 10 || pos.Task != lab.Tasks[0] {
		t.Fatalf("start of a finished lab: started over %v, before %v, task %v", pos.StartedOver, pos.Before, pos.Task.Name)
	}
	if fake.ups != ups {
		t.Errorf("start over brought the lab up again (%d ups)", fake.ups)
	}
	if got, want := len(fake.w.Policies), len(lab.Tasks[0].Start); got != want {
		t.Fatalf("started over: %d policies, want task 1's %d", got, want)
	}
	if pos.Done.Score() != 10 {
		t.Fatalf("started over: score %v, want the 10 kept", pos.Done.Score())
	}
}
