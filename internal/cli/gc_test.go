package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/sandbox"
)

// TestGCListsLeftState (issue 10 item 9): a state directory an up left
// without state.json (killed before saving it) is listed by 'gc --dry-run'
// and 'status', and --check fails on it; a lab with state is not listed.
func TestGCListsLeftState(t *testing.T) {
	old := sandbox.StateRoot
	sandbox.StateRoot = t.TempDir()
	t.Cleanup(func() { sandbox.StateRoot = old })
	if err := os.MkdirAll(filepath.Join(sandbox.StateRoot, "killed", "ready"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(sandbox.StateRoot, "alive"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(sandbox.StateRoot, "alive", "state.json"), []byte(`{"name":"alive","world":{}}`), 0o644)

	out, _, code := run(t, "gc", "--dry-run", "-o", "json")
	if code != 0 {
		t.Fatalf("gc --dry-run: exit %d", code)
	}
	var res struct{ Orphans []orphan }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("gc -o json: %v\n%s", err, out)
	}
	var labs []string
	for _, o := range res.Orphans {
		labs = append(labs, o.Lab+"/"+o.Kind)
	}
	if !strings.Contains(strings.Join(labs, " "), "killed/state") || strings.Contains(strings.Join(labs, " "), "alive/") {
		t.Fatalf("orphans %v: want killed's state dir, nothing of alive", labs)
	}
	if _, _, code := run(t, "gc", "--dry-run", "--check"); code != 1 {
		t.Errorf("gc --dry-run --check with an orphan: exit %d, want 1", code)
	}
	if out, _, _ := run(t, "status"); !strings.Contains(out, "state "+filepath.Join(sandbox.StateRoot, "killed")) {
		t.Errorf("status does not show the orphan:\n%s", out)
	}
}
