//go:build linux

package main_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/testenv"
	"github.com/netlab/netlab/labs"
)

var self string

func TestMain(m *testing.M) { testenv.Main(m, &self) }

// TestGradeInterrupted runs the built netlab grade and interrupts it the
// ways a person or a CI runner does: while its grade-<pid> lab comes up
// (its state not yet written) and once it is up, by SIGINT (also to the
// whole process group, as Ctrl-C does), SIGTERM (a cancelled CI job),
// SIGHUP and SIGPIPE (the reader of its stderr gone). Each time grade must
// tear its lab down — no network namespace, bpffs pin, state or process
// of it left — and exit with 128 + the signal. Before, the lab was left
// running: 6 namespaces, the agents, the enforcer and its pins.
func TestGradeInterrupted(t *testing.T) {
	testenv.RequireRoot(t)
	lab, err := labs.Get("default-deny")
	if err != nil {
		t.Fatal(err)
	}
	sub := t.TempDir()
	for _, task := range lab.Tasks {
		d := filepath.Join(sub, task.Name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "p.yaml"), []byte(task.SolutionYAML), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name  string
		sig   syscall.Signal
		when  string // the stderr line after which to signal
		group bool   // signal the process group, not the process
		pipe  bool   // close stderr's read end instead of sending sig
	}{
		{"SIGINT while the lab comes up", syscall.SIGINT, " • node namespace", false, false},
		{"SIGTERM while the lab comes up", syscall.SIGTERM, " • eBPF enforcer", false, false},
		{"SIGTERM once the lab is up", syscall.SIGTERM, " • ready in", false, false},
		{"SIGINT to the process group once the lab is up", syscall.SIGINT, " • ready in", true, false},
		{"SIGHUP once the lab is up", syscall.SIGHUP, " • ready in", false, false},
		{"SIGPIPE: stderr closed once the lab is up", syscall.SIGPIPE, " • ready in", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(self, "grade", "--lab", lab.Name, "--submission", sub, "--timeout", "300ms")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout = io.Discard
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("grade-%d", cmd.Process.Pid%1000000)
			exited := make(chan error, 1)
			t.Cleanup(func() {
				select {
				case <-exited:
				default:
					cmd.Process.Kill()
				}
				if left := sandbox.Leftovers(name); len(left) > 0 {
					exec.Command(self, "down", "--name", name).Run()
				}
			})

			// Read stderr up to the line, then signal.
			var seen []string
			sc := bufio.NewScanner(stderr)
			found := false
			for sc.Scan() {
				seen = append(seen, sc.Text())
				if strings.HasPrefix(sc.Text(), tc.when) {
					found = true
					break
				}
			}
			if !found {
				t.Fatalf("grade never printed %q:\n%s", tc.when, strings.Join(seen, "\n"))
			}
			if strings.Contains(tc.when, "ready") {
				if _, err := sandbox.Load(name); err != nil {
					t.Fatalf("lab %s is not up when it says so: %v", name, err)
				}
			}
			var rest strings.Builder
			copied := make(chan struct{})
			switch {
			case tc.pipe:
				// The next progress line (a task's score) hits EPIPE.
				stderr.Close()
				close(copied)
			case tc.group:
				syscall.Kill(-cmd.Process.Pid, tc.sig)
			default:
				cmd.Process.Signal(tc.sig)
			}
			if !tc.pipe {
				go func() { io.Copy(&rest, stderr); close(copied) }()
			}
			go func() { <-copied; exited <- cmd.Wait() }()
			select {
			case <-exited:
			case <-time.After(60 * time.Second):
				t.Fatalf("grade did not exit within 60 s of %s", tc.sig)
			}
			if got, want := cmd.ProcessState.ExitCode(), 128+int(tc.sig); got != want {
				t.Errorf("exit status %d (%s), want %d\nstderr: %s\n%s", got, cmd.ProcessState, want, strings.Join(seen, "\n"), rest.String())
			}
			if !tc.pipe && !strings.Contains(rest.String(), "interrupted by "+sigName(tc.sig)) {
				t.Errorf("stderr does not say it was interrupted:\n%s", rest.String())
			}
			if left := sandbox.Leftovers(name); len(left) > 0 {
				t.Errorf("left behind by the interrupted grade:\n  %s", strings.Join(left, "\n  "))
			}
		})
	}
}

func sigName(s syscall.Signal) string {
	return map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM", syscall.SIGHUP: "SIGHUP", syscall.SIGPIPE: "SIGPIPE"}[s]
}
