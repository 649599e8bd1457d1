package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/testenv"
)

// healthy fails t unless every agent, namespace and the enforcer of lab
// run.
func healthy(t *testing.T, lab string) *sandbox.State {
	t.Helper()
	s, err := sandbox.Load(lab)
	if err != nil {
		t.Fatalf("lab %s: %v", lab, err)
	}
	h := s.Health()
	if len(h.DeadAgents) > 0 || len(h.MissingNetns) > 0 || len(h.EnforcerPIDs) == 0 {
		t.Fatalf("lab %s is not whole: %+v", lab, h)
	}
	return s
}

func orphansOf(lab string) []string {
	var out []string
	for _, o := range sandbox.Orphans(true) {
		if o.Lab == lab {
			out = append(out, o.String())
		}
	}
	return out
}

// TestDownIsExact (issue 10 item 7): 'down' of lab X never touches lab
// X-p, whose namespace names used to start with X's. Before the fix, Down
// of ux1 deleted ux1-p's pod namespaces.
func TestDownIsExact(t *testing.T) {
	testenv.RequireRoot(t)
	a := fmt.Sprintf("t%d-ux1", os.Getpid()%10000)
	b := a + "-p"
	w := scenarioWorld(t, "")
	up(t, b, w)
	up(t, a, w)
	if err := sandbox.Down(a, nil); err != nil {
		t.Fatal(err)
	}
	healthy(t, b)
	if m := probe(t, b, sandbox.ProbeOptions{}); m.Allowed() != len(m.Results) {
		t.Fatalf("lab %s after down of %s: %d of %d cells allowed, want all", b, a, m.Allowed(), len(m.Results))
	}
	if left := sandbox.Leftovers(a); len(left) > 0 {
		t.Fatalf("lab %s left %v", a, left)
	}
}

// TestConcurrentUp (item 8): of two ups of the same lab at once exactly one
// wins, and the loser leaves the winner's lab whole, with no stray agents.
// Before the fix the loser waited for the lock, failed to create the
// namespaces and tore down the winner's lab.
func TestConcurrentUp(t *testing.T) {
	testenv.RequireRoot(t)
	lab := fmt.Sprintf("t%d-race", os.Getpid()%10000)
	w := scenarioWorld(t, "")
	t.Cleanup(func() { sandbox.Down(lab, nil) })
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = sandbox.Up(context.Background(), w, sandbox.Options{Name: lab, Self: self})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !strings.Contains(err.Error(), "being brought up"):
			t.Errorf("the loser's error: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d ups won (%v), want exactly 1", won, errs)
	}
	healthy(t, lab)
	if o := orphansOf(lab); len(o) > 0 {
		t.Fatalf("orphans of %s: %v", lab, o)
	}
	if err := sandbox.Down(lab, nil); err != nil {
		t.Fatal(err)
	}
	if left := sandbox.Leftovers(lab); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// TestDownWithoutState (item 9): the state directory is lost; status's
// orphan list shows the lab's namespaces, pins and agents, and down
// removes them from what is on the host. Before the fix down said "no such
// lab" and left everything.
func TestDownWithoutState(t *testing.T) {
	testenv.RequireRoot(t)
	lab := fmt.Sprintf("t%d-lost", os.Getpid()%10000)
	up(t, lab, scenarioWorld(t, ""))
	if err := os.RemoveAll(sandbox.Dir(lab)); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, o := range sandbox.Orphans(true) {
		if o.Lab == lab {
			kinds[o.Kind] = true
		}
	}
	for _, k := range []string{sandbox.KindNetns, sandbox.KindPins, sandbox.KindLink, sandbox.KindProcess} {
		if !kinds[k] {
			t.Errorf("no orphan %s of %s listed (got %v)", k, lab, kinds)
		}
	}
	if err := sandbox.Down(lab, nil); err != nil {
		t.Fatalf("down without state: %v", err)
	}
	if left := sandbox.Leftovers(lab); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
	if err := sandbox.Down(lab, nil); !errors.Is(err, sandbox.ErrNoLab) {
		t.Fatalf("second down = %v, want no such lab", err)
	}
}

// TestUpKilledBeforeState (items 9 and 6): 'netlab up' killed with SIGKILL
// after it made namespaces and agents but before it saved the state; gc
// finds everything it made and removes it. Before the fix nothing listed
// or removed the lab.
func TestUpKilledBeforeState(t *testing.T) {
	testenv.RequireRoot(t)
	lab := fmt.Sprintf("t%d-kill9", os.Getpid()%10000)
	cmd := exec.Command(self, "up", "--name", lab)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sandbox.Down(lab, nil) })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat("/run/netns/netlab." + lab + ".p0"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("up made no pod namespace in 20s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let it start some agents
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, err := sandbox.Load(lab); !errors.Is(err, sandbox.ErrNoLab) {
		t.Fatalf("up saved its state before it was killed (%v): the test did not test", err)
	}
	orphans := orphansOf(lab)
	if len(orphans) == 0 {
		t.Fatalf("gc lists nothing of the killed up's lab %s; on the host: %v", lab, sandbox.Leftovers(lab))
	}
	if err := sandbox.RemoveOrphans(lab); err != nil {
		t.Fatal(err)
	}
	if left := sandbox.Leftovers(lab); len(left) > 0 {
		t.Fatalf("gc left: %v", left)
	}
}

// TestStatusAndRepair (item 10): after the enforcer is restarted by hand,
// status shows it running; a dead agent is reported with how to repair it,
// and up with the same world (policies applied since) restarts it. Before
// the fix status said "enforcer NOT RUNNING" and up answered "already up
// with a different world".
func TestStatusAndRepair(t *testing.T) {
	testenv.RequireRoot(t)
	lab := fmt.Sprintf("t%d-repair", os.Getpid()%10000)
	w := scenarioWorld(t, "")
	up(t, lab, w)
	s := healthy(t, lab)
	syscall.Kill(s.EnforcerPID, syscall.SIGKILL)
	for i := 0; i < 100 && len(s.Health().EnforcerPIDs) > 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	restarted := exec.Command(self, "enforcer", "run", "--name", lab)
	if err := restarted.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { restarted.Process.Kill(); restarted.Wait() })
	time.Sleep(100 * time.Millisecond)
	out, err := exec.Command(self, "status").CombinedOutput()
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "lab "+lab+" ") && strings.Contains(line, "NOT RUNNING") {
			t.Fatalf("status after an enforcer restart: %s", line)
		}
	}

	if _, err := sandbox.ApplyPolicies(lab, policies(t, `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: be-in, namespace: netpol-lab}
spec:
  podSelector: {matchLabels: {app: backend}}
  ingress: [{from: [{podSelector: {matchLabels: {app: frontend}}}]}]`).PolicyList()); err != nil {
		t.Fatal(err)
	}
	s, _ = sandbox.Load(lab)
	victim := s.Pods[1]
	syscall.Kill(victim.PID, syscall.SIGKILL)
	for i := 0; i < 100 && s.AgentRunning(1); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	h := s.Health()
	if len(h.DeadAgents) != 1 || h.DeadAgents[0] != victim.Key || !strings.Contains(h.Repair, "netlab up --name "+lab) {
		t.Fatalf("health with %s's agent killed: %+v", victim.Key, h)
	}
	out, _ = exec.Command(self, "status").CombinedOutput()
	if !strings.Contains(string(out), "netlab up --name "+lab) {
		t.Errorf("status does not say how to repair:\n%s", out)
	}
	if _, err := sandbox.Up(context.Background(), w, sandbox.Options{Name: lab, Self: self}); err != nil {
		t.Fatalf("up to repair: %v", err)
	}
	s = healthy(t, lab)
	if len(s.World.Policies) != 1 {
		t.Fatalf("repair changed the lab's policies: %d, want the 1 applied", len(s.World.Policies))
	}
	mustEqual(t, "after repair", s.World, probe(t, lab, sandbox.ProbeOptions{}))
}

// TestStrayLinkListed (item 9): a TCX link running netlab's program that
// no lab's pins hold (here: moved out of a lab's pin directory) is listed
// by gc, so the leak check sees it.
func TestStrayLinkListed(t *testing.T) {
	testenv.RequireRoot(t)
	lab := fmt.Sprintf("t%d-stray", os.Getpid()%10000)
	up(t, lab, scenarioWorld(t, ""))
	pins, _ := filepath.Glob(filepath.Join(sandbox.PinDir(lab), "links", "*"))
	if len(pins) == 0 {
		t.Fatal("the lab pinned no links")
	}
	l, err := link.LoadPinnedLink(pins[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("id %d ", info.ID)
	found := func() bool {
		for _, o := range sandbox.Orphans(false) {
			if o.Kind == sandbox.KindLink && o.Lab == "" && strings.HasPrefix(o.Name, want) {
				return true
			}
		}
		return false
	}
	if found() {
		t.Fatalf("link %d is listed as a stray while its lab's pins hold it", info.ID)
	}
	// Pinning a pinned link moves its pin: now only the stray pin holds it.
	stray := fmt.Sprintf("/sys/fs/bpf/netlab-stray-%d", os.Getpid())
	if err := l.Pin(stray); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(stray) })
	if _, err := os.Stat(pins[0]); err == nil {
		os.Remove(pins[0])
	}
	if !found() {
		t.Fatalf("link %d, pinned only at %s, is not listed", info.ID, stray)
	}
}

// TestGCLeavesAnUpInProgress (item 9): while an up is still making its lab
// (no state yet, its lock held) gc lists nothing of it: only labs nobody
// works on are orphans.
func TestGCLeavesAnUpInProgress(t *testing.T) {
	testenv.RequireRoot(t)
	lab := fmt.Sprintf("t%d-busy", os.Getpid()%10000)
	cmd := exec.Command(self, "up", "--name", lab)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sandbox.Down(lab, nil) })
	for i := 0; i < 10000; i++ {
		if _, err := os.Stat("/run/netns/netlab." + lab + ".p0"); err == nil {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if o := orphansOf(lab); len(o) > 0 {
		t.Errorf("gc lists the lab an up is making: %v", o)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("up: %v", err)
	}
	healthy(t, lab)
}
