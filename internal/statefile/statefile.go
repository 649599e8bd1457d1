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
