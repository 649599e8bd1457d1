//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/testenv"
	"github.com/netlab/netlab/labs"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// cannot skips the test, or fails it under CI.
func cannot(t *testing.T, format string, args ...any) {
	t.Helper()
	testenv.Require(t, false, fmt.Sprintf(format, args...))
}

// session is the TUI running in a tmux session of 80x24.
type session struct {
	t    *testing.T
	name string
	out  string // where screens are kept
	n    int
}

func (s *session) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen captures the pane as text.
func (s *session) screen() string { return s.tmux("capture-pane", "-p", "-t", s.name) }

// keys types into the TUI (tmux key names: Enter, Escape, "c", ...),
// then pauses: keys that arrive together reach the program as one chunk
// ("/db" is not "/" then "db", Escape then c is alt+c).
func (s *session) keys(keys ...string) {
	s.tmux(append([]string{"send-keys", "-t", s.name}, keys...)...)
	time.Sleep(400 * time.Millisecond)
}

// waitFor polls the pane until ok says yes, then keeps and logs the
// screen under label.
func (s *session) waitFor(label string, timeout time.Duration, ok func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		scr := s.screen()
		if ok(scr) {
			s.keep(label, scr)
			return scr
		}
		if time.Now().After(deadline) {
			s.keep(label+"-timeout", scr)
			s.t.Fatalf("%s: not seen within %s; the screen:\n%s", label, timeout, scr)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (s *session) keep(label, scr string) {
	s.n++
	s.t.Logf("screen %d (%s):\n%s", s.n, label, scr)
	if s.out != "" {
		_ = os.WriteFile(filepath.Join(s.out, fmt.Sprintf("%02d-%s.txt", s.n, label)), []byte(scr), 0o644)
	}
}

// busyLabels are what the TUI's status line says while a spinner runs
// (tui.op.label and the start screen).
var busyLabels = []string{"Starting lab", "probing every cell…", "checking: probing and grading…",
	"setting up the next task…", "reading the task…", "revealing a hint…"}

// idle reports whether no spinner shows.
func idle(scr string) bool {
	for _, l := range busyLabels {
		if strings.Contains(scr, l) {
			return false
		}
	}
	return true
}

func contains(subs ...string) func(string) bool {
	return func(scr string) bool {
		for _, s := range subs {
			if !strings.Contains(scr, s) {
				return false
			}
		}
		return true
	}
}

// netlab runs the binary (the learner's other terminal).
func netlab(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	t.Logf("$ netlab %s\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("netlab %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// pickTask returns the lab to run and its first task.
func pickTask(t *testing.T) (*labs.Lab, *labs.Task) {
	all, err := labs.List()
	if err != nil {
		t.Fatalf("the lab catalogue is broken: %v", err)
	}
	want := os.Getenv("NETLAB_E2E_LAB")
	for _, l := range all {
		if want != "" && l.Name != want {
			continue
		}
		if len(l.Tasks) > 0 && (want != "" || !l.Tasks[0].Observe) {
			return l, l.Tasks[0]
		}
	}
	t.Fatalf("no lab to run (NETLAB_E2E_LAB=%q)", want)
	return nil, nil
}

// wrongPolicies returns a policy set that the engine says fails task t,
// applied on top of its start: deny all ingress in every namespace, deny
// all traffic, or allow all, whichever is wrong for this task.
func wrongPolicies(t *testing.T, task *labs.Task) []*networkingv1.NetworkPolicy {
	t.Helper()
	w := task.StartWorld()
	var nss []string
	seen := map[string]bool{}
	for _, p := range w.Pods {
		if !seen[p.Namespace] {
			seen[p.Namespace] = true
			nss = append(nss, p.Namespace)
		}
	}
	policySet := func(name string, types []networkingv1.PolicyType, allow bool) []*networkingv1.NetworkPolicy {
		var out []*networkingv1.NetworkPolicy
		for _, ns := range nss {
			np := &networkingv1.NetworkPolicy{
				TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: types},
			}
			if allow {
				np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{}}
				np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{}}
			}
			out = append(out, np)
		}
		return out
	}
	both := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	for _, cand := range [][]*networkingv1.NetworkPolicy{
		policySet("e2e-wrong-deny-ingress", []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, false),
		policySet("e2e-wrong-deny-all", both, false),
		policySet("e2e-wrong-allow-all", both, true),
	} {
		ww := task.StartWorld()
		ww.Policies = append(ww.Policies, cand...)
		if len(matrix.Compare(task.Predict(ww), task.Expected())) > 0 {
			return cand
		}
	}
	t.Fatalf("task %s: found no wrong policy set (every candidate passes?)", task.ID())
	return nil
}

func writePolicies(t *testing.T, path string, pols []*networkingv1.NetworkPolicy) {
	t.Helper()
	var b strings.Builder
	for _, np := range pols {
		y, err := yaml.Marshal(np)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTUILessonInTmux(t *testing.T) {
	bin := os.Getenv("NETLAB_E2E_BIN")
	if bin == "" {
		cannot(t, "NETLAB_E2E_BIN is not set (the path of a built netlab binary)")
	}
	if _, err := os.Stat(bin); err != nil {
		cannot(t, "NETLAB_E2E_BIN: %v", err)
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		cannot(t, "tmux is not installed (apt-get install tmux)")
	}
	if os.Geteuid() != 0 {
		cannot(t, "the sandbox backend needs root")
	}
	lab, task := pickTask(t)
	if d := matrix.Compare(task.Predict(task.SolvedWorld()), task.Expected()); len(d) > 0 {
		t.Fatalf("lab %s: the reference solution of task 1 does not pass offline (%d cells), fix the lab first", lab.Name, len(d))
	}
	dir := t.TempDir()
	wrong := filepath.Join(dir, "wrong.yaml")
	writePolicies(t, wrong, wrongPolicies(t, task))
	right := filepath.Join(dir, "solution.yaml")
	if err := os.WriteFile(right, []byte(task.SolutionYAML), 0o644); err != nil {
		t.Fatal(err)
	}

	// A second lab runs all along: the commands the TUI prints must work
	// as printed anyway (they name the lab), and plain ones mean the
	// current lab, the course.
	other := fmt.Sprintf("e2e%d", os.Getpid()%100000)
	netlab(t, bin, "up", "--name", other)
	t.Cleanup(func() { _ = exec.Command(bin, "down", "--name", other).Run() })

	s := &session{t: t, name: fmt.Sprintf("netlab-e2e-%d", os.Getpid()), out: os.Getenv("NETLAB_E2E_OUT")}
	if s.out != "" {
		if err := os.MkdirAll(s.out, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A plain 80x24 terminal; TERM as tmux sets it. NO_COLOR keeps the
	// capture readable (capture-pane -p drops colours anyway).
	// Progress goes to a scratch state directory, not the learner's.
	s.tmux("new-session", "-d", "-s", s.name, "-x", "80", "-y", "24",
		"env", "NO_COLOR=1", "XDG_STATE_HOME="+t.TempDir(), bin, "tui")
	// Keep the pane when the TUI exits, so a crash stays on screen.
	s.tmux("set-option", "-t", s.name, "remain-on-exit", "on")
	t.Cleanup(func() {
		_ = exec.Command("tmux", "kill-session", "-t", s.name).Run()
		// Leave no lab behind (quitting the TUI keeps it running).
		if out, err := exec.Command(bin, "down", "--name", "course").CombinedOutput(); err != nil {
			t.Logf("netlab down: %v\n%s", err, out)
		}
	})

	// The picker, then the lab by name through the list's filter.
	s.waitFor("picker", 30*time.Second, contains(lab.Title))
	s.keys("/")
	s.keys("-l", lab.Name)
	s.keys("Enter") // accept the filter
	s.waitFor("filtered", 10*time.Second, contains(lab.Title))
	s.keys("Enter") // start the selected lab
	scr := s.waitFor("lesson", 3*time.Minute, func(scr string) bool {
		return strings.Contains(scr, "Task 1/") && strings.Contains(scr, "allowed,") && idle(scr)
	})
	if !strings.Contains(scr, "Reachability") {
		t.Fatalf("the lesson screen has no grid:\n%s", scr)
	}

	// A wrong policy from the other terminal, with the command the footer
	// prints, then c: the check fails.
	_, footer, ok := strings.Cut(scr, "Apply from another terminal: ")
	footer, _, _ = strings.Cut(footer, " · c checks")
	if !ok || !strings.HasPrefix(footer, "netlab ") || !strings.Contains(footer, "--name course") {
		t.Fatalf("the footer prints no apply command naming the lab:\n%s", scr)
	}
	args := strings.Fields(strings.Replace(footer, "FILE", wrong, 1))[1:]
	netlab(t, bin, args...)
	s.keys("c")
	scr = s.waitFor("check-wrong", 2*time.Minute, func(scr string) bool {
		return strings.Contains(scr, "cells right") && idle(scr)
	})
	if strings.Contains(scr, "✓ passed") || !strings.Contains(scr, "✗") {
		t.Fatalf("the check of a wrong policy did not fail:\n%s", scr)
	}
	if !strings.Contains(scr, "!") {
		t.Errorf("no wrong cell is marked or listed:\n%s", scr)
	}

	// The reference solution instead: the check passes.
	s.keys("Escape")
	netlab(t, bin, "delete", "-f", wrong)
	for _, k := range task.Remove {
		ns, name, _ := strings.Cut(k, "/")
		netlab(t, bin, "delete", "networkpolicy", name, "-n", ns)
	}
	if strings.TrimSpace(task.SolutionYAML) != "" {
		netlab(t, bin, "apply", "-f", right)
	}
	// apply returns once the policy is enforced, but the TUI may still be
	// re-probing after the change: a check that raced it is taken again.
	for try := 1; ; try++ {
		s.keys("c")
		scr = s.waitFor(fmt.Sprintf("check-right-%d", try), 2*time.Minute, func(scr string) bool {
			return strings.Contains(scr, "cells right") && idle(scr)
		})
		if strings.Contains(scr, "✓ passed") {
			break
		}
		if try == 3 {
			t.Fatalf("the reference solution does not pass in the TUI:\n%s", scr)
		}
		s.keys("Escape")
		time.Sleep(2 * time.Second)
	}
	if !strings.Contains(scr, "cells right") {
		t.Errorf("the passed check shows no score:\n%s", scr)
	}
	// Quitting says the lab still runs and how to remove it (on the
	// normal screen, whose first line may have scrolled into the history).
	s.keys("q")
	deadline := time.Now().Add(10 * time.Second)
	for {
		scr := s.tmux("capture-pane", "-p", "-S", "-50", "-t", s.name)
		if contains("is still running", "Remove it with: netlab down --name course")(scr) {
			s.keep("quit", scr)
			break
		}
		if time.Now().After(deadline) {
			s.keep("quit-timeout", scr)
			t.Fatalf("quitting did not say the lab still runs:\n%s", scr)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
