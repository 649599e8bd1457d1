package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Health is what of a running lab actually runs: its enforcer (whichever
// process it is now: the one up started or one restarted by hand), its
// agents and namespaces.
type Health struct {
	// EnforcerPIDs are the running enforcers of the lab (normally one).
	EnforcerPIDs []int `json:"enforcerPids"`
	// DeadAgents are the pods ("ns/name", or "internet") whose agent does
	// not run.
	DeadAgents []string `json:"deadAgents,omitempty"`
	// MissingNetns are namespaces the lab needs that are gone.
	MissingNetns []string `json:"missingNetns,omitempty"`
	// Repair says how to fix what is wrong ("" when nothing is).
	Repair string `json:"repair,omitempty"`
}

// AgentRunning reports whether pod i's agent (-1: the internet host's)
// runs.
func (s *State) AgentRunning(i int) bool {
	if i < 0 {
		return processOf(s.Internet.PID, s.Name)
	}
	return processOf(s.Pods[i].PID, s.Name)
}

// Health checks the lab's processes and namespaces on the host.
func (s *State) Health() Health {
	h := Health{EnforcerPIDs: enforcerPIDs(s.Name)}
	for i := -1; i < len(s.Pods); i++ {
		if !s.AgentRunning(i) {
			h.DeadAgents = append(h.DeadAgents, s.podKey(i))
		}
	}
	for _, ns := range s.namespaces() {
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); err != nil {
			h.MissingNetns = append(h.MissingNetns, ns)
		}
	}
	switch {
	case len(h.MissingNetns) > 0:
		h.Repair = fmt.Sprintf("its namespaces are gone: 'sudo netlab down --name %s', then 'netlab up' again", s.Name)
	case len(h.DeadAgents) > 0 || len(h.EnforcerPIDs) == 0:
		h.Repair = fmt.Sprintf("'sudo netlab up --name %s' with the same world restarts what is not running", s.Name)
	}
	return h
}

func (s *State) podKey(i int) string {
	if i < 0 {
		return "internet"
	}
	return s.Pods[i].Key
}

// namespaces are the lab's network namespaces, the node's first.
func (s *State) namespaces() []string {
	out := []string{s.NodeNS}
	for _, p := range s.Pods {
		out = append(out, p.NetNS)
	}
	if s.Internet.NetNS != "" {
		out = append(out, s.Internet.NetNS)
	}
	return out
}

// repair restarts what of a running lab does not run: dead agents (in
// their namespaces, which must still exist) and the enforcer. The caller
// holds the lab's lock.
func repair(ctx context.Context, s *State, self string, step func(string, ...any)) error {
	h := s.Health()
	if len(h.MissingNetns) > 0 {
		return fmt.Errorf("lab %q cannot be repaired: namespaces %v are gone ('netlab down --name %s' first)", s.Name, h.MissingNetns, s.Name)
	}
	if len(h.DeadAgents) == 0 && len(h.EnforcerPIDs) > 0 {
		return nil
	}
	var restarted []int
	for i := -1; i < len(s.Pods); i++ {
		if s.AgentRunning(i) {
			continue
		}
		os.Remove(readyFile(s.Name, i))
		if err := startAgent(s, self, i); err != nil {
			return err
		}
		restarted = append(restarted, i)
	}
	if len(restarted) > 0 {
		step("restarted %d agents that were not running: %v", len(restarted), h.DeadAgents)
		if err := waitReady(ctx, s, 15*time.Second); err != nil {
			return err
		}
	}
	if err := s.save(); err != nil {
		return err
	}
	if len(h.EnforcerPIDs) == 0 {
		pid, err := spawn(self, filepath.Join(Dir(s.Name), "enforcer.log"), "", "enforcer", "run", "--name", s.Name)
		if err != nil {
			return err
		}
		s.EnforcerPID = pid
		step("restarted the enforcer (pid %d)", pid)
		if err := s.save(); err != nil {
			return err
		}
	}
	return nil
}
