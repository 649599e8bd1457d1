package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/hostnet"
)

// TestPlatform: elsewhere than Linux, the commands that cannot work say
// that they need Linux before doing anything, and the ones that can
// (sim, explain, lab list/lint, the kind backend) are let through.
func TestPlatform(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		needLinux bool
	}{
		{[]string{"sim"}, false},
		{[]string{"explain"}, false},
		{[]string{"lab", "list"}, false},
		{[]string{"lab", "lint"}, false},
		{[]string{"lab", "lint", "--sandbox"}, true},
		{[]string{"up"}, true},
		{[]string{"up", "--backend", "sandbox"}, true},
		{[]string{"up", "--backend", "kind"}, false},
		{[]string{"grade", "--lab", "x"}, true},
		{[]string{"grade", "--backend", "kind"}, false},
		{[]string{"lab", "start", "--backend", "sandbox"}, true},
		{[]string{"tui", "--backend", "kind"}, false},
		{[]string{"enforcer", "run"}, true},
		{[]string{"node-agent"}, true},
		{[]string{"runc-wrapper"}, true},
		{[]string{"doctor", "--backend", "sandbox"}, false},
	} {
		name := strings.Join(tc.args, " ")
		root := NewRoot(Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
		cmd, rest, err := root.Find(tc.args)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !cmd.DisableFlagParsing {
			if err := cmd.ParseFlags(rest); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if err := checkPlatform(cmd, "linux"); err != nil {
			t.Errorf("%s on linux: %v", name, err)
		}
		err = checkPlatform(cmd, "darwin")
		if got := err != nil; got != tc.needLinux {
			t.Errorf("%s on darwin: error %v, want one: %v", name, err, tc.needLinux)
		}
		if err != nil && !strings.Contains(err.Error(), "needs Linux") {
			t.Errorf("%s on darwin: %q does not say it needs Linux", name, err)
		}
	}
}

// TestPlatformError: the sandbox's root check and its stubs outside
// Linux become one sentence that says Linux is needed.
func TestPlatformError(t *testing.T) {
	for _, err := range []error{backend.ErrNeedRoot, fmt.Errorf("creating pod: %w", hostnet.ErrUnsupported)} {
		if got := platformError(err, "linux"); got != err {
			t.Errorf("on linux %v became %v", err, got)
		}
		if got := platformError(err, "windows").Error(); !strings.Contains(got, "needs Linux") || !strings.Contains(got, "on windows") {
			t.Errorf("on windows %v became %q", err, got)
		}
	}
	other := errors.New("lab x: no such lab")
	if got := platformError(other, "darwin"); got != other {
		t.Errorf("an unrelated error became %v", got)
	}
}
