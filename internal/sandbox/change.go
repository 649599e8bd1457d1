package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	networkingv1 "k8s.io/api/networking/v1"
)

// Change applies fn to a copy of the lab's world and, if the result
// compiles, enforces it and saves it, all under the lab's lock. If fn or the
// compilation fails, the running lab is not touched. It returns a summary
// of what changed in the maps.
func Change(name string, fn func(w *world.World) error) (enforcer.SyncStats, error) {
	unlock, err := lock(name)
	if err != nil {
		return enforcer.SyncStats{}, err
	}
	defer unlock()
	s, err := Load(name)
	if err != nil {
		return enforcer.SyncStats{}, err
	}
	next := s.World.Clone()
	if err := fn(next); err != nil {
		return enforcer.SyncStats{}, err
	}
	next.Sort()
	stats, err := enforce(name, next, s)
	if err != nil {
		return stats, err
	}
	s.World = next
	s.Generation++
	return stats, s.save()
}

// ApplyPolicies creates or replaces policies (by namespace/name). A
// policy in a namespace the lab does not have is refused, in the API
// server's words, and then nothing is applied.
func ApplyPolicies(name string, pols []*networkingv1.NetworkPolicy) (enforcer.SyncStats, error) {
	return Change(name, func(w *world.World) error {
		for _, np := range pols {
			if w.Namespace(np.Namespace) == nil {
				return fmt.Errorf("networkpolicy %s/%s: namespaces %q not found", np.Namespace, np.Name, np.Namespace)
			}
		}
		for _, np := range pols {
			replaced := false
			for i, old := range w.Policies {
				if old.Namespace == np.Namespace && old.Name == np.Name {
					w.Policies[i] = np.DeepCopy()
					replaced = true
				}
			}
			if !replaced {
				w.Policies = append(w.Policies, np.DeepCopy())
			}
		}
		return nil
	})
}

// DeletePolicies removes policies; every one must exist (like kubectl
// delete, which reports NotFound), or nothing is deleted.
func DeletePolicies(name string, keys []string) (enforcer.SyncStats, error) {
	return Change(name, func(w *world.World) error {
		for _, k := range keys {
			found := false
			for i, np := range w.Policies {
				if np.Namespace+"/"+np.Name == k {
					w.Policies = append(w.Policies[:i], w.Policies[i+1:]...)
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("networkpolicy %q not found", k)
			}
		}
		return nil
	})
}

// Reconcile makes the maps match the saved state; the enforcer process
// runs it whenever the state changes, and at start, so a restarted enforcer
// converges without ever opening or closing anything that was right. It
// returns the generation it enforced.
func Reconcile(name string) (int, enforcer.SyncStats, error) {
	unlock, err := lock(name)
	if err != nil {
		return 0, enforcer.SyncStats{}, err
	}
	defer unlock()
	s, err := Load(name)
	if err != nil {
		return 0, enforcer.SyncStats{}, err
	}
	stats, err := enforce(name, s.World, s)
	return s.Generation, stats, err
}

// SetEnforcement switches a running lab between enforcing its policies
// (EnforceEBPF) and ignoring them (EnforceNone), keeping the policies.
func SetEnforcement(name, mode string) (enforcer.SyncStats, error) {
	if err := ValidateEnforcement(mode); err != nil {
		return enforcer.SyncStats{}, err
	}
	unlock, err := lock(name)
	if err != nil {
		return enforcer.SyncStats{}, err
	}
	defer unlock()
	s, err := Load(name)
	if err != nil {
		return enforcer.SyncStats{}, err
	}
	s.Enforcement = mode
	stats, err := enforce(name, s.World, s)
	if err != nil {
		return stats, err
	}
	s.Generation++
	return stats, s.save()
}

// mapsFor is what the maps hold for a lab: the compiled policies, or
// nothing at all (every packet passes) when the lab does not enforce.
func mapsFor(s *State, dp *enforcer.State) enforcer.State {
	if !s.Enforcing() {
		return enforcer.State{}
	}
	return *dp
}

// enforce compiles w and makes the lab's pinned maps hold exactly it (or
// nothing, when s does not enforce). Callers hold the lab's lock.
func enforce(name string, w *world.World, s *State) (enforcer.SyncStats, error) {
	dp, err := netpol.New(w).Lower()
	if err != nil {
		return enforcer.SyncStats{}, fmt.Errorf("compiling policies: %w", err)
	}
	d, err := enforcer.OpenMaps(PinDir(name))
	if err != nil {
		return enforcer.SyncStats{}, err
	}
	defer d.Close()
	stats, err := d.Sync(mapsFor(s, dp))
	if err != nil {
		return stats, fmt.Errorf("enforcing: %w", err)
	}
	return stats, nil
}

// Label changes labels of a pod ("ns/name") or, with namespace true, of a
// namespace, with kubectl's syntax: "k=v" sets, "k-" removes. Without
// overwrite, changing an existing value is an error, as in kubectl.
func Label(name, target string, namespace bool, changes []string, overwrite bool) (enforcer.SyncStats, error) {
	return Change(name, func(w *world.World) error {
		var labels map[string]string
		if namespace {
			ns := w.Namespace(target)
			if ns == nil {
				return fmt.Errorf("namespace %q not found", target)
			}
			labels = ns.Labels
		} else {
			p := w.Pod(target)
			if p == nil {
				return fmt.Errorf("pod %q not found", target)
			}
			labels = p.Labels
		}
		return world.ApplyLabelChanges(labels, changes, overwrite, namespace, target)
	})
}

// RunEnforcer is the sandbox's enforcer process: it reconciles at start
// and whenever the lab's state changes, until ctx ends or the lab is gone.
func RunEnforcer(ctx context.Context, name string, log func(string, ...any)) error {
	last := -1
	for {
		s, err := Load(name)
		if err != nil {
			return err
		}
		if s.Generation != last {
			gen, stats, err := Reconcile(name)
			if err != nil {
				log("reconcile: %v", err)
			} else {
				log("generation %d: %s", gen, stats)
				last = gen
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}
