package course_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/labs"
	networkingv1 "k8s.io/api/networking/v1"
)

// fakeLab is a backend.Lab without a dataplane: its probe is the engine's
// prediction, so the course's bookkeeping is tested without root.
type fakeLab struct {
	w        *world.World
	scenario string
	mode     string
	ups      int
}

var _ backend.Lab = (*fakeLab)(nil)

func (l *fakeLab) Name() string    { return "fake" }
func (l *fakeLab) Backend() string { return backend.Sandbox }
func (l *fakeLab) Running() (string, bool) {
	return l.scenario, l.w != nil
}

func (l *fakeLab) Up(_ context.Context, w *world.World, scenario, mode string, _ io.Writer) error {
	l.w, l.scenario, l.mode = w.Clone(), scenario, mode
	l.ups++
	return nil
}

func (l *fakeLab) World(context.Context) (*world.World, error) {
	if l.w == nil {
		return nil, sandbox.ErrNoLab
	}
	return l.w.Clone(), nil
}

func (l *fakeLab) Version(context.Context) (string, error) { return fmt.Sprint(len(l.w.Policies)), nil }
func (l *fakeLab) Enforcing() bool                         { return l.mode != sandbox.EnforceNone }

func (l *fakeLab) Apply(_ context.Context, pols []*networkingv1.NetworkPolicy) (string, error) {
	for _, np := range pols {
		kept := l.w.Policies[:0]
		for _, old := range l.w.Policies {
			if old.Namespace != np.Namespace || old.Name != np.Name {
				kept = append(kept, old)
			}
		}
		l.w.Policies = append(kept, np.DeepCopy())
	}
	return "applied", nil
}

func (l *fakeLab) Delete(_ context.Context, keys []string) error {
	gone := map[string]bool{}
	for _, k := range keys {
		gone[k] = true
	}
	kept := l.w.Policies[:0]
	for _, np := range l.w.Policies {
		if !gone[np.Namespace+"/"+np.Name] {
			kept = append(kept, np)
		}
	}
	l.w.Policies = kept
	return nil
}

func (l *fakeLab) Label(_ context.Context, target string, namespace bool, changes []string, _ bool) error {
	var labels map[string]string
	if namespace {
		labels = l.w.Namespace(target).Labels
	} else {
		labels = l.w.Pod(target).Labels
	}
	for _, c := range changes {
		if k, ok := strings.CutSuffix(c, "-"); ok {
			delete(labels, k)
		} else if k, v, ok := strings.Cut(c, "="); ok {
			labels[k] = v
		}
	}
	return nil
}

func (l *fakeLab) SetEnforcement(_ context.Context, mode string) error { l.mode = mode; return nil }

func (l *fakeLab) Probe(_ context.Context, o backend.ProbeOptions) (*matrix.Matrix, error) {
	enf := labs.EnforcerEBPF
	if !l.Enforcing() {
		enf = labs.EnforcerNone
	}
	return labs.Predict(l.w, o.Internet, enf), nil
}

func (l *fakeLab) Events(context.Context) (<-chan enforcer.Event, error) { return nil, nil }
func (l *fakeLab) Down(context.Context, io.Writer) error                 { l.w = nil; return nil }
