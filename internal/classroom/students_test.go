package classroom

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStudents(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"zoe/submission/1", "amy/1", ".git", "ben/submission-old", "lee"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "grades.csv"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(dir, "mallory")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(dir, "lee", SubmissionDir)); err != nil {
		t.Fatal(err)
	}
	names, skipped, err := Students(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, " "); got != "amy ben lee zoe" {
		t.Errorf("students %q", got)
	}
	if got := strings.Join(skipped, "; "); got != ".git: hidden; grades.csv: not a directory; mallory: a symlink, not a submission directory" {
		t.Errorf("skipped %q", got)
	}
	for name, want := range map[string]string{"zoe": "zoe/submission", "amy": "amy", "ben": "ben", "lee": "lee"} {
		if got := submissionDir(filepath.Join(dir, name)); got != filepath.Join(dir, want) {
			t.Errorf("%s: submission in %s, want %s", name, got, want)
		}
	}
	if _, _, err := Students(filepath.Join(dir, "amy", "1")); err == nil || !strings.Contains(err.Error(), "no submissions") {
		t.Errorf("an empty class: %v", err)
	}
}
