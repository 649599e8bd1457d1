// Package sandbox is netlab's default backend: a lab whose pods are Linux
// network namespaces on one bridge, with netlab's eBPF enforcer on every
// pod's veth, the netlab agent serving each pod's container ports, a DNS
// server in the kube-dns pod, and an "internet" host outside the pod CIDR.
//
// A lab lives in its own network namespace (the "node"): the bridge, the
// host ends of the pods' veths and the route to the internet host are there,
// so labs never touch the host's interfaces, routes or firewall, and several
// labs with the same pod CIDR run side by side. The lab's state (its world,
// applied policies, processes) is a JSON file under /run/netlab/LAB; every
// command that changes it takes the lab's lock, writes the state atomically
// and updates the enforcer's maps before returning.
package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/statefile"
	"github.com/netlab/netlab/internal/world"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Where labs keep their state and pins. Variables so tests can move them.
var (
	StateRoot = "/run/netlab"
	PinRoot   = "/sys/fs/bpf/netlab"
)

// Addresses of every lab's node namespace.
var (
	Gateway      = netip.MustParsePrefix("10.244.0.1/16")
	InternetGW   = netip.MustParsePrefix("203.0.113.1/24")
	InternetIP   = netip.MustParseAddr("203.0.113.10")
	InternetPort = []world.Port{{Name: "http", Port: 80, Protocol: "TCP"}, {Name: "https", Port: 443, Protocol: "TCP"}}
)

// Pod is a pod's runtime: its namespace, the host end of its veth and the
// agent process serving its ports.
type Pod struct {
	Key      string `json:"key"`
	NetNS    string `json:"netns"`
	HostVeth string `json:"hostVeth"`
	Ifindex  int    `json:"ifindex"`
	PID      int    `json:"pid"`
}

// State is everything netlab knows of a running lab.
type State struct {
	Name        string       `json:"name"`
	Created     time.Time    `json:"created"`
	Scenario    string       `json:"scenario,omitempty"`
	NodeNS      string       `json:"nodeNetns"`
	World       *world.World `json:"world"`
	Pods        []Pod        `json:"pods"`
	Internet    Pod          `json:"internet"`
	DNS         string       `json:"dns"` // the kube-dns pod's IP, "" if none
	EnforcerPID int          `json:"enforcerPid"`
	// Enforcement is EnforceEBPF (also when empty) or EnforceNone: the
	// enforcer stays attached but holds no endpoints, like a network
	// plugin that ignores NetworkPolicy.
	Enforcement string `json:"enforcement,omitempty"`
	Generation  int    `json:"generation"`
}

// Enforcement modes.
const (
	EnforceEBPF = "ebpf"
	EnforceNone = "none"
)

// Enforcing reports whether the lab's policies are enforced.
func (s *State) Enforcing() bool { return s.Enforcement != EnforceNone }

// ValidateEnforcement checks a mode name.
func ValidateEnforcement(mode string) error {
	switch mode {
	case "", EnforceEBPF, EnforceNone:
		return nil
	}
	return fmt.Errorf("unknown enforcer %q: want %s or %s", mode, EnforceEBPF, EnforceNone)
}

// Dir is the lab's state directory.
func Dir(name string) string { return filepath.Join(StateRoot, name) }

// PinDir is where the lab's BPF maps and links are pinned.
func PinDir(name string) string { return filepath.Join(PinRoot, name) }

func statePath(name string) string { return filepath.Join(Dir(name), "state.json") }

// ValidateName checks a lab name: a DNS label of at most 20 characters.
func ValidateName(name string) error {
	if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
		return fmt.Errorf("invalid lab name %q: %s", name, strings.Join(msgs, "; "))
	}
	if len(name) > 20 {
		return fmt.Errorf("invalid lab name %q: at most 20 characters", name)
	}
	return nil
}

// ErrNoLab is returned when a lab does not exist.
var ErrNoLab = errors.New("no such lab")

// Load reads a lab's state.
func Load(name string) (*State, error) {
	data, err := os.ReadFile(statePath(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("lab %q: %w (running: %s)", name, ErrNoLab, strings.Join(mustList(), ", "))
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("lab %q: corrupt state %s: %w", name, statePath(name), err)
	}
	return &s, nil
}

// save writes the state atomically (temp file + rename).
func (s *State) save() error { return statefile.Save(statePath(s.Name), s, 0o644) }

// List returns the names of the labs that have state.
func List() ([]string, error) { return statefile.List(StateRoot, "state.json") }

func mustList() []string {
	l, _ := List()
	if len(l) == 0 {
		return []string{"none"}
	}
	return l
}

// Resolve picks the lab a command means: the named one, or the only one
// running; otherwise an error listing them.
func Resolve(name string) (string, error) {
	if name != "" {
		return name, nil
	}
	labs, err := List()
	if err != nil {
		return "", err
	}
	switch len(labs) {
	case 0:
		return "", fmt.Errorf("no lab is running: start one with 'netlab up'")
	case 1:
		return labs[0], nil
	}
	return "", fmt.Errorf("%d labs are running (%s): say which with --name", len(labs), strings.Join(labs, ", "))
}

// lock takes the lab's exclusive lock; the returned func releases it. The
// kernel drops it if the process dies, so a killed command never wedges a
// lab.
func lock(name string) (func(), error) {
	if err := os.MkdirAll(Dir(name), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(Dir(name), "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := statefile.Lock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking lab %s: %w", name, err)
	}
	return func() { statefile.Unlock(f); f.Close() }, nil
}

// PodNS is the pod's network namespace name.
func podNS(lab string, i int) string { return fmt.Sprintf("netlab-%s-p%d", lab, i) }

func nodeNS(lab string) string     { return "netlab-" + lab }
func internetNS(lab string) string { return "netlab-" + lab + "-internet" }
