// Package kindlab is netlab's kind backend: a lab is a real Kubernetes
// cluster made with kind's Go library (sigs.k8s.io/kind/pkg/cluster), with
// kindnet replaced by netlab's node agent (CNI config, routes and the eBPF
// enforcer fed by informers; see internal/nodeagent), scenario pods running
// netlab's own agent image (internal/netlabimage), and everything else done
// through client-go: policies and labels are plain API objects, so learners
// use kubectl, and probes run through the API server's exec, one per source
// pod, with all of its targets tried at once inside it.
//
// The shape mirrors internal/sandbox: Up, ApplyPolicies, DeletePolicies,
// Label, Probe, World, Down.
package kindlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/dockerhost"
	"github.com/netlab/netlab/internal/nodeimage"
	"github.com/netlab/netlab/internal/statefile"
	"k8s.io/apimachinery/pkg/util/validation"
)

// StateRoot is where kind labs keep their state (a variable so tests can
// move it). Unlike the sandbox's, it survives a reboot, as the cluster's
// containers do.
var StateRoot = "/var/lib/netlab/kind"

// SystemNamespace holds netlab's node agent DaemonSet.
const SystemNamespace = "netlab-system"

// Enforcement modes, as `netlab up --enforcer` spells them.
const (
	EnforceEBPF = "ebpf"
	EnforceNone = "none"
)

// State is what netlab remembers of a kind lab.
type State struct {
	Name     string    `json:"name"`
	Backend  string    `json:"backend"` // always "kind"
	Created  time.Time `json:"created"`
	Scenario string    `json:"scenario,omitempty"`
	// Cluster is the kind cluster name (the lab name); Context is the
	// kubeconfig context kind wrote ("kind-" + Cluster).
	Cluster string `json:"cluster"`
	Context string `json:"context"`
	// NodeImage is the kind node image; Image is netlab's agent image.
	NodeImage   string `json:"nodeImage"`
	Image       string `json:"image"`
	Nodes       int    `json:"nodes"`
	Enforcement string `json:"enforcement"`
	// Namespaces are the scenario's namespaces: the lab's matrix covers
	// their pods (and kube-dns).
	Namespaces []string `json:"namespaces"`
}

// Dir is the lab's state directory.
func Dir(name string) string { return filepath.Join(StateRoot, name) }

func statePath(name string) string { return filepath.Join(Dir(name), "state.json") }

// KubeconfigPath is the lab's own kubeconfig (external API address), which
// netlab uses; the learner's kubeconfig gets the same context the kind way.
func KubeconfigPath(name string) string { return filepath.Join(Dir(name), "kubeconfig") }

// ValidateName checks a lab name: it becomes the kind cluster's name and
// its node containers' names, so a DNS label of at most 20 characters.
func ValidateName(name string) error {
	if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
		return fmt.Errorf("invalid lab name %q: %s", name, strings.Join(msgs, "; "))
	}
	if len(name) > 20 {
		return fmt.Errorf("invalid lab name %q: at most 20 characters", name)
	}
	return nil
}

// ErrNoLab is returned when a kind lab does not exist.
var ErrNoLab = errors.New("no such kind lab")

// Load reads a lab's state.
func Load(name string) (*State, error) {
	data, err := os.ReadFile(statePath(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("lab %q: %w", name, ErrNoLab)
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

// Exists reports whether a kind lab called name has state.
func Exists(name string) bool {
	_, err := os.Stat(statePath(name))
	return err == nil
}

func (s *State) save() error { return statefile.Save(statePath(s.Name), s, 0o600) }

// List returns the names of the kind labs that have state.
func List() ([]string, error) { return statefile.List(StateRoot, "state.json") }

// Preflight says whether kind labs can run here: as root, with a Docker
// daemon and the node image (image, or netlab's offline build when empty),
// which it returns. The error says what is missing and how to fix it.
func Preflight(ctx context.Context, image string) (string, error) {
	if image == "" {
		image = nodeimage.ImageRepository + ":" + nodeimage.DefaultKubernetesVersion
	}
	if os.Geteuid() != 0 {
		return "", errors.New("needs root")
	}
	if _, err := dockerhost.DaemonInfo(ctx); err != nil {
		return "", fmt.Errorf("needs Docker (sudo netlab doctor --backend kind --fix): %w", err)
	}
	if !nodeimage.ImageExists(ctx, image) {
		return "", fmt.Errorf("node image %s not built (sudo netlab node-image build)", image)
	}
	return image, nil
}
