// Package grade marks a lab task: it compares a measured reachability
// matrix (real probes, or the engine's prediction when offline) with the
// matrix the task expects, cell by cell, and explains every wrong cell with
// the engine and a hint.
//
// The expectation always comes from the embedded lab (labs.Task.Expected),
// never from anything the learner hands in: the learner's policies are used
// only to explain what went wrong.
//
// Scoring: a task is worth Task.Points. The cells that count are the cells
// the task is about (where the expected verdict differs from the task's
// starting state) plus every cell that is wrong now; the score is the
// points times the share of those cells that are right. So an untouched
// starting state scores 0, a solved task scores full points, and breaking
// cells the task did not ask about costs points.
package grade

import (
	"fmt"
	"math"
	"net/netip"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/labs"
	corev1 "k8s.io/api/core/v1"
)

// Status is how one cell fared.
type Status string

const (
	// OK: measured as expected.
	OK Status = "ok"
	// Missing: the task expects the flow allowed, it was blocked.
	Missing Status = "missing"
	// Leaked: the task expects the flow blocked, it was allowed (the
	// policies are over-permissive).
	Leaked Status = "leaked"
	// Unmeasured: the measurement has no verdict for the cell (absent, or
	// the dataplane cannot carry the protocol).
	Unmeasured Status = "unmeasured"
)

// Verdict sums up a task.
type Verdict string

const (
	Pass Verdict = "pass"
	// OverPermissive: every required flow works, and extra ones too.
	OverPermissive Verdict = "over-permissive"
	// TooStrict: nothing extra is allowed, but required flows are blocked.
	TooStrict Verdict = "too-strict"
	// Wrong: required flows are blocked and extra ones are allowed.
	Wrong Verdict = "wrong"
	// Incomplete: the only problems are cells that could not be measured.
	Incomplete Verdict = "incomplete"
	// Invalid: the answer could not be read or applied; it scores 0.
	Invalid Verdict = "invalid"
)

// Sources of a measured matrix.
const (
	SourceProbe  = "probe"  // real connections in a running lab
	SourceEngine = "engine" // the engine's prediction (offline)
)

// Cell is one wrong (or unmeasured) cell with what to do about it.
type Cell struct {
	Cell     string `json:"cell"`
	From     string `json:"from"`
	To       string `json:"to"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
	Status   Status `json:"status"`
	Expected string `json:"expected"`
	Got      string `json:"got"`
	Detail   string `json:"detail,omitempty"`
	// Why is the engine's explanation of the verdict under the policies
	// in force.
	Why string `json:"why"`
	// Hint says what to change for this cell.
	Hint string `json:"hint"`
	// Side is the side the hint changes ("ingress of shop/db"), when the
	// hint is about one side; cells with the same Side and Hint are one
	// change, printed as one group.
	Side string `json:"side,omitempty"`
	// sideWhy and sideHint are why the flows are wrong on Side and what
	// to change there, said once for a group (Hint names this cell).
	sideWhy, sideHint string
}

// Result is the grade of one task.
type Result struct {
	Lab       string  `json:"lab"`
	Task      string  `json:"task"`
	Title     string  `json:"title"`
	Index     int     `json:"index"` // 0-based
	Tasks     int     `json:"tasks"` // how many the lab has
	Source    string  `json:"source"`
	Verdict   Verdict `json:"verdict"`
	Passed    bool    `json:"passed"`
	Cells     int     `json:"cells"`
	Correct   int     `json:"correct"`
	Points    float64 `json:"points"`
	MaxPoints int     `json:"maxPoints"`
	// Missing are required flows that were blocked.
	Missing []Cell `json:"missing"`
	// Leaked are extra flows that were allowed (over-permissive).
	Leaked     []Cell `json:"leaked"`
	Unmeasured []Cell `json:"unmeasured,omitempty"`
	// Hint is the next hint of the task (empty when passed), and
	// HintNumber its 1-based number out of Hints.
	Hint       string `json:"hint,omitempty"`
	HintNumber int    `json:"hintNumber,omitempty"`
	Hints      int    `json:"hints"`
	// Explanation is the task's explanation, given once it passes.
	Explanation string `json:"explanation,omitempty"`
	// SolutionShown: the learner saw the reference solution first, so the
	// task earns 0 points however right it is.
	SolutionShown bool `json:"solutionShown,omitempty"`
	// Error is why an Invalid answer could not be read or applied.
	Error string `json:"error,omitempty"`
}

// Options shape a grade.
type Options struct {
	// Source says where the measured matrix came from (SourceProbe by
	// default).
	Source string
	// HintsShown is how many hints the learner has already seen; the
	// result carries the next one.
	HintsShown int
}

// Task grades t: measured is what the dataplane did (or the engine's
// prediction) and applied is the world whose policies were in force, used
// only to explain wrong cells. Cells of measured that the task does not
// have are ignored.
func Task(t *labs.Task, applied *world.World, measured *matrix.Matrix, o Options) *Result {
	if o.Source == "" {
		o.Source = SourceProbe
	}
	r := &Result{Lab: t.Lab.Name, Task: t.Name, Title: t.Title, Index: t.Index, Tasks: len(t.Lab.Tasks),
		Source: o.Source, MaxPoints: t.Points, Missing: []Cell{}, Leaked: []Cell{}, Hints: len(t.Hints)}
	exp := t.Expected()
	start := t.Predict(t.StartWorld()).Index()
	got := measured.Index()
	eng := netpol.New(applied)
	var fix *fixer // made for the first leaked cell: it runs the engine again
	fixes := func() *fixer {
		if fix == nil {
			fix = newFixer(t, applied, eng, exp, start)
		}
		return fix
	}
	relevant, wrong := 0, 0
	for _, e := range exp.Results {
		k := e.Key()
		r.Cells++
		counts := start[k].Allowed != e.Allowed
		g, ok := got[k]
		switch {
		case !ok || g.Detail == matrix.DetailUnsupported || g.Detail == matrix.DetailRefused:
			c := cellOf(k, e.Allowed, "not measured", g.Detail)
			switch {
			case ok && g.Detail == matrix.DetailRefused:
				c.Why = "the connection was refused: nothing listens on " + k.To + " (its agent is not running?), so the cell could not be checked"
				c.Hint = "not your policy: 'netlab status' shows the lab's agents"
			case ok:
				c.Why = "the dataplane cannot carry " + k.Protocol + " on this machine, so the cell could not be checked"
			default:
				c.Why = "the measurement has no such cell"
			}
			c.Status = Unmeasured
			r.Unmeasured = append(r.Unmeasured, c)
			wrong++
			counts = true
		case e.Undecided() || g.Undecided():
			// No verdict to compare (a pod without an address meets an
			// ipBlock): never a silent pass or fail.
			c := cellOf(k, e.Allowed, verdict(g.Allowed), g.Detail)
			if e.Undecided() {
				c.Expected, c.Why = "not decidable", e.Reason
			}
			if g.Undecided() {
				c.Got, c.Why = "not decidable", g.Reason
			}
			c.Status = Unmeasured
			r.Unmeasured = append(r.Unmeasured, c)
			wrong++
			counts = true
		case g.Allowed == e.Allowed:
			r.Correct++
		default:
			c := cellOf(k, e.Allowed, verdict(g.Allowed), g.Detail)
			explain(&c, eng, applied, t.Enforcer, k, g.Allowed, fixes)
			if g.Allowed {
				c.Status = Leaked
				r.Leaked = append(r.Leaked, c)
			} else {
				c.Status = Missing
				r.Missing = append(r.Missing, c)
			}
			wrong++
			counts = true
		}
		if counts {
			relevant++
		}
	}
	switch {
	case len(r.Missing) > 0 && len(r.Leaked) > 0:
		r.Verdict = Wrong
	case len(r.Missing) > 0:
		r.Verdict = TooStrict
	case len(r.Leaked) > 0:
		r.Verdict = OverPermissive
	case len(r.Unmeasured) > 0:
		r.Verdict = Incomplete
	default:
		r.Verdict, r.Passed = Pass, true
	}
	r.Points = float64(t.Points)
	if relevant > 0 {
		r.Points = math.Round(float64(t.Points)*float64(relevant-wrong)/float64(relevant)*10) / 10
	}
	if r.Passed {
		r.Explanation = t.Explanation
	} else if len(t.Hints) > 0 {
		i := min(max(o.HintsShown, 0), len(t.Hints)-1)
		r.Hint, r.HintNumber = t.Hints[i], i+1
	}
	return r
}

// Offline grades t against the engine's prediction for applied: no
// dataplane, the same verdicts a perfect enforcer would produce.
func Offline(t *labs.Task, applied *world.World, o Options) *Result {
	o.Source = SourceEngine
	return Task(t, applied, t.Predict(applied), o)
}

func cellOf(k matrix.Key, expected bool, got, detail string) Cell {
	return Cell{Cell: k.String(), From: k.From, To: k.To, Port: k.Port, Protocol: k.Protocol,
		Expected: verdict(expected), Got: got, Detail: detail}
}

func verdict(allowed bool) string {
	if allowed {
		return "allowed"
	}
	return "blocked"
}

// explain fills Why and Hint of a wrong cell from the engine's view of the
// applied policies.
func explain(c *Cell, e *netpol.Engine, w *world.World, enf labs.Enforcer, k matrix.Key, gotAllowed bool, fixes func() *fixer) {
	if enf == labs.EnforcerNone {
		c.Why = "no enforcer runs in this task: policies are stored but nothing applies them, so every connection is allowed"
		c.Hint = "no policy can change this cell without an enforcer"
		return
	}
	src := w.Pod(k.From)
	if src == nil {
		c.Why = "the source is not a pod of the lab"
		return
	}
	var dst netpol.Endpoint
	if p := w.Pod(k.To); p != nil {
		dst = netpol.PodEndpoint(p)
	} else if ip, err := netip.ParseAddr(k.To); err == nil {
		dst = netpol.IPEndpoint(ip)
	} else {
		c.Why = "the destination is not a pod of the lab"
		return
	}
	x := e.Explain(netpol.PodEndpoint(src), dst, k.Port, corev1.Protocol(k.Protocol))
	c.Why = x.Summary
	if x.Allowed != gotAllowed {
		c.Why = fmt.Sprintf("the policies say %s (%s), but the dataplane measured %s: run 'netlab verify' to check the enforcer",
			verdict(x.Allowed), x.Summary, verdict(gotAllowed))
		c.Hint = "this is not your policy's fault; compare with 'netlab explain' and 'netlab verify'"
		return
	}
	target := fmt.Sprintf("%s port %d/%s", k.To, k.Port, k.Protocol)
	if gotAllowed {
		// Leaked: the change on the side the task is about, checked
		// through the engine so that it blocks no required flow.
		hint, ch := fixes().leaked(k, x)
		c.Hint = hint
		if ch != nil && len(ch.broken) == 0 {
			c.Side, c.sideWhy, c.sideHint = ch.side.String(), ch.reason(), hint
		}
		return
	}
	// Missing: every side that blocks it needs a rule.
	var needs []string
	if s := x.Egress; s != nil && !s.Allowed {
		needs = append(needs, fmt.Sprintf("an egress rule in a policy selecting %s that allows %s", s.Pod, target))
	}
	if s := x.Ingress; s != nil && !s.Allowed {
		needs = append(needs, fmt.Sprintf("an ingress rule in a policy selecting %s that allows %s on %d/%s", s.Pod, k.From, k.Port, k.Protocol))
	}
	c.Hint = "this flow must be allowed; add " + join(needs, ", and ") + " (both sides must allow)"
	// Blocked on one side only: the cells blocked there are one change.
	var blocking []*netpol.Side
	for _, s := range []*netpol.Side{x.Egress, x.Ingress} {
		if s != nil && !s.Allowed {
			blocking = append(blocking, s)
		}
	}
	if len(blocking) == 1 {
		s := blocking[0]
		c.Side = s.Direction + " of " + s.Pod
		c.sideWhy = fmt.Sprintf("%s select%s it and no %s rule admits them", join(s.Policies, ", "), plural1(len(s.Policies)), s.Direction)
		c.sideHint = fmt.Sprintf("add %s rules to a policy selecting %s that allow exactly these flows (both sides must allow)", s.Direction, s.Pod)
	}
}

// plural1 is the verb ending for a subject of n: "s" for one.
func plural1(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

func policyType(dir string) string {
	if dir == "ingress" {
		return "Ingress"
	}
	return "Egress"
}

func peerField(dir string) string {
	if dir == "ingress" {
		return "from"
	}
	return "to"
}

func join(parts []string, sep string) string {
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += sep
		}
		out += p
	}
	return out
}
