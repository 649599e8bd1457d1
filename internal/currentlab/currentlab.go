// Package currentlab remembers the current lab: the one commands act on
// when --name is absent, like kubectl's current context. 'netlab up' and
// 'netlab lab start' set it, 'netlab down' of that lab clears it, 'netlab
// status' shows it. It is one small file under the sandbox's state root
// (/run/netlab/current), so it is per state root (tests that move the root
// get their own) and goes away with the labs when /run is cleared.
package currentlab

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/statefile"
)

// Env names the file that records the current lab instead of the default
// (/run/netlab/current), as KUBECONFIG does for kubectl: a script or test
// that must not share the machine's current lab with other netlab commands
// running at the same time gives it its own.
const Env = "NETLAB_CURRENT"

// Path is the file that names the current lab.
func Path() string {
	if p := os.Getenv(Env); p != "" {
		return p
	}
	return filepath.Join(sandbox.StateRoot, "current")
}

type file struct {
	Name string `json:"name"`
}

// Get returns the current lab's name, or "" when none is set (or the file
// cannot be read: the current lab is a convenience, never a reason to
// fail).
func Get() string {
	data, err := os.ReadFile(Path())
	if err != nil {
		return ""
	}
	var f file
	if json.Unmarshal(data, &f) != nil {
		return ""
	}
	s := f.Name
	if sandbox.ValidateName(s) != nil {
		return ""
	}
	return s
}

// Set makes name the current lab.
func Set(name string) error {
	if err := sandbox.ValidateName(name); err != nil {
		return err
	}
	return statefile.Save(Path(), file{Name: name}, 0o644)
}

// Clear forgets the current lab if it is name (removing another lab leaves
// the current one as it is).
func Clear(name string) error {
	if Get() != name {
		return nil
	}
	if err := os.Remove(Path()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
