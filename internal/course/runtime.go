package course

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/internal/kindlab"
	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/labs"
)

// probeTask measures task t's cells on lab. A source that cannot be
// probed (on kind: the CoreDNS pod when netlab's ephemeral container is
// gone after a restart) gets the engine's prediction for the policies in
// force, marked DetailPredicted.
func probeTask(ctx context.Context, lab backend.Lab, t *labs.Task, timeout time.Duration) (*matrix.Matrix, error) {
	m, err := lab.Probe(ctx, backend.ProbeOptions{Timeout: timeout, Internet: t.Lab.Internet})
	if err != nil || lab.Backend() == backend.Sandbox {
		return m, err
	}
	w, err := lab.World(ctx)
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
	if !lab.Enforcing() {
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
// start from its source.
const DetailPredicted = "predicted"

// UpLab brings lab l up on rt in its first task's starting state.
func UpLab(ctx context.Context, rt backend.Lab, l *labs.Lab, progress io.Writer) error {
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
func CheckTask(ctx context.Context, rt backend.Lab, t *labs.Task, timeout time.Duration, o grade.Options) (*grade.Result, *matrix.Matrix, error) {
	applied, err := rt.World(ctx)
	if err != nil {
		return nil, nil, err
	}
	m, err := probeTask(ctx, rt, t, timeout)
	if err != nil {
		return nil, nil, err
	}
	return grade.Task(t, applied, m, o), m, nil
}

// enterTask makes rt hold task t's starting state: its enforcer mode, its
// labels, and (with policies) exactly its starting policies.
func enterTask(ctx context.Context, rt backend.Lab, t *labs.Task, policies bool) error {
	return enterState(ctx, rt, t, t.StartWorld(), policies)
}

// enterState makes rt hold want's labels and (with policies) exactly its
// policies, with task t's enforcer mode.
func enterState(ctx context.Context, rt backend.Lab, t *labs.Task, want *world.World, policies bool) error {
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
				if err := rt.Label(ctx, ns.Name, true, ch, true); err != nil {
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
				if err := rt.Label(ctx, p.Key(), false, ch, true); err != nil {
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
		if _, err := rt.Apply(ctx, want.Policies); err != nil {
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
