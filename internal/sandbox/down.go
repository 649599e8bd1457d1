package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/hostnet"
	"github.com/netlab/netlab/internal/statefile"
)

// Down removes a lab: its processes, BPF programs and pinned maps, every
// namespace and link, and its state. It works from what is on the host as
// well as from the state, so a lab whose state directory was lost, or whose
// up was killed before saving it, is removed all the same; only a lab with
// nothing on the host is "no such lab".
func Down(name string, progress io.Writer) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	unlock, err := statefile.Lock(lockPath(name), true, true)
	if err != nil {
		return fmt.Errorf("locking lab %s: %w", name, err)
	}
	defer unlock()
	s, err := Load(name)
	if err != nil {
		var left []Resource
		for _, r := range onHost(name) {
			if r.Kind != KindState {
				left = append(left, r)
			}
		}
		if len(left) == 0 {
			removeStateDir(name)
			return err
		}
		if progress != nil {
			fmt.Fprintf(progress, " • lab %s has no usable state (%v); removing the %d things on the host that are its\n", name, err, len(left))
		}
		s = &State{Name: name}
	}
	return teardown(s, progress)
}

// teardown removes everything s records and everything on the host that
// is the lab's (see host.go: matched exactly, never by a name prefix),
// reporting each step.
func teardown(s *State, progress io.Writer) error {
	var errs []error
	say := func(format string, args ...any) {
		if progress != nil {
			fmt.Fprintf(progress, " • "+format+"\n", args...)
		}
	}
	host := onHost(s.Name)
	say("stopping agents and the enforcer")
	pids := []int{s.EnforcerPID, s.Internet.PID}
	for _, p := range s.Pods {
		pids = append(pids, p.PID)
	}
	for _, r := range host {
		if r.Kind == KindProcess {
			pids = append(pids, r.PID)
		}
	}
	for _, pid := range pids {
		stop(pid, s.Name)
	}
	say("removing eBPF programs and pinned maps")
	if err := enforcer.Remove(PinDir(s.Name)); err != nil {
		errs = append(errs, err)
	}
	var namespaces []string
	for _, p := range s.Pods {
		namespaces = append(namespaces, p.NetNS)
	}
	namespaces = append(namespaces, s.Internet.NetNS)
	for _, r := range host {
		if r.Kind == KindNetns {
			namespaces = append(namespaces, r.Name)
		}
	}
	node := s.NodeNS
	if node == "" {
		node = nodeNS(s.Name)
	}
	say("removing the pod namespaces and the node namespace")
	var order []string
	for _, ns := range namespaces {
		if ns != "" && ns != node && !slices.Contains(order, ns) {
			order = append(order, ns)
		}
	}
	for _, ns := range append(order, node) { // the node last
		if _, err := os.Stat("/run/netns/" + ns); err != nil {
			continue
		}
		if err := hostnet.DeletePod(ns, ""); err != nil {
			// The veth went with its namespace; try the plain way.
			if out, err2 := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err2 != nil {
				errs = append(errs, fmt.Errorf("deleting %s: %v (%v: %s)", ns, err, err2, strings.TrimSpace(string(out))))
			}
		}
	}
	if err := removeStateDir(s.Name); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// removeStateDir removes the lab's state directory and, once the last lab
// is gone, the parents (Remove fails, harmlessly, while another lab still
// uses them).
func removeStateDir(name string) error {
	err := os.RemoveAll(Dir(name))
	os.Remove(PinRoot)
	os.Remove(StateRoot)
	return err
}

// stop ends one of the lab's processes (and only that: the pid must still
// be an agent or the enforcer of this lab), politely first.
func stop(pid int, lab string) {
	if !processOf(pid, lab) {
		return
	}
	kill(pid, syscall.SIGTERM)
	for i := 0; i < 50 && processOf(pid, lab); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if processOf(pid, lab) {
		kill(pid, syscall.SIGKILL)
	}
}

// Leftovers lists anything of the lab still on the host: namespaces, pins,
// state, processes, matched exactly (host.go). A clean Down leaves it
// empty.
func Leftovers(name string) []string {
	var out []string
	for _, r := range onHost(name) {
		out = append(out, r.String())
	}
	return out
}
