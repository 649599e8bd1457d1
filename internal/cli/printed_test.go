package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/currentlab"
	"github.com/netlab/netlab/internal/testenv"
	"github.com/netlab/netlab/labs"
)

// shell runs one command line as a learner would type it, with the built
// netlab first on PATH, in dir.
type shell struct {
	t   *testing.T
	dir string
	env []string
}

func (sh shell) run(line string) (stdout, stderr string, err error) {
	sh.t.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir, cmd.Env = sh.dir, sh.env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	sh.t.Logf("$ %s\n%s%s", line, out.String(), errOut.String())
	return out.String(), errOut.String(), err
}

func (sh shell) must(line string) (stdout, stderr string) {
	sh.t.Helper()
	out, errOut, err := sh.run(line)
	if err != nil {
		sh.t.Fatalf("%s: %v\n%s%s", line, err, out, errOut)
	}
	return out, errOut
}

// nextCommands are the commands of a "Next" block ("  cmd   # comment").
func nextCommands(t *testing.T, out string) []string {
	t.Helper()
	_, block, ok := strings.Cut(out, "\nNext")
	if !ok {
		t.Fatalf("no Next block in:\n%s", out)
	}
	var cmds []string
	for _, l := range strings.Split(block, "\n")[1:] {
		if !strings.HasPrefix(l, "  ") {
			break
		}
		c, _, _ := strings.Cut(strings.TrimSpace(l), "   #")
		cmds = append(cmds, strings.TrimSpace(c))
	}
	if len(cmds) == 0 {
		t.Fatalf("an empty Next block in:\n%s", out)
	}
	return cmds
}

// TestPrintedCommandsWork runs, with a second lab up, the commands that
// 'up', 'lab start' and 'lab solution' print, exactly as printed: each must
// work (before, plain 'netlab apply' answered "2 labs are running"). Then
// the current lab: plain commands act on it, status names it, down clears
// it.
func TestPrintedCommandsWork(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin", "netlab")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/netlab/netlab/cmd/netlab").CombinedOutput(); err != nil {
		t.Fatalf("building netlab: %v\n%s", err, out)
	}
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	sh := shell{t: t, dir: work, env: append(os.Environ(),
		"PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"), "XDG_STATE_HOME="+filepath.Join(dir, "state"),
		// Its own current lab: other packages' tests run netlab up at the
		// same time, and each up makes its lab current.
		currentlab.Env+"="+filepath.Join(dir, "current"))}
	other := fmt.Sprintf("pc%d", os.Getpid()%100000)
	t.Cleanup(func() {
		for _, l := range []string{other, "course"} {
			_, _, _ = sh.run("netlab down --name " + l)
		}
	})

	out, _ := sh.must("netlab up --name " + other)
	for _, c := range nextCommands(t, out) {
		if strings.Contains(c, " apply ") || strings.Contains(c, " down ") {
			continue // a placeholder file; down comes last
		}
		sh.must(c)
	}

	lab, err := labs.Get("default-deny")
	if err != nil {
		t.Fatal(err)
	}
	task := lab.Tasks[0]
	if err := os.WriteFile(filepath.Join(work, "my-policy.yaml"), []byte(task.SolutionYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ = sh.must("netlab lab start " + lab.Name)
	cmds := nextCommands(t, out)
	if !strings.Contains(strings.Join(cmds, "\n"), "--name course") {
		t.Errorf("lab start's commands do not name the lab:\n%s", out)
	}
	for _, c := range cmds {
		sh.must(c) // apply the solution, probe, check (passes), hint
	}

	// The solution of task 2, through the pipe its header prints.
	_, hdr := sh.must("netlab lab solution")
	_, how, ok := strings.Cut(hdr, "apply it with: ")
	if !ok {
		t.Fatalf("lab solution prints no way to apply it:\n%s", hdr)
	}
	how, _, _ = strings.Cut(how, ")\n")
	sh.must(how)
	if out, _ := sh.must("netlab lab check"); !strings.Contains(out, "✓") {
		t.Fatalf("task 2 with its solution applied as printed does not pass:\n%s", out)
	}

	// Plain commands mean the current lab, with two labs up.
	sh.must("netlab probe")
	if out, _ := sh.must("netlab status"); !strings.Contains(out, "current lab: course") {
		t.Errorf("status does not name the current lab:\n%s", out)
	}
	sh.must("netlab down --name course")
	if out, _ := sh.must("netlab status"); strings.Contains(out, "current lab:") {
		t.Errorf("down left the current lab set:\n%s", out)
	}
}
