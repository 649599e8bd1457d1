package kindlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/netlab/netlab/internal/statefile"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// How netlab knows a kind cluster is its own, exactly, even when the lab's
// state is lost: every node of a cluster netlab creates bind-mounts the
// lab's owner directory (Dir(LAB)/owner) read-only at OwnerMountPath.
// Docker keeps that mount in the container's definition, so `docker
// inspect` says which clusters netlab made and where their state lives.
// A cluster without that mount (made with kind directly, or by someone
// else) is never listed, removed or reused as an orphan.
const OwnerMountPath = "/etc/netlab/owner"

const kindClusterLabel = "io.x-k8s.kind.cluster"

func ownerDir(name string) string { return filepath.Join(Dir(name), "owner") }

func lockPath(name string) string { return filepath.Join(Dir(name), "lock") }

// ownerMount is the extra mount every node of a netlab cluster gets.
func ownerMount(name string) (string, string) { return ownerDir(name), OwnerMountPath }

// Cluster is a kind cluster netlab created.
type Cluster struct {
	Name string `json:"name"`
	// StateDir is the lab state directory its nodes mount the owner
	// directory from.
	StateDir   string   `json:"stateDir"`
	Containers []string `json:"containers"`
}

// Clusters lists the kind clusters netlab created on this host's Docker
// (none when there is no Docker).
func Clusters(ctx context.Context) ([]Cluster, error) {
	if _, err := exec.LookPath("docker"); err != nil {
		return nil, nil
	}
	ids, err := exec.CommandContext(ctx, "docker", "ps", "-aq", "--filter", "label="+kindClusterLabel).Output()
	if err != nil {
		return nil, fmt.Errorf("listing kind node containers: %w", err)
	}
	if len(strings.Fields(string(ids))) == 0 {
		return nil, nil
	}
	out, err := exec.CommandContext(ctx, "docker", append([]string{"inspect"}, strings.Fields(string(ids))...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("inspecting kind node containers: %w", err)
	}
	return parseInspect(out)
}

// parseInspect picks netlab's clusters out of `docker inspect` output.
func parseInspect(data []byte) ([]Cluster, error) {
	var containers []struct {
		Name   string
		Config struct{ Labels map[string]string }
		Mounts []struct{ Type, Source, Destination string }
	}
	if err := json.Unmarshal(data, &containers); err != nil {
		return nil, fmt.Errorf("docker inspect: %w", err)
	}
	byName := map[string]*Cluster{}
	for _, c := range containers {
		name := c.Config.Labels[kindClusterLabel]
		if name == "" {
			continue
		}
		for _, m := range c.Mounts {
			if m.Type != "bind" || m.Destination != OwnerMountPath || filepath.Base(m.Source) != "owner" ||
				filepath.Base(filepath.Dir(m.Source)) != name {
				continue
			}
			cl := byName[name]
			if cl == nil {
				cl = &Cluster{Name: name, StateDir: filepath.Dir(m.Source)}
				byName[name] = cl
			}
			cl.Containers = append(cl.Containers, strings.TrimPrefix(c.Name, "/"))
		}
	}
	var out []Cluster
	for _, c := range byName {
		sort.Strings(c.Containers)
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Orphan reports whether netlab's cluster c belongs to no lab: its state
// directory has no state and no netlab command holds its lock (an up
// still creating it does).
func (c Cluster) Orphan() bool {
	if _, err := os.Stat(filepath.Join(c.StateDir, "state.json")); err == nil {
		return false
	}
	unlock, err := statefile.Lock(filepath.Join(c.StateDir, "lock"), false, false)
	if err != nil {
		return errors.Is(err, os.ErrNotExist) // held, or we may not look: not an orphan
	}
	unlock()
	return true
}

// RemoveOrphan deletes netlab's cluster c if it still belongs to no lab
// (checked again under the lab's lock), and its state directory.
func RemoveOrphan(c Cluster) error {
	unlock, err := statefile.Lock(filepath.Join(c.StateDir, "lock"), true, true)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(c.StateDir, "state.json")); err == nil {
		return fmt.Errorf("kind cluster %s: its lab has state again; not removing it", c.Name)
	}
	if err := newClusters(nil).Delete(c.Name, ""); err != nil {
		return fmt.Errorf("deleting kind cluster %s: %w", c.Name, err)
	}
	return os.RemoveAll(c.StateDir)
}

// clusters is the part of kind's cluster.Provider that Up and Down use; a
// variable so tests can make a step fail without Docker.
type clusters interface {
	List() ([]string, error)
	Create(name string, options ...cluster.CreateOption) error
	Delete(name, explicitKubeconfigPath string) error
	KubeConfig(name string, internal bool) (string, error)
	ExportKubeConfig(name, explicitPath string, internal bool) error
	ListNodes(name string) ([]nodes.Node, error)
}

var newClusters = func(opts []cluster.ProviderOption) clusters {
	return cluster.NewProvider(append([]cluster.ProviderOption{cluster.ProviderWithDocker()}, opts...)...)
}
