package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/hostnet"
)

// Down removes a lab: its processes, BPF programs and pinned maps, every
// namespace and link, and its state.
func Down(name string, progress io.Writer) error {
	s, err := Load(name)
	if err != nil {
		return err
	}
	unlock, err := lock(name)
	if err != nil {
		return err
	}
	defer unlock()
	if err := teardown(s, progress); err != nil {
		return err
	}
	return nil
}

// teardown removes everything s records, and anything named after the lab
// that a half-finished Up may have left, reporting each step.
func teardown(s *State, progress io.Writer) error {
	var errs []error
	say := func(format string, args ...any) {
		if progress != nil {
			fmt.Fprintf(progress, " • "+format+"\n", args...)
		}
	}
	say("stopping agents and the enforcer")
	pids := []int{s.EnforcerPID, s.Internet.PID}
	for _, p := range s.Pods {
		pids = append(pids, p.PID)
	}
	for _, pid := range pids {
		stop(pid)
	}
	say("removing eBPF programs and pinned maps")
	if err := enforcer.Remove(PinDir(s.Name)); err != nil {
		errs = append(errs, err)
	}
	say("removing %d pod namespaces and the node namespace", len(s.Pods)+1)
	for _, ns := range labNamespaces(s.Name) {
		if ns == nodeNS(s.Name) {
			continue
		}
		if err := hostnet.DeletePod(ns, ""); err != nil {
			// The veth went with its namespace; try the plain way.
			if out, err2 := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err2 != nil {
				errs = append(errs, fmt.Errorf("deleting %s: %v (%v: %s)", ns, err, err2, strings.TrimSpace(string(out))))
			}
		}
	}
	if _, err := os.Stat("/run/netns/" + nodeNS(s.Name)); err == nil {
		if out, err := exec.Command("ip", "netns", "del", nodeNS(s.Name)).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("deleting %s: %v: %s", nodeNS(s.Name), err, strings.TrimSpace(string(out))))
		}
	}
	if err := os.RemoveAll(Dir(s.Name)); err != nil {
		errs = append(errs, err)
	}
	// The parents go too once the last lab is gone (Remove fails, harmlessly,
	// while another lab still uses them).
	os.Remove(PinRoot)
	os.Remove(StateRoot)
	return errors.Join(errs...)
}

// labNamespaces lists the named namespaces that belong to the lab.
func labNamespaces(lab string) []string {
	entries, _ := os.ReadDir("/run/netns")
	var out []string
	for _, e := range entries {
		n := e.Name()
		if n == nodeNS(lab) || strings.HasPrefix(n, nodeNS(lab)+"-p") || n == internetNS(lab) {
			out = append(out, n)
		}
	}
	return out
}

// stop ends a netlab process we started (and only that: the pid must
// still run netlab), politely first.
func stop(pid int) {
	if pid <= 0 || !isNetlab(pid) {
		return
	}
	kill(pid, syscall.SIGTERM)
	for i := 0; i < 50 && isNetlab(pid); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if isNetlab(pid) {
		kill(pid, syscall.SIGKILL)
	}
}

func isNetlab(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if strings.Contains(string(stat), ") Z ") {
		return false // a zombie is already gone
	}
	return strings.Contains(string(data), "agent") || strings.Contains(string(data), "enforcer")
}

// Leftovers lists anything of the lab still on the host: namespaces, pins,
// state, processes. A clean Down leaves it empty.
func Leftovers(name string) []string {
	var out []string
	for _, ns := range labNamespaces(name) {
		out = append(out, "netns "+ns)
	}
	if _, err := os.Stat(PinDir(name)); err == nil {
		out = append(out, "bpffs "+PinDir(name))
	}
	if _, err := os.Stat(Dir(name)); err == nil {
		out = append(out, "state "+Dir(name))
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		data, err := os.ReadFile("/proc/" + p.Name() + "/cmdline")
		if err == nil && belongsTo(strings.Split(string(data), "\x00"), name) {
			out = append(out, "process "+p.Name()+": "+strings.ReplaceAll(string(data), "\x00", " "))
		}
	}
	return out
}

// belongsTo reports whether a command line is one of the lab's agents
// (--ready under the lab's directory) or its enforcer (--name LAB).
func belongsTo(args []string, lab string) bool {
	for i := 0; i+1 < len(args); i++ {
		switch {
		case args[i] == "--ready" && strings.HasPrefix(args[i+1], Dir(lab)+"/"):
			return true
		case args[i] == "--name" && args[i+1] == lab && contains(args, "enforcer"):
			return true
		}
	}
	return false
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
