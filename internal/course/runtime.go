package course

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/clusterworld"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/internal/kindlab"
	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/labs"
	networkingv1 "k8s.io/api/networking/v1"
)

// Backends a course lab runs on.
const (
	Sandbox = "sandbox"
	Kind    = "kind"
)

// Runtime is what the course needs from a running lab, on any backend.
type Runtime interface {
	// Backend names the backend (Sandbox or Kind).
	Backend() string
	// Running reports whether the lab is up, and with which scenario.
	Running() (scenario string, ok bool)
	// Up brings the lab up with w (policies included).
	Up(ctx context.Context, w *world.World, scenario, enforcement string, progress io.Writer) error
	// World is the lab's current world, as the engine judges it.
	World(ctx context.Context) (*world.World, error)
	// Version changes whenever the world does (for watching).
	Version(ctx context.Context) (string, error)
	// Apply creates or replaces policies; Delete removes "ns/name" ones;
	// Label sets ("k=v") or removes ("k-") labels of a pod ("ns/name") or
	// namespace. Each returns once the change is enforced.
	Apply(ctx context.Context, pols []*networkingv1.NetworkPolicy) error
	Delete(ctx context.Context, keys []string) error
	Label(ctx context.Context, target string, namespace bool, changes []string) error
	// SetEnforcement switches between sandbox.EnforceEBPF and EnforceNone.
	SetEnforcement(ctx context.Context, mode string) error
	// Probe measures task t's cells.
	Probe(ctx context.Context, t *labs.Task, timeout time.Duration) (*matrix.Matrix, error)
	// Down removes the lab.
	Down(ctx context.Context, progress io.Writer) error
	// Events streams the enforcer's verdicts until ctx is done.
	Events(ctx context.Context) (<-chan enforcer.Event, error)
}

// NewRuntime returns the runtime of lab name on backend.
func NewRuntime(backend, name, self string) (Runtime, error) {
	switch backend {
	case "", Sandbox:
		return sandboxRuntime{name: name, self: self}, nil
	case Kind:
		return kindRuntime{name: name, self: self}, nil
	}
	return nil, fmt.Errorf("unknown backend %q: want %s or %s", backend, Sandbox, Kind)
}

// runningRuntime finds where lab name runs (kind, else the sandbox).
func runningRuntime(name, self string) Runtime {
	if kindlab.Exists(name) {
		return kindRuntime{name: name, self: self}
	}
	return sandboxRuntime{name: name, self: self}
}

type sandboxRuntime struct{ name, self string }

func (sandboxRuntime) Backend() string { return Sandbox }

func (r sandboxRuntime) Running() (string, bool) {
	st, err := sandbox.Load(r.name)
	if err != nil {
		return "", false
	}
	return st.Scenario, true
}

func (r sandboxRuntime) Up(ctx context.Context, w *world.World, scenario, enforcement string, progress io.Writer) error {
	_, err := sandbox.Up(ctx, w, sandbox.Options{Name: r.name, Scenario: scenario, Progress: progress, Self: r.self, Enforcement: enforcement})
	return err
}

func (r sandboxRuntime) World(context.Context) (*world.World, error) {
	st, err := sandbox.Load(r.name)
	if err != nil {
		return nil, err
	}
	return st.World, nil
}

func (r sandboxRuntime) Version(context.Context) (string, error) {
	st, err := sandbox.Load(r.name)
	if err != nil {
		return "", err
	}
	return fmt.Sprint(st.Generation), nil
}

func (r sandboxRuntime) Apply(_ context.Context, pols []*networkingv1.NetworkPolicy) error {
	_, err := sandbox.ApplyPolicies(r.name, pols)
	return err
}

func (r sandboxRuntime) Delete(_ context.Context, keys []string) error {
	_, err := sandbox.DeletePolicies(r.name, keys)
	return err
}

func (r sandboxRuntime) Label(_ context.Context, target string, namespace bool, changes []string) error {
	_, err := sandbox.Label(r.name, target, namespace, changes, true)
	return err
}

func (r sandboxRuntime) SetEnforcement(_ context.Context, mode string) error {
	_, err := sandbox.SetEnforcement(r.name, mode)
	return err
}

func (r sandboxRuntime) Probe(ctx context.Context, t *labs.Task, timeout time.Duration) (*matrix.Matrix, error) {
	return sandbox.Probe(ctx, r.name, sandbox.ProbeOptions{Timeout: timeout, Internet: t.Lab.Internet, Self: r.self})
}

func (r sandboxRuntime) Events(ctx context.Context) (<-chan enforcer.Event, error) {
	return sandbox.Events(ctx, r.name)
}

func (r sandboxRuntime) Down(_ context.Context, progress io.Writer) error {
	return sandbox.Down(r.name, progress)
}

type kindRuntime struct{ name, self string }

func (kindRuntime) Backend() string { return Kind }

func (r kindRuntime) Running() (string, bool) {
	st, err := kindlab.Load(r.name)
	if err != nil {
		return "", false
	}
	return st.Scenario, true
}

func (r kindRuntime) Up(ctx context.Context, w *world.World, scenario, enforcement string, progress io.Writer) error {
	_, err := kindlab.Up(ctx, w, kindlab.Options{Name: r.name, Scenario: scenario, Enforcement: enforcement, Progress: progress, Self: r.self})
	return err
}

func (r kindRuntime) World(ctx context.Context) (*world.World, error) {
	return kindlab.World(ctx, r.name)
}

func (r kindRuntime) Version(ctx context.Context) (string, error) {
	w, err := kindlab.World(ctx, r.name)
	if err != nil {
		return "", err
	}
	return clusterworld.Hash(w), nil
}

func (r kindRuntime) Apply(ctx context.Context, pols []*networkingv1.NetworkPolicy) error {
	return kindlab.ApplyPolicies(ctx, r.name, pols)
}

func (r kindRuntime) Delete(ctx context.Context, keys []string) error {
	return kindlab.DeletePolicies(ctx, r.name, keys)
}

func (r kindRuntime) Label(ctx context.Context, target string, namespace bool, changes []string) error {
	return kindlab.Label(ctx, r.name, target, namespace, changes, true)
}

func (r kindRuntime) SetEnforcement(ctx context.Context, mode string) error {
	return kindlab.SetEnforcement(ctx, r.name, mode)
}

// Probe measures the task's cells on the cluster. Probes start from pods
// running netlab's agent and from the cluster's CoreDNS (the scenario's
// kube-dns pod) through netlab's ephemeral container. A source that cannot
// be probed (that container gone after CoreDNS restarted) gets the
// engine's prediction for the policies in force, marked DetailPredicted.
func (r kindRuntime) Probe(ctx context.Context, t *labs.Task, timeout time.Duration) (*matrix.Matrix, error) {
	if t.Lab.Internet {
		return nil, fmt.Errorf("lab %s needs the internet host, which only the sandbox has", t.Lab.Name)
	}
	m, err := kindlab.Probe(ctx, r.name, kindlab.ProbeOptions{Timeout: timeout})
	if err != nil {
		return nil, err
	}
	w, err := kindlab.World(ctx, r.name)
	if err != nil {
		return nil, err
	}
	probed := map[string]bool{}
	for _, c := range m.Results {
		probed[c.From] = true
	}
	expected := map[matrix.Key]bool{}
	for _, c := range t.Expected().Results {
		expected[c.Key()] = true
	}
	enf := labs.EnforcerEBPF
	if st, err := kindlab.Load(r.name); err == nil && st.Enforcement == kindlab.EnforceNone {
		enf = labs.EnforcerNone
	}
	for _, c := range labs.Predict(w, false, enf).Results {
		if !probed[c.From] && expected[c.Key()] {
			c.Detail = DetailPredicted
			m.Results = append(m.Results, c)
		}
	}
	m.Sort()
	return m, nil
}

// DetailPredicted marks a cell the engine predicted because no probe can
// start from its source (a pod that does not run netlab's agent).
const DetailPredicted = "predicted"

func (r kindRuntime) Events(ctx context.Context) (<-chan enforcer.Event, error) {
	return kindlab.Events(ctx, r.name)
}

func (r kindRuntime) Down(_ context.Context, progress io.Writer) error {
	return kindlab.Down(r.name, "", progress)
}

// UpLab brings lab l up on rt in its first task's starting state.
func UpLab(ctx context.Context, rt Runtime, l *labs.Lab, progress io.Writer) error {
	first := l.Tasks[0]
	return rt.Up(ctx, first.StartWorld(), l.Scenario, enforcement(first), progress)
}

// enforcement is the enforcer mode of task t: a task without an enforcer
// runs with the enforcer holding no policies, as a cluster whose network
// plugin ignores NetworkPolicy (the policies are stored).
func enforcement(t *labs.Task) string {
	if t.Enforcer == labs.EnforcerNone {
		return sandbox.EnforceNone
	}
	return sandbox.EnforceEBPF
}

// CheckTask probes task t's cells on rt and grades them; the world in
// force explains the wrong cells.
func CheckTask(ctx context.Context, rt Runtime, t *labs.Task, timeout time.Duration, o grade.Options) (*grade.Result, *matrix.Matrix, error) {
	applied, err := rt.World(ctx)
	if err != nil {
		return nil, nil, err
	}
	m, err := rt.Probe(ctx, t, timeout)
	if err != nil {
		return nil, nil, err
	}
	return grade.Task(t, applied, m, o), m, nil
}

// enterTask makes rt hold task t's starting state: its enforcer mode, its
// labels, and (with policies) exactly its starting policies.
func enterTask(ctx context.Context, rt Runtime, t *labs.Task, policies bool) error {
	return enterState(ctx, rt, t, t.StartWorld(), policies)
}

// enterState makes rt hold want's labels and (with policies) exactly its
// policies, with task t's enforcer mode.
func enterState(ctx context.Context, rt Runtime, t *labs.Task, want *world.World, policies bool) error {
	if err := rt.SetEnforcement(ctx, enforcement(t)); err != nil {
		return fmt.Errorf("task %s: %w", t.ID(), err)
	}
	cur, err := rt.World(ctx)
	if err != nil {
		return err
	}
	for _, ns := range want.Namespaces {
		if c := cur.Namespace(ns.Name); c != nil {
			if ch := labelChanges(c.Labels, ns.Labels); len(ch) > 0 {
				if err := rt.Label(ctx, ns.Name, true, ch); err != nil {
					return fmt.Errorf("task %s: labels of namespace %s: %w", t.ID(), ns.Name, err)
				}
			}
		}
	}
	for _, p := range want.Pods {
		if kindlab.IsClusterDNS(p) {
			continue // on kind the cluster's own CoreDNS: its labels are its ReplicaSet's
		}
		if c := cur.Pod(p.Key()); c != nil {
			if ch := labelChanges(c.Labels, p.Labels); len(ch) > 0 {
				if err := rt.Label(ctx, p.Key(), false, ch); err != nil {
					return fmt.Errorf("task %s: labels of pod %s: %w", t.ID(), p.Key(), err)
				}
			}
		}
	}
	if !policies {
		return nil
	}
	keep := map[string]bool{}
	for _, np := range want.Policies {
		keep[np.Namespace+"/"+np.Name] = true
	}
	var gone []string
	for _, np := range cur.Policies {
		if k := np.Namespace + "/" + np.Name; !keep[k] {
			gone = append(gone, k)
		}
	}
	if len(gone) > 0 {
		if err := rt.Delete(ctx, gone); err != nil {
			return fmt.Errorf("task %s: removing policies: %w", t.ID(), err)
		}
	}
	if len(want.Policies) > 0 {
		if err := rt.Apply(ctx, want.Policies); err != nil {
			return fmt.Errorf("task %s: starting policies: %w", t.ID(), err)
		}
	}
	return nil
}

// labelChanges are kubectl label arguments that turn have into want
// (the namespace-name label is the API server's and never changes).
func labelChanges(have, want map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, ok := have[k]; !ok || v != want[k] {
			out = append(out, k+"="+want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[k]; !ok && k != world.NamespaceNameLabel {
			out = append(out, k+"-")
		}
	}
	return out
}
