package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHelperMain is not a test: TestInterruptWhileReading runs the test
// binary as netlab through it.
func TestHelperMain(t *testing.T) {
	args := os.Getenv("NETLAB_TEST_MAIN_ARGS")
	if args == "" {
		t.Skip("helper process only")
	}
	os.Exit(Main(strings.Split(args, "\x1f"), os.Stdin, os.Stdout, os.Stderr))
}

// A FIFO whose writer sends nothing blocks 'netlab sim -f' like cat; Ctrl-C
// must end it with exit 130 and an error naming the input (before: nothing
// cancelled the read; the signal killed netlab). ReadContext's own test
// covers a FIFO with no writer at all.
func TestInterruptWhileReading(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, args := range [][]string{{"sim", "-f", fifo}, {"explain", "-f", fifo, "--from", "a", "--to", "b", "--port", "80"}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperMain$")
		cmd.Env = append(os.Environ(), "NETLAB_TEST_MAIN_ARGS="+strings.Join(args, "\x1f"))
		var errOut strings.Builder
		cmd.Stderr = &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// A non-blocking open for writing succeeds once netlab has the FIFO
		// open for reading, by then its signal handling is in place. The
		// writer stays open and silent: netlab blocks reading, like cat.
		var w *os.File
		for deadline := time.Now().Add(20 * time.Second); w == nil && time.Now().Before(deadline); {
			if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w = f
			} else {
				time.Sleep(10 * time.Millisecond)
			}
		}
		if w == nil {
			cmd.Process.Kill()
			t.Fatalf("%v: never opened the FIFO", args)
		}
		time.Sleep(100 * time.Millisecond)
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%v: still blocked 10s after SIGINT", args)
		}
		w.Close()
		if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(errOut.String(), fifo) || !strings.Contains(errOut.String(), "interrupted") {
			t.Errorf("%v after SIGINT: exit %d, stderr %q; want 130 and an error naming the FIFO", args, code, errOut.String())
		}
	}
}

// Before: /dev/zero was read until memory ran out.
func TestSimBoundsInput(t *testing.T) {
	for _, dev := range []string{"/dev/zero", "/dev/urandom"} {
		_, errOut, code := run(t, "sim", "-f", dev)
		if code != 1 || !strings.Contains(errOut, dev) {
			t.Errorf("sim -f %s: exit %d, stderr %q", dev, code, errOut)
		}
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte(strings.Repeat("# padding\n", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"sim", "-f", big, "--max-input", "1Ki"},
		{"explain", "-f", big, "--max-input", "1Ki", "--from", "a", "--to", "b", "--port", "80"},
	} {
		_, errOut, code := run(t, args...)
		if code != 1 || !strings.Contains(errOut, big) || !strings.Contains(errOut, "--max-input") {
			t.Errorf("%v: exit %d, stderr %q; want an error naming the file and --max-input", args, code, errOut)
		}
	}
	// The limit applies to stdin too, and 0 lifts it.
	var out, errOut strings.Builder
	if code := Main([]string{"sim", "-f", "-", "--max-input", "100"}, strings.NewReader(strings.Repeat("# c\n", 100)), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "standard input") {
		t.Errorf("stdin over the limit: exit %d, stderr %q", code, errOut.String())
	}
	if _, errOut, code := run(t, "sim", "--scenario", "netpol-lab", "-f", big, "--max-input", "0"); code != 0 {
		t.Errorf("--max-input 0: exit %d: %s", code, errOut)
	}
	for _, c := range []string{"sim", "explain", "up", "apply", "delete"} {
		out, _, _ := run(t, c, "--help")
		if !strings.Contains(out, "--max-input") || !strings.Contains(out, "default 1Gi") {
			t.Errorf("%s --help does not document --max-input and its default", c)
		}
	}
}

func TestExplainEndpoints(t *testing.T) {
	w := filepath.Join(t.TempDir(), "w.yaml")
	if err := os.WriteFile(w, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec: {containers: [{name: c, ports: [{containerPort: 80}]}]}\nstatus: {podIP: 10.0.0.1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Before: ALLOWED with an empty reason, exit 0.
	_, errOut, code := run(t, "explain", "-f", w, "--from", "1.2.3.4", "--to", "5.6.7.8", "--port", "80")
	if code == 0 || !strings.Contains(errOut, "at least one side must be a pod") {
		t.Errorf("explain between two outside addresses: exit %d, stderr %q", code, errOut)
	}
	// Before: ::ffff:10.0.0.1 was an outside host, not the pod at 10.0.0.1.
	out, errOut, code := run(t, "explain", "-f", w, "--from", "::ffff:10.0.0.1", "--to", "5.6.7.8", "--port", "80", "-o", "json")
	if code != 0 || !strings.Contains(out, "x/a") {
		t.Errorf("explain --from ::ffff:10.0.0.1: exit %d, stderr %q, out %s; want the source to be pod x/a", code, errOut, out)
	}
	_, errOut, code = run(t, "explain", "-f", w, "--from", "x/a", "--to", "fe80::1%eth0", "--port", "80")
	if code == 0 || !strings.Contains(errOut, "zone") {
		t.Errorf("explain --to fe80::1%%eth0: exit %d, stderr %q; want an error", code, errOut)
	}
}
