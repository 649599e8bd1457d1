// Package testenv is what netlab's privileged tests share: the rule that a
// test the machine cannot run (no root, no BPF, no Docker, no node image)
// skips for a developer but fails under CI=true, where a silent skip would
// prove nothing; and a netlab binary built for tests whose agents and
// enforcers run as separate processes, as they do for users.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Require skips tb with why unless ok; under CI=true it fails instead.
func Require(tb testing.TB, ok bool, why string) {
	tb.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("CI=true but this test cannot run here: %s", why)
	}
	tb.Skipf("skipping: %s", why)
}

// RequireRoot is Require for tests that need root (network namespaces,
// eBPF).
func RequireRoot(tb testing.TB) {
	tb.Helper()
	Require(tb, os.Geteuid() == 0, "needs root (network namespaces, eBPF)")
}

// Main builds netlab into a temporary directory, stores its path in *self,
// runs the package's tests and exits with their status. Call it from
// TestMain.
func Main(m *testing.M, self *string) {
	dir, err := os.MkdirTemp("", "netlab-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*self = filepath.Join(dir, "netlab")
	out, err := exec.Command("go", "build", "-o", *self, "github.com/netlab/netlab/cmd/netlab").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building netlab: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
