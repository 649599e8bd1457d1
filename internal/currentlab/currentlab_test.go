package currentlab

import (
	"os"
	"testing"

	"github.com/netlab/netlab/internal/sandbox"
)

func TestSetGetClear(t *testing.T) {
	old := sandbox.StateRoot
	sandbox.StateRoot = t.TempDir()
	t.Cleanup(func() { sandbox.StateRoot = old })

	if got := Get(); got != "" {
		t.Fatalf("nothing set: %q", got)
	}
	if err := Set("course"); err != nil {
		t.Fatal(err)
	}
	if got := Get(); got != "course" {
		t.Fatalf("after Set: %q", got)
	}
	// Removing another lab keeps the current one.
	if err := Clear("k1"); err != nil || Get() != "course" {
		t.Fatalf("Clear(k1): %v, current %q", err, Get())
	}
	if err := Clear("course"); err != nil || Get() != "" {
		t.Fatalf("Clear(course): %v, current %q", err, Get())
	}
	if err := Set("Not A Name"); err == nil {
		t.Fatal("Set accepted an invalid name")
	}
	// A damaged file means no current lab, not an error.
	if err := os.WriteFile(Path(), []byte("{garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := Get(); got != "" {
		t.Fatalf("damaged file: %q", got)
	}
}
