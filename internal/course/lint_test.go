package course_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/course"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/testenv"
	"github.com/netlab/netlab/labs"
)

func TestInternetHostAgrees(t *testing.T) {
	if labs.InternetIP != sandbox.InternetIP.String() {
		t.Errorf("labs.InternetIP %s, sandbox %s", labs.InternetIP, sandbox.InternetIP)
	}
	var ports []int32
	for _, p := range sandbox.InternetPort {
		ports = append(ports, p.Port)
	}
	if fmt.Sprint(ports) != fmt.Sprint(labs.InternetPorts) {
		t.Errorf("labs.InternetPorts %v, sandbox %v", labs.InternetPorts, ports)
	}
}

// TestLintSandbox runs 'netlab lab lint --sandbox' for real: every task's
// reference solution, applied in a sandbox lab and probed with real
// packets, must give exactly the expected matrix.
func TestLintSandbox(t *testing.T) {
	testenv.RequireRoot(t)
	cmd := exec.Command(self, "lab", "lint", "--sandbox")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("netlab lab lint --sandbox: %v", err)
	}
	catalogue, _ := labs.List()
	if !strings.Contains(string(out), fmt.Sprintf("%d labs OK", len(catalogue))) {
		t.Errorf("lint did not report all %d labs OK", len(catalogue))
	}
	// Only lint's own labs (lintPID-N): other packages' tests run labs of
	// their own at the same time.
	mine := fmt.Sprintf("lint%d-", cmd.Process.Pid%100000)
	all, _ := sandbox.List()
	var left []string
	for _, l := range all {
		if strings.HasPrefix(l, mine) {
			left = append(left, l)
		}
	}
	if len(left) > 0 {
		t.Errorf("labs left running: %v", left)
	}
}

// TestCheckOnSandbox grades a real probe: the starting state of the
// database lab is over-permissive (the debug pod reaches the database), and
// the reference solution passes.
func TestCheckOnSandbox(t *testing.T) {
	testenv.RequireRoot(t)
	l, err := labs.Get("db-isolation")
	if err != nil {
		t.Fatal(err)
	}
	task := l.Tasks[0]
	name := fmt.Sprintf("lt%d", os.Getpid()%100000)
	ctx := context.Background()
	rt, err := backend.New(backend.Sandbox, name, self)
	if err != nil {
		t.Fatal(err)
	}
	if err := course.UpLab(ctx, rt, l, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sandbox.Down(name, nil); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	r, _, err := course.CheckTask(ctx, rt, task, 700*time.Millisecond, grade.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Passed || r.Verdict != grade.OverPermissive || r.Points != 0 {
		t.Fatalf("start: verdict %s points %v", r.Verdict, r.Points)
	}
	found := false
	for _, c := range r.Leaked {
		found = found || c.Cell == "shop/debug -> shop/db:5432/TCP"
	}
	if !found {
		t.Errorf("leaked cells %v lack shop/debug -> shop/db:5432/TCP", r.Leaked)
	}
	if _, err := rt.Apply(ctx, task.Solution); err != nil {
		t.Fatal(err)
	}
	if r, _, err = course.CheckTask(ctx, rt, task, 700*time.Millisecond, grade.Options{}); err != nil {
		t.Fatal(err)
	}
	if !r.Passed || r.Points != 10 {
		var b strings.Builder
		grade.WriteText(&b, r)
		t.Errorf("reference solution on the sandbox:\n%s", b.String())
	}
}
