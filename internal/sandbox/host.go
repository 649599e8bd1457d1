package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/statefile"
)

// What netlab makes on the host for a sandbox lab, and how each thing says
// which lab owns it, exactly (never by a name prefix):
//
//   - network namespaces "netlab.LAB", "netlab.LAB.pN", "netlab.LAB.internet"
//     (a lab name has no dots; see nsOwner);
//   - the bpffs directory PinRoot/LAB, with the enforcer's maps and TCX
//     links pinned in it;
//   - processes: agents run with "--ready StateRoot/LAB/ready/...", the
//     enforcer with "enforcer run --name LAB";
//   - the state directory StateRoot/LAB. Up creates it and takes the lock
//     in it before it makes anything else, and holds the lock until the
//     state is saved, so a lab whose up was killed halfway is recognisable
//     (a directory without state.json whose lock nobody holds).
//
// A lab owns its resources while it has state (state.json). Anything of a
// lab without state whose lock is free is an orphan: left by an up that was
// killed, or by a state directory that was lost.

// Resource kinds.
const (
	KindNetns   = "netns"
	KindPins    = "bpffs"
	KindProcess = "process"
	KindState   = "state"
	KindLink    = "tcx-link"
)

// Resource is one thing on the host that belongs to a sandbox lab.
type Resource struct {
	Lab  string `json:"lab"`
	Kind string `json:"kind"`
	// Name is the namespace name, the path, or the process's command line.
	Name string `json:"name"`
	PID  int    `json:"pid,omitempty"`
}

func (r Resource) String() string {
	if r.Kind == KindProcess {
		return fmt.Sprintf("process %d (%s)", r.PID, r.Name)
	}
	return r.Kind + " " + r.Name
}

// onHost lists everything on the host that belongs to lab.
func onHost(lab string) []Resource { return scanHost(lab)[lab] }

// scanHost finds the sandbox resources on the host, by lab; only lab's
// when lab is not "".
func scanHost(lab string) map[string][]Resource {
	out := map[string][]Resource{}
	add := func(r Resource) {
		if lab == "" || r.Lab == lab {
			out[r.Lab] = append(out[r.Lab], r)
		}
	}
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if owner, ok := nsOwner(e.Name()); ok {
			add(Resource{Lab: owner, Kind: KindNetns, Name: e.Name()})
		}
	}
	for _, root := range []struct{ dir, kind string }{{PinRoot, KindPins}, {StateRoot, KindState}} {
		entries, _ := os.ReadDir(root.dir)
		for _, e := range entries {
			if e.IsDir() && ValidateName(e.Name()) == nil {
				add(Resource{Lab: e.Name(), Kind: root.kind, Name: filepath.Join(root.dir, e.Name())})
			}
		}
	}
	for _, p := range labProcesses() {
		add(p)
	}
	return out
}

// labProcesses lists the live processes that are some lab's agent or
// enforcer.
func labProcesses() []Resource {
	var out []Resource
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() || zombie(pid) {
			continue
		}
		data, err := os.ReadFile("/proc/" + p.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		if lab, ok := processOwner(args); ok {
			out = append(out, Resource{Lab: lab, Kind: KindProcess, Name: strings.Join(args, " "), PID: pid})
		}
	}
	return out
}

func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // gone
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || strings.HasPrefix(s[i:], ") Z") || strings.HasPrefix(s[i:], ") X")
}

// processOwner returns the lab a command line belongs to: an agent whose
// --ready file is under StateRoot/LAB/, or "enforcer run --name LAB".
func processOwner(args []string) (string, bool) {
	enforcerRun := false
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "enforcer" && args[i+1] == "run" {
			enforcerRun = true
		}
	}
	for i, a := range args {
		var val string
		switch {
		case i+1 < len(args) && (a == "--ready" || a == "--name"):
			val = args[i+1]
		case strings.HasPrefix(a, "--ready=") || strings.HasPrefix(a, "--name="):
			_, val, _ = strings.Cut(a, "=")
		default:
			continue
		}
		if strings.HasPrefix(a, "--ready") {
			rest, ok := strings.CutPrefix(val, StateRoot+"/")
			lab, _, _ := strings.Cut(rest, "/")
			if ok && ValidateName(lab) == nil {
				return lab, true
			}
		} else if enforcerRun && ValidateName(val) == nil {
			return val, true
		}
	}
	return "", false
}

// processOf reports whether pid is a live agent or enforcer of lab.
func processOf(pid int, lab string) bool {
	if pid <= 0 || zombie(pid) {
		return false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	owner, ok := processOwner(strings.Split(strings.TrimRight(string(data), "\x00"), "\x00"))
	return ok && owner == lab
}

// enforcerPIDs returns the pids of lab's running enforcers: the one up
// started, or one started by hand after it died.
func enforcerPIDs(lab string) []int {
	var pids []int
	for _, p := range labProcesses() {
		if p.Lab == lab && strings.Contains(" "+p.Name+" ", " enforcer run ") {
			pids = append(pids, p.PID)
		}
	}
	return pids
}

// Orphan is a lab's resource that no running lab owns, with why.
type Orphan struct {
	Resource
	Why string `json:"why"`
}

// Orphans lists what is on the host and belongs to no running lab: every
// resource of a lab that has no state (and that no netlab command is
// working on), and the agents of a running lab that its state does not
// know (an earlier up's). TCX links running netlab's programs that no
// lab's pins hold are listed with Lab "" (unless kindLinks says a kind
// cluster may hold them).
func Orphans(kindLinks bool) []Orphan {
	var out []Orphan
	byLab := scanHost("")
	labs := make([]string, 0, len(byLab))
	for l := range byLab {
		labs = append(labs, l)
	}
	sort.Strings(labs)
	var ownedLinks []uint32
	for _, lab := range labs {
		res := byLab[lab]
		s, err := Load(lab)
		if err == nil {
			known := []int{s.Internet.PID}
			for _, p := range s.Pods {
				known = append(known, p.PID)
			}
			for _, r := range res {
				if r.Kind == KindProcess && !slices.Contains(known, r.PID) && !strings.Contains(" "+r.Name+" ", " enforcer run ") {
					out = append(out, Orphan{r, fmt.Sprintf("an agent of lab %s that its state does not list", lab)})
				}
			}
			ids, _ := enforcer.PinnedLinkIDs(PinDir(lab))
			ownedLinks = append(ownedLinks, ids...)
			continue
		}
		why := "lab " + lab + " has no state (lost, or its up was killed before saving it)"
		if !errors.Is(err, ErrNoLab) {
			why = fmt.Sprintf("lab %s: %v", lab, err)
		}
		if busy(lab) {
			continue // an up or down is working on it right now
		}
		for _, r := range res {
			out = append(out, Orphan{r, why})
		}
		if ids, _ := enforcer.PinnedLinkIDs(PinDir(lab)); len(ids) > 0 {
			out = append(out, Orphan{Resource{Lab: lab, Kind: KindLink, Name: fmt.Sprintf("%d links pinned in %s", len(ids), PinDir(lab))}, why})
			ownedLinks = append(ownedLinks, ids...) // counted with their lab
		}
	}
	if !kindLinks {
		links, _ := enforcer.Links()
		for _, l := range links {
			if !slices.Contains(ownedLinks, l.ID) {
				out = append(out, Orphan{Resource{Kind: KindLink, Name: fmt.Sprintf("id %d (%s on ifindex %d)", l.ID, l.Program, l.Ifindex)},
					"runs netlab's program but no lab's pins hold it"})
			}
		}
	}
	return out
}

// busy reports whether a netlab command holds lab's lock (or, when we
// may not look, might).
func busy(lab string) bool {
	unlock, err := statefile.Lock(lockPath(lab), false, false)
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	unlock()
	return false
}

// RemoveOrphans removes what Orphans reports for lab: everything of a lab
// without state, or the unknown agents of a running one. It takes the lab's
// lock (waiting for a command working on it) and checks again under it.
func RemoveOrphans(lab string) error {
	if err := ValidateName(lab); err != nil {
		return err
	}
	unlock, err := statefile.Lock(lockPath(lab), true, true)
	if err != nil {
		return fmt.Errorf("locking lab %s: %w", lab, err)
	}
	defer unlock()
	s, err := Load(lab)
	if err != nil {
		return teardown(&State{Name: lab}, nil)
	}
	known := []int{s.Internet.PID}
	for _, p := range s.Pods {
		known = append(known, p.PID)
	}
	for _, r := range onHost(lab) {
		if r.Kind == KindProcess && !slices.Contains(known, r.PID) && !strings.Contains(" "+r.Name+" ", " enforcer run ") {
			stop(r.PID, lab)
		}
	}
	return nil
}
