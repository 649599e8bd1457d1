package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/currentlab"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/labs"
)

// fakeState makes lab look running in a scratch state root (no namespaces:
// only its state file).
func fakeState(t *testing.T, lab string) {
	t.Helper()
	js, err := json.Marshal(sandbox.State{Name: lab, World: &world.World{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(sandbox.Dir(lab), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sandbox.Dir(lab), "state.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
}

func scratchStateRoot(t *testing.T) {
	old := sandbox.StateRoot
	sandbox.StateRoot = t.TempDir()
	t.Cleanup(func() { sandbox.StateRoot = old })
}

// TestQuitNotice: leaving the TUI with the course lab up says that it
// runs and how to remove it; with no lab up it says nothing.
func TestQuitNotice(t *testing.T) {
	scratchStateRoot(t)
	var b bytes.Buffer
	quitNotice(&b, backend.Where("course", ""), "default-deny")
	if b.Len() != 0 {
		t.Fatalf("no lab running, yet: %q", b.String())
	}
	fakeState(t, "course")
	quitNotice(&b, backend.Where("course", ""), "default-deny")
	want := "Lab course (default-deny) is still running; 'netlab tui' resumes it.\nRemove it with: netlab down --name course\n"
	if b.String() != want {
		t.Fatalf("got  %q\nwant %q", b.String(), want)
	}
}

// TestCurrentLab: without --name, commands mean the current lab while it
// runs, even with other labs up; a current lab that is gone means nothing,
// and status names it.
func TestCurrentLab(t *testing.T) {
	scratchStateRoot(t)
	fakeState(t, "course")
	fakeState(t, "k1")
	var f labFlag
	if got := f.meant(); got != "" {
		t.Fatalf("no current lab: %q", got)
	}
	if err := currentlab.Set("course"); err != nil {
		t.Fatal(err)
	}
	if got := f.meant(); got != "course" {
		t.Fatalf("current lab course: %q", got)
	}
	if b, err := f.find(); err != nil || b.Name() != "course" {
		t.Fatalf("find with two labs up and course current: %v %v", b, err)
	}
	f.name = "k1"
	if got := f.meant(); got != "k1" {
		t.Fatalf("--name k1: %q", got)
	}
	out, _, code := run(t, "status")
	if code != 0 || !strings.Contains(out, "current lab: course") {
		t.Fatalf("status (exit %d):\n%s", code, out)
	}
	// Gone (its state removed by hand): back to "the only lab running".
	if err := os.RemoveAll(sandbox.Dir("course")); err != nil {
		t.Fatal(err)
	}
	f.name = ""
	if got := f.meant(); got != "" {
		t.Fatalf("current lab gone: %q", got)
	}
}

// TestCheckResultForTUI: the TUI gets the verdict without the score (it
// adds "10/12 cells right · 7.5/10 points" itself; before, both said it)
// and db-isolation's 13 leaks as one group.
func TestCheckResultForTUI(t *testing.T) {
	l, err := labs.Get("db-isolation")
	if err != nil {
		t.Fatal(err)
	}
	task := l.Tasks[0]
	out := checkResult(grade.Offline(task, task.StartWorld(), grade.Options{}), nil)
	if strings.Contains(out.Summary, "cells right") || strings.Contains(out.Summary, "points") {
		t.Errorf("Summary repeats the score: %q", out.Summary)
	}
	if len(out.Groups) != 1 || out.Groups[0].Cells != 13 || out.Groups[0].Side != "ingress of shop/db" {
		t.Fatalf("groups %+v, want the 13 leaks into shop/db as one", out.Groups)
	}
	for _, c := range out.Wrong {
		if c.Group != 1 {
			t.Errorf("%s -> %s:%d not in the group", c.From, c.To, c.Port)
		}
	}
}
