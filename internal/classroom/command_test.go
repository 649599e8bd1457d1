package classroom

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/testenv"
)

// TestGradeCommandClassroom runs 'netlab grade -o classroom' as the
// workflow does, with $GITHUB_OUTPUT set: the step output decodes, the
// reporter's way, to the submission's points, and the exit status says
// the score is below the pass mark.
func TestGradeCommandClassroom(t *testing.T) {
	testenv.RequireRoot(t)
	out := filepath.Join(t.TempDir(), "github_output")
	cmd := exec.Command(self, "grade", "--lab", "default-deny", "--submission", "testdata/class/bob", "--pass", "80", "-o", "classroom", "--timeout", "500ms")
	cmd.Env = append(os.Environ(), "GITHUB_OUTPUT="+out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1 (13.3/20 is below 80%%)\n%s", err, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	result, ok := strings.CutPrefix(strings.TrimSpace(string(data)), Output+"=")
	if !ok || result != strings.TrimSpace(stdout.String()) {
		t.Fatalf("step output %q, printed %q", data, stdout.String())
	}
	rp := runReporter(t, "netlab", map[string]string{"NETLAB_RESULTS": result})
	if rp.notice != "Points 13.3/20" || rp.failed != "Some tests failed." {
		t.Errorf("reporter: %+v", rp)
	}
	if !strings.Contains(stderr.String(), "Score: 13.3/20 points") || !strings.Contains(stderr.String(), "netpol-lab/client -> kube-system/coredns:53/TCP,53/UDP") {
		t.Errorf("the readable report is not in the log:\n%s", stderr.String())
	}

	// A submission that is not there is an "error" result, not silence.
	cmd = exec.Command(self, "grade", "--lab", "default-deny", "--submission", "testdata/no-such-dir", "-o", "classroom")
	cmd.Env = append(os.Environ(), "GITHUB_OUTPUT=")
	printed, err := cmd.Output()
	if err == nil {
		t.Fatal("grading a missing submission succeeded")
	}
	rp = runReporter(t, "netlab", map[string]string{"NETLAB_RESULTS": strings.TrimSpace(string(printed))})
	if rp.failed != "Some tests errored." || len(rp.log) == 0 || !strings.Contains(rp.log[0], "no-such-dir") {
		t.Errorf("reporter on a missing submission: %+v", rp)
	}
}

// TestClassInterrupted sends SIGINT to 'netlab grade --class' while its
// labs run: it stops, says so, exits non-zero and leaves no lab behind.
func TestClassInterrupted(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	for i := range 6 {
		copyTree(t, "testdata/class/alice", filepath.Join(dir, fmt.Sprintf("s%d", i)))
	}
	cmd := exec.Command(self, "grade", "--lab", "default-deny", "--class", dir, "-j", "2", "--timeout", "500ms")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("class%d", cmd.Process.Pid%100000)
	// Interrupt once the first student is graded: the next labs are up.
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "s") {
			time.Sleep(300 * time.Millisecond)
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	t.Logf("netlab grade --class, interrupted:\n%s", log.String())
	if err == nil {
		t.Errorf("an interrupted class exited 0:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "interrupted") {
		t.Errorf("no word of the interruption:\n%s", log.String())
	}
	for i := range 6 {
		if left := sandbox.Leftovers(fmt.Sprintf("%s-%d", prefix, i)); len(left) > 0 {
			t.Errorf("%s-%d left behind: %v", prefix, i, left)
			sandbox.Down(fmt.Sprintf("%s-%d", prefix, i), nil)
		}
	}
}

// TestGradeFlags: flags that do not go together are refused before
// anything runs.
func TestGradeFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--submission", "x", "--class", "y"}, "one of --submission or --class"},
		{[]string{}, "one of --submission or --class"},
		{[]string{"--submission", "x", "--csv", "c.csv"}, "--csv, --html and -j go with --class"},
		{[]string{"--class", "testdata/class", "-o", "junit"}, "--class writes text or json"},
		{[]string{"--class", "testdata/class", "-o", "classroom"}, "--class writes text or json"},
		{[]string{"--class", "testdata/class", "--junit", "r.xml"}, "--junit is for one --submission"},
		{[]string{"--class", "testdata/class", "-j", "-1"}, "-j -1"},
	} {
		args := append([]string{"grade", "--lab", "default-deny"}, tc.args...)
		out, err := exec.Command(self, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("netlab %s: %v, %q; want an error with %q", strings.Join(args, " "), err, out, tc.want)
		}
	}
}
