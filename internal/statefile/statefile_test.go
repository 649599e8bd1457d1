package statefile

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestSaveAndList(t *testing.T) {
	root := t.TempDir()
	type state struct{ Name string }
	for _, tc := range []struct {
		lab       string
		perm, dir os.FileMode
	}{{"a", 0o644, 0o755}, {"b", 0o600, 0o700}} {
		p := filepath.Join(root, tc.lab, "state.json")
		if err := Save(p, state{tc.lab}, tc.perm); err != nil {
			t.Fatal(err)
		}
		if err := Save(p, state{tc.lab + "2"}, tc.perm); err != nil { // replaces
			t.Fatal(err)
		}
		var got state
		data, _ := os.ReadFile(p)
		if err := json.Unmarshal(data, &got); err != nil || got.Name != tc.lab+"2" {
			t.Errorf("%s: read back %+v (%v)", p, got, err)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != tc.perm {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), tc.perm)
		}
		if fi, _ := os.Stat(filepath.Dir(p)); fi.Mode().Perm() != tc.dir {
			t.Errorf("%s: directory mode %v, want %v", p, fi.Mode().Perm(), tc.dir)
		}
		entries, _ := os.ReadDir(filepath.Dir(p))
		if len(entries) != 1 {
			t.Errorf("%s: %d files in the directory, want only state.json", p, len(entries))
		}
	}
	os.MkdirAll(filepath.Join(root, "empty"), 0o755) // no state: not listed
	got, err := List(root, "state.json")
	if err != nil || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("List = %v, %v; want [a b]", got, err)
	}
	if got, err := List(filepath.Join(root, "missing"), "state.json"); err != nil || len(got) != 0 {
		t.Errorf("List of a missing root = %v, %v", got, err)
	}
	if err := Save(filepath.Join(root, "a", "state.json"), func() {}, 0o644); err == nil {
		t.Error("saving a value JSON cannot encode succeeded")
	}
}

// TestLock: a second locker is refused (without wait) and told who holds
// it; a lock whose file was removed while a waiter waited does not count,
// so two holders never think they hold the same lock.
func TestLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	path := filepath.Join(dir, "lock")
	if _, err := Lock(path, false, true); err == nil {
		t.Fatal("Lock without mkdir in a missing directory succeeded")
	}
	unlock, err := Lock(path, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(path, false, false); err != ErrLocked {
		t.Fatalf("second Lock = %v, want ErrLocked", err)
	}
	if got := LockHolder(path); got != os.Getpid() {
		t.Errorf("LockHolder = %d, want %d", got, os.Getpid())
	}
	got := make(chan error)
	go func() {
		u, err := Lock(path, true, true) // waits
		if err == nil {
			defer u()
			_, err = Lock(path, false, false) // must be the live lock
			if err != ErrLocked {
				err = errors.New("the waiter's lock is not the one at path")
			} else {
				err = nil
			}
		}
		got <- err
	}()
	// The holder removes the directory (as Down does) and lets go.
	os.RemoveAll(dir)
	unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}
