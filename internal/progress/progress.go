// Package progress remembers where a learner is in the course: the lab in
// progress, its current task, how many hints were shown, and every task
// passed with its score. It lives in the XDG state directory, apart from
// any running lab, so it survives 'netlab down' and 'netlab up'; every
// write is atomic (a temporary file renamed over the old one) under a lock,
// so a crash or two terminals never leave half a file.
package progress

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/netlab/netlab/internal/statefile"
)

// Version is the file format's version.
const Version = 1

// File is the whole saved progress.
type File struct {
	Version int `json:"version"`
	// Current is the lab the learner works on ("" before the first start).
	Current string          `json:"current,omitempty"`
	Labs    map[string]*Lab `json:"labs"`
}

// Lab is the progress in one lab.
type Lab struct {
	// Task is the 0-based index of the current task; equal to the number
	// of tasks once the lab is finished.
	Task int `json:"task"`
	// HintsShown counts hints revealed for the current task.
	HintsShown int `json:"hintsShown"`
	// SolutionShown is set when the learner asked for the current task's
	// solution; a pass then earns no points.
	SolutionShown bool `json:"solutionShown,omitempty"`
	// Passed maps task names to their result.
	Passed  map[string]Result `json:"passed"`
	Started time.Time         `json:"started"`
	Updated time.Time         `json:"updated"`
}

// Result is a passed task.
type Result struct {
	Points    float64   `json:"points"`
	MaxPoints int       `json:"maxPoints"`
	Hints     int       `json:"hints"`
	At        time.Time `json:"at"`
}

// Lab returns the progress of lab name, creating it.
func (f *File) Lab(name string) *Lab {
	if f.Labs == nil {
		f.Labs = map[string]*Lab{}
	}
	l := f.Labs[name]
	if l == nil {
		l = &Lab{Passed: map[string]Result{}, Started: time.Now().UTC()}
		f.Labs[name] = l
	}
	if l.Passed == nil {
		l.Passed = map[string]Result{}
	}
	return l
}

// Score sums the points of the passed tasks.
func (l *Lab) Score() float64 {
	total := 0.0
	for _, r := range l.Passed {
		total += r.Points
	}
	return total
}

// Store is a progress file on disk.
type Store struct{ Path string }

// DefaultPath is $XDG_STATE_HOME/netlab/progress.json, or
// ~/.local/state/netlab/progress.json.
func DefaultPath() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding the state directory: %w (set XDG_STATE_HOME)", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "netlab", "progress.json"), nil
}

// Open returns the store at DefaultPath.
func Open() (Store, error) {
	p, err := DefaultPath()
	return Store{Path: p}, err
}

// Load reads the progress; a missing file is empty progress.
func (s Store) Load() (*File, error) {
	data, err := os.ReadFile(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return &File{Version: Version, Labs: map[string]*Lab{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading progress: %w", err)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: corrupt progress file (move it away to start over): %w", s.Path, err)
	}
	if f.Version != Version {
		return nil, fmt.Errorf("%s: progress file version %d, this netlab reads version %d", s.Path, f.Version, Version)
	}
	if f.Labs == nil {
		f.Labs = map[string]*Lab{}
	}
	return &f, nil
}

// Update loads the progress, lets fn change it and writes it back
// atomically, all under an exclusive lock. If fn fails nothing is written.
func (s Store) Update(fn func(*File) error) error {
	unlock, err := statefile.Lock(s.Path+".lock", true, true)
	if err != nil {
		return fmt.Errorf("locking progress: %w", err)
	}
	defer unlock()
	f, err := s.Load()
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		return err
	}
	f.Version = Version
	if err := statefile.Save(s.Path, f, 0o644); err != nil {
		return fmt.Errorf("saving progress: %w", err)
	}
	return nil
}
