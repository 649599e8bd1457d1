// Package statefile keeps netlab's small JSON state files (a lab's state,
// the learner's progress): written atomically, so a reader sees the old
// file or the new one and never a mix, even if the machine stops halfway;
// and found again by listing the directories that hold one.
package statefile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Save writes v as indented JSON to path with mode perm: to a temporary
// file in the same directory, synced, then renamed over path. The
// directory is created if needed, readable by others only if the file is.
func Save(path string, v any, perm os.FileMode) error {
	dirPerm := os.FileMode(0o700)
	if perm&0o044 != 0 {
		dirPerm = 0o755
	}
	if err := os.MkdirAll(filepath.Dir(path), dirPerm); err != nil {
		return err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), perm)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return nil
}

// List returns, sorted, the names of root's subdirectories that hold a
// file called name (a missing root holds none).
func List(root, name string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(root, e.Name(), name)); err == nil {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// ErrLocked is returned by Lock without wait when another process holds
// the lock.
var ErrLocked = errors.New("locked by another process")

// Lock takes the exclusive flock of the file at path, creating the file
// (and, with mkdir, its directory) if needed, and records the caller's pid
// in it so that a refused caller can say who holds it (LockHolder). With
// wait false it fails with ErrLocked instead of waiting. The kernel drops
// the lock when the process dies, so a killed command never wedges
// anything.
//
// A lock file that was removed (or replaced) while we waited for it is no
// lock at all: the next caller would lock a new file at path. So after
// locking, Lock checks that path still names the file it locked, and
// starts over if not.
func Lock(path string, mkdir, wait bool) (unlock func(), err error) {
	for {
		if mkdir {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return nil, err
			}
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, err
		}
		if err := lockFile(f, wait); err != nil {
			f.Close()
			if errors.Is(err, ErrLocked) {
				return nil, ErrLocked
			}
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 != nil || err2 != nil || !os.SameFile(held, now) {
			f.Close() // removed while we waited: lock the new one
			continue
		}
		f.Truncate(0)
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		return func() { unlockFile(f); f.Close() }, nil
	}
}

// LockHolder returns the pid recorded in the lock file at path by its
// last holder (0 if none), which holds it still if Lock says ErrLocked.
func LockHolder(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}
