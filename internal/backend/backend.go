// Package backend is one running lab, whatever runs it: the sandbox
// (network namespaces) or a kind cluster. ARCHITECTURE.md's "all backends
// implement one small interface" is Lab; the CLI's lab commands and the
// course (labs, lint, grading) both work through it and never ask which
// backend they have.
package backend

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

// Backends.
const (
	Sandbox = "sandbox"
	Kind    = "kind"
)

// Lab is a lab on some backend.
type Lab interface {
	// Name is the lab's name; Backend says what runs it.
	Name() string
	Backend() string
	// Running reports whether the lab is up, and with which scenario.
	Running() (scenario string, ok bool)
	// Up brings the lab up with w (policies included).
	Up(ctx context.Context, w *world.World, scenario, enforcement string, progress io.Writer) error
	// World is the lab's current world, as the engine judges it.
	World(ctx context.Context) (*world.World, error)
	// Version changes whenever the world does (for watching).
	Version(ctx context.Context) (string, error)
	// Enforcing reports whether the lab enforces its policies (not
	// --enforcer none).
	Enforcing() bool
	// Apply creates or replaces policies and returns, once they are
	// enforced, a summary of what changed. Delete removes "ns/name"
	// policies (all must exist). Label sets ("k=v") or removes ("k-")
	// labels of a pod ("ns/name") or namespace, kubectl's way.
	Apply(ctx context.Context, pols []*networkingv1.NetworkPolicy) (string, error)
	Delete(ctx context.Context, keys []string) error
	Label(ctx context.Context, target string, namespace bool, changes []string, overwrite bool) error
	// SetEnforcement switches between sandbox.EnforceEBPF and EnforceNone.
	SetEnforcement(ctx context.Context, mode string) error
	// Probe measures the matrix with real connections.
	Probe(ctx context.Context, o ProbeOptions) (*matrix.Matrix, error)
	// Events streams the enforcer's verdicts until ctx is done.
	Events(ctx context.Context) (<-chan enforcer.Event, error)
	// Down removes the lab and checks that nothing is left.
	Down(ctx context.Context, progress io.Writer) error
}

// ProbeOptions select and shape a probe.
type ProbeOptions struct {
	Timeout time.Duration
	// From and To keep only pods whose "ns/name", name or "ns/" matches.
	From, To []string
	// ByName connects through the lab's DNS; Services (kind) through each
	// port's ClusterIP; Internet (sandbox) adds the internet host.
	ByName, Services, Internet bool
	// Why attaches the enforcer's own verdicts to each cell.
	Why bool
	// Self is the netlab binary sandbox agents run as (default: this one).
	Self string
}

// New returns lab name on backend kind ("" is the sandbox). self is the
// netlab binary its processes or image run (default: this executable).
func New(kind, name, self string) (Lab, error) {
	switch kind {
	case "", Sandbox:
		return sandboxLab{name: name, self: self}, nil
	case Kind:
		return kindLab{name: name, self: self}, nil
	}
	return nil, fmt.Errorf("unknown backend %q: want %s or %s", kind, Sandbox, Kind)
}

// ErrNeedRoot is returned for a sandbox lab when not running as root.
var ErrNeedRoot = errors.New("the sandbox needs root for network namespaces and eBPF: run netlab with sudo")

// Find returns the lab meant: the one called name on whichever backend has
// it, or with no name the only lab running; otherwise an error listing
// them. The sandbox needs root; a kind lab only Docker and its kubeconfig.
func Find(name, self string) (Lab, error) {
	if name != "" && kindlab.Exists(name) {
		return kindLab{name: name, self: self}, nil
	}
	if name == "" {
		kinds, err := kindlab.List()
		if err != nil {
			return nil, err
		}
		boxes, _ := sandbox.List()
		switch {
		case len(kinds) == 1 && len(boxes) == 0:
			return kindLab{name: kinds[0], self: self}, nil
		case len(kinds) > 0 && len(boxes)+len(kinds) > 1:
			return nil, fmt.Errorf("%d labs are running (%s): say which with --name", len(kinds)+len(boxes), strings.Join(append(boxes, kinds...), ", "))
		}
	}
	if os.Geteuid() != 0 {
		return nil, ErrNeedRoot
	}
	n, err := sandbox.Resolve(name)
	if err != nil {
		return nil, err
	}
	return sandboxLab{name: n, self: self}, nil
}

// Where returns lab name on the backend that has it (kind, else the
// sandbox), without checking that it runs.
func Where(name, self string) Lab {
	if kindlab.Exists(name) {
		return kindLab{name: name, self: self}
	}
	return sandboxLab{name: name, self: self}
}

type sandboxLab struct{ name, self string }

func (l sandboxLab) Name() string  { return l.name }
func (sandboxLab) Backend() string { return Sandbox }

func (l sandboxLab) Running() (string, bool) {
	st, err := sandbox.Load(l.name)
	if err != nil {
		return "", false
	}
	return st.Scenario, true
}

func (l sandboxLab) Up(ctx context.Context, w *world.World, scenario, enforcement string, progress io.Writer) error {
	_, err := sandbox.Up(ctx, w, sandbox.Options{Name: l.name, Scenario: scenario, Progress: progress, Self: l.self, Enforcement: enforcement})
	return err
}

func (l sandboxLab) World(context.Context) (*world.World, error) {
	st, err := sandbox.Load(l.name)
	if err != nil {
		return nil, err
	}
	return st.World, nil
}

func (l sandboxLab) Version(context.Context) (string, error) {
	st, err := sandbox.Load(l.name)
	if err != nil {
		return "", err
	}
	return fmt.Sprint(st.Generation), nil
}

func (l sandboxLab) Enforcing() bool {
	st, err := sandbox.Load(l.name)
	return err != nil || st.Enforcing()
}

func (l sandboxLab) Apply(_ context.Context, pols []*networkingv1.NetworkPolicy) (string, error) {
	st, err := sandbox.ApplyPolicies(l.name, pols)
	return st.String(), err
}

func (l sandboxLab) Delete(_ context.Context, keys []string) error {
	_, err := sandbox.DeletePolicies(l.name, keys)
	return err
}

func (l sandboxLab) Label(_ context.Context, target string, namespace bool, changes []string, overwrite bool) error {
	_, err := sandbox.Label(l.name, target, namespace, changes, overwrite)
	return err
}

func (l sandboxLab) SetEnforcement(_ context.Context, mode string) error {
	_, err := sandbox.SetEnforcement(l.name, mode)
	return err
}

func (l sandboxLab) Probe(ctx context.Context, o ProbeOptions) (*matrix.Matrix, error) {
	if o.Self == "" {
		o.Self = l.self
	}
	return sandbox.Probe(ctx, l.name, sandbox.ProbeOptions{Timeout: o.Timeout, From: o.From, To: o.To,
		ByName: o.ByName, Internet: o.Internet, Why: o.Why, Self: o.Self})
}

func (l sandboxLab) Events(ctx context.Context) (<-chan enforcer.Event, error) {
	return sandbox.Events(ctx, l.name)
}

func (l sandboxLab) Down(_ context.Context, progress io.Writer) error {
	if err := sandbox.Down(l.name, progress); err != nil {
		return err
	}
	if left := sandbox.Leftovers(l.name); len(left) > 0 {
		return fmt.Errorf("lab %s: left behind: %v", l.name, left)
	}
	return nil
}

type kindLab struct{ name, self string }

func (l kindLab) Name() string  { return l.name }
func (kindLab) Backend() string { return Kind }

func (l kindLab) Running() (string, bool) {
	st, err := kindlab.Load(l.name)
	if err != nil {
		return "", false
	}
	return st.Scenario, true
}

func (l kindLab) Up(ctx context.Context, w *world.World, scenario, enforcement string, progress io.Writer) error {
	_, err := kindlab.Up(ctx, w, kindlab.Options{Name: l.name, Scenario: scenario, Enforcement: enforcement, Progress: progress, Self: l.self})
	return err
}

func (l kindLab) World(ctx context.Context) (*world.World, error) { return kindlab.World(ctx, l.name) }

func (l kindLab) Version(ctx context.Context) (string, error) {
	w, err := kindlab.World(ctx, l.name)
	if err != nil {
		return "", err
	}
	return clusterworld.Hash(w), nil
}

func (l kindLab) Enforcing() bool {
	st, err := kindlab.Load(l.name)
	return err != nil || st.Enforcement != kindlab.EnforceNone
}

func (l kindLab) Apply(ctx context.Context, pols []*networkingv1.NetworkPolicy) (string, error) {
	if err := kindlab.ApplyPolicies(ctx, l.name, pols); err != nil {
		return "", err
	}
	return "on every node", nil
}

func (l kindLab) Delete(ctx context.Context, keys []string) error {
	return kindlab.DeletePolicies(ctx, l.name, keys)
}

func (l kindLab) Label(ctx context.Context, target string, namespace bool, changes []string, overwrite bool) error {
	return kindlab.Label(ctx, l.name, target, namespace, changes, overwrite)
}

func (l kindLab) SetEnforcement(ctx context.Context, mode string) error {
	return kindlab.SetEnforcement(ctx, l.name, mode)
}

func (l kindLab) Probe(ctx context.Context, o ProbeOptions) (*matrix.Matrix, error) {
	if o.Internet {
		return nil, errors.New("--internet: a kind lab has no internet host (its pods have no route out)")
	}
	ko := kindlab.ProbeOptions{Timeout: o.Timeout, From: o.From, To: o.To, ByName: o.ByName, Services: o.Services}
	if !o.Why {
		return kindlab.Probe(ctx, l.name, ko)
	}
	// The verdicts of every node, read through the node agents while the
	// probe runs.
	evCtx, cancel := context.WithCancel(ctx)
	ch, err := kindlab.Events(evCtx, l.name)
	if err != nil {
		cancel()
		return nil, err
	}
	log := verdicts.Collect(ch, cancel)
	m, err := kindlab.Probe(ctx, l.name, ko)
	events := log.Stop(500 * time.Millisecond)
	if err != nil {
		return nil, err
	}
	w, err := kindlab.World(ctx, l.name)
	if err != nil {
		return nil, err
	}
	verdicts.Annotate(events, w, m, nil)
	return m, nil
}

func (l kindLab) Events(ctx context.Context) (<-chan enforcer.Event, error) {
	return kindlab.Events(ctx, l.name)
}

func (l kindLab) Down(_ context.Context, progress io.Writer) error {
	if err := kindlab.Down(l.name, "", progress); err != nil {
		return err
	}
	if left := kindlab.Leftovers(l.name); len(left) > 0 {
		return fmt.Errorf("lab %s: left behind: %v", l.name, left)
	}
	return nil
}
