package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/clusterworld"
	"github.com/netlab/netlab/internal/kindlab"
	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/verdicts"
	"github.com/netlab/netlab/internal/world"
	networkingv1 "k8s.io/api/networking/v1"
)

// backend is what every lab backend does once a lab is up (ARCHITECTURE.md:
// all backends implement one small interface): apply and delete policies,
// change labels, probe a matrix, say what the world is, tear down. Commands
// find a lab's backend with labFlag.resolveBackend and never ask which one
// it is.
type backend interface {
	// ApplyPolicies creates or replaces policies and returns once they are
	// enforced, with a one-line summary of what changed.
	ApplyPolicies(ctx context.Context, lab string, pols []*networkingv1.NetworkPolicy) (string, error)
	// DeletePolicies deletes "ns/name" policies; all must exist.
	DeletePolicies(ctx context.Context, lab string, keys []string) error
	// Label changes a pod's ("ns/name") or namespace's labels, kubectl's way.
	Label(ctx context.Context, lab, target string, namespace bool, changes []string, overwrite bool) error
	// Probe measures the matrix with real connections.
	Probe(ctx context.Context, lab string, f probeFlags) (*matrix.Matrix, error)
	// World is the lab's current world, which the engine judges.
	World(ctx context.Context, lab string) (*world.World, error)
	// Enforcing reports whether the lab enforces policies (not
	// --enforcer none).
	Enforcing(lab string) bool
	// Down removes the lab.
	Down(ctx context.Context, lab string, progress io.Writer) error
	// Events streams the enforcer's verdicts until ctx is done.
	Events(ctx context.Context, lab string) (<-chan enforcer.Event, error)
	// Version changes whenever the lab's world does.
	Version(ctx context.Context, lab string) (string, error)
}

type sandboxBackend struct{}

func (sandboxBackend) ApplyPolicies(_ context.Context, lab string, pols []*networkingv1.NetworkPolicy) (string, error) {
	st, err := sandbox.ApplyPolicies(lab, pols)
	return st.String(), err
}

func (sandboxBackend) DeletePolicies(_ context.Context, lab string, keys []string) error {
	_, err := sandbox.DeletePolicies(lab, keys)
	return err
}

func (sandboxBackend) Label(_ context.Context, lab, target string, namespace bool, changes []string, overwrite bool) error {
	_, err := sandbox.Label(lab, target, namespace, changes, overwrite)
	return err
}

func (sandboxBackend) Probe(ctx context.Context, lab string, f probeFlags) (*matrix.Matrix, error) {
	return sandbox.Probe(ctx, lab, f.options())
}

func (sandboxBackend) World(_ context.Context, lab string) (*world.World, error) {
	st, err := sandbox.Load(lab)
	if err != nil {
		return nil, err
	}
	return st.World, nil
}

func (sandboxBackend) Down(_ context.Context, lab string, progress io.Writer) error {
	if err := sandbox.Down(lab, progress); err != nil {
		return err
	}
	if left := sandbox.Leftovers(lab); len(left) > 0 {
		return fmt.Errorf("lab %s: left behind: %v", lab, left)
	}
	return nil
}

func (sandboxBackend) Enforcing(lab string) bool {
	st, err := sandbox.Load(lab)
	return err != nil || st.Enforcing()
}

func (sandboxBackend) Events(ctx context.Context, lab string) (<-chan enforcer.Event, error) {
	return sandbox.Events(ctx, lab)
}

func (sandboxBackend) Version(_ context.Context, lab string) (string, error) {
	st, err := sandbox.Load(lab)
	if err != nil {
		return "", err
	}
	return fmt.Sprint(st.Generation), nil
}

type kindBackend struct{}

func (kindBackend) Events(ctx context.Context, lab string) (<-chan enforcer.Event, error) {
	return kindlab.Events(ctx, lab)
}

func (kindBackend) Version(ctx context.Context, lab string) (string, error) {
	w, err := kindlab.World(ctx, lab)
	if err != nil {
		return "", err
	}
	return clusterworld.Hash(w), nil
}

func (kindBackend) Enforcing(lab string) bool {
	st, err := kindlab.Load(lab)
	return err != nil || st.Enforcement != kindlab.EnforceNone
}

func (kindBackend) ApplyPolicies(ctx context.Context, lab string, pols []*networkingv1.NetworkPolicy) (string, error) {
	if err := kindlab.ApplyPolicies(ctx, lab, pols); err != nil {
		return "", err
	}
	return "on every node", nil
}

func (kindBackend) DeletePolicies(ctx context.Context, lab string, keys []string) error {
	return kindlab.DeletePolicies(ctx, lab, keys)
}

func (kindBackend) Label(ctx context.Context, lab, target string, namespace bool, changes []string, overwrite bool) error {
	return kindlab.Label(ctx, lab, target, namespace, changes, overwrite)
}

func (kindBackend) Probe(ctx context.Context, lab string, f probeFlags) (*matrix.Matrix, error) {
	if f.internet {
		return nil, errors.New("--internet: a kind lab has no internet host (its pods have no route out)")
	}
	o := kindlab.ProbeOptions{Timeout: f.timeout, From: f.from, To: f.to, ByName: f.byName, Services: f.services}
	if !f.why {
		return kindlab.Probe(ctx, lab, o)
	}
	// The verdicts of every node, read through the node agents while the
	// probe runs.
	evCtx, cancel := context.WithCancel(ctx)
	ch, err := kindlab.Events(evCtx, lab)
	if err != nil {
		cancel()
		return nil, err
	}
	log := verdicts.Collect(ch, cancel)
	m, err := kindlab.Probe(ctx, lab, o)
	events := log.Stop(500 * time.Millisecond)
	if err != nil {
		return nil, err
	}
	w, err := kindlab.World(ctx, lab)
	if err != nil {
		return nil, err
	}
	verdicts.Annotate(events, w, m, nil)
	return m, nil
}

func (kindBackend) World(ctx context.Context, lab string) (*world.World, error) {
	return kindlab.World(ctx, lab)
}

func (kindBackend) Down(_ context.Context, lab string, progress io.Writer) error {
	if err := kindlab.Down(lab, "", progress); err != nil {
		return err
	}
	if left := kindlab.Leftovers(lab); len(left) > 0 {
		return fmt.Errorf("lab %s: left behind: %v", lab, left)
	}
	return nil
}

// resolveBackend returns the lab meant (the named one, or the only one
// running on any backend) and its backend. The sandbox needs root; a kind
// lab needs only Docker and its kubeconfig.
func (f *labFlag) resolveBackend() (string, backend, error) {
	if f.name != "" && kindlab.Exists(f.name) {
		return f.name, kindBackend{}, nil
	}
	if f.name == "" {
		kinds, err := kindlab.List()
		if err != nil {
			return "", nil, err
		}
		boxes, _ := sandbox.List()
		switch {
		case len(kinds) == 1 && len(boxes) == 0:
			return kinds[0], kindBackend{}, nil
		case len(kinds) > 0 && len(boxes)+len(kinds) > 1:
			return "", nil, fmt.Errorf("%d labs are running (%s): say which with --name", len(kinds)+len(boxes), strings.Join(append(boxes, kinds...), ", "))
		}
	}
	if os.Geteuid() != 0 {
		return "", nil, errNeedRoot
	}
	name, err := sandbox.Resolve(f.name)
	return name, sandboxBackend{}, err
}
