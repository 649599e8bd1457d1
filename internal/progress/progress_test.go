package progress

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	s := Store{Path: filepath.Join(t.TempDir(), "netlab", "progress.json")}
	f, err := s.Load()
	if err != nil {
		t.Fatalf("missing file: %v", err)
	}
	if len(f.Labs) != 0 || f.Current != "" {
		t.Fatalf("missing file should be empty progress, got %+v", f)
	}
	err = s.Update(func(f *File) error {
		f.Current = "default-deny"
		l := f.Lab("default-deny")
		l.Task = 1
		l.HintsShown = 2
		l.Passed["deny-ingress"] = Result{Points: 7.5, MaxPoints: 10, Hints: 1}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err = s.Load()
	if err != nil {
		t.Fatal(err)
	}
	l := f.Labs["default-deny"]
	if f.Current != "default-deny" || l == nil || l.Task != 1 || l.HintsShown != 2 || l.Score() != 7.5 {
		t.Fatalf("after reload: current %q, lab %+v", f.Current, l)
	}
}

func TestFailedUpdateWritesNothing(t *testing.T) {
	s := Store{Path: filepath.Join(t.TempDir(), "progress.json")}
	if err := s.Update(func(f *File) error { f.Lab("a").Task = 3; return nil }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := s.Update(func(f *File) error { f.Lab("a").Task = 9; return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	f, _ := s.Load()
	if f.Labs["a"].Task != 3 {
		t.Fatalf("a failed update changed the file: task %d", f.Labs["a"].Task)
	}
	entries, _ := os.ReadDir(filepath.Dir(s.Path))
	for _, e := range entries {
		if e.Name() != "progress.json" && e.Name() != "progress.json.lock" {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

// Concurrent updates (two terminals) must not lose each other's writes.
func TestConcurrentUpdates(t *testing.T) {
	s := Store{Path: filepath.Join(t.TempDir(), "progress.json")}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Update(func(f *File) error { f.Lab("a").HintsShown++; return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	f, _ := s.Load()
	if got := f.Labs["a"].HintsShown; got != 20 {
		t.Fatalf("20 concurrent increments gave %d", got)
	}
}

func TestCorruptAndFutureFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"corrupt": `{"version": 1, "labs": {`,
		"future":  `{"version": 99, "labs": {}}`,
	} {
		p := filepath.Join(dir, name+".json")
		os.WriteFile(p, []byte(content), 0o644)
		_, err := Store{Path: p}.Load()
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: Load error %v, want one naming the file", name, err)
		}
		if err := (Store{Path: p}).Update(func(*File) error { return nil }); err == nil {
			t.Errorf("%s: Update overwrote an unreadable progress file", name)
		}
		if data, _ := os.ReadFile(p); string(data) != content {
			t.Errorf("%s: file changed to %q", name, data)
		}
	}
}

func TestDefaultPath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/x/state")
	if p, _ := DefaultPath(); p != "/x/state/netlab/progress.json" {
		t.Errorf("with XDG_STATE_HOME: %s", p)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/ann")
	if p, _ := DefaultPath(); p != "/home/ann/.local/state/netlab/progress.json" {
		t.Errorf("without XDG_STATE_HOME: %s", p)
	}
}
