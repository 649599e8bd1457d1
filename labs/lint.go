package labs

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
)

// Predict is the engine's matrix for w over a lab's cells: every ordered
// pair of distinct pods times the destination's container ports, plus (with
// internet) every pod to the internet host's ports. Under EnforcerNone
// policies are stored but nothing enforces them, so every cell is allowed.
func Predict(w *world.World, internet bool, enf Enforcer) *matrix.Matrix {
	if enf == EnforcerNone {
		w = w.Clone()
		w.Policies = nil
	}
	e := netpol.New(w)
	m := e.Matrix()
	if internet {
		dst := netpol.IPEndpoint(netip.MustParseAddr(InternetIP))
		for _, src := range w.Pods {
			for _, port := range InternetPorts {
				m.Results = append(m.Results, matrix.Cell{From: src.Key(), To: InternetIP, Port: port, Protocol: "TCP",
					Allowed: e.Allowed(netpol.PodEndpoint(src), dst, port, corev1.ProtocolTCP)})
			}
		}
		m.Sort()
	}
	return m
}

// Problem is one thing lint found wrong with a task.
type Problem struct {
	Task    string `json:"task"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Task + ": " + p.Message }

// Lint checks every task of the lab through the engine: the reference
// solution must produce exactly the expected matrix, and the starting state
// must not already pass (except for observe tasks, whose starting state
// must pass, since they ask for no change).
func (l *Lab) Lint() []Problem {
	var out []Problem
	for _, t := range l.Tasks {
		exp := t.Expected()
		if d := matrix.Compare(t.Predict(t.SolvedWorld()), exp); len(d) > 0 {
			out = append(out, Problem{t.ID(), "the reference solution does not produce the expected matrix: " + cellList(d)})
		}
		start := matrix.Compare(t.Predict(t.StartWorld()), exp)
		switch {
		case t.Observe && len(start) > 0:
			out = append(out, Problem{t.ID(), "an observe task must pass from its starting state, but these cells differ: " + cellList(start)})
		case !t.Observe && len(start) == 0:
			out = append(out, Problem{t.ID(), "the starting state (" + describe(t.Start) + ") already passes: there is nothing to do"})
		}
	}
	if len(l.Tasks) > 0 && l.Tasks[0].Observe {
		out = append(out, Problem{l.Tasks[0].ID(), "the first task of a lab cannot be an observe task"})
	}
	return out
}

// cellList renders mismatches as "a -> b:80/TCP (expected allowed, got
// blocked), ..." keeping the message short.
func cellList(d []matrix.Mismatch) string {
	var parts []string
	for i, m := range d {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("and %d more", len(d)-4))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (expected %s, got %s)", m.Key, verdictOf(m.Expected), verdictOf(m.Got)))
	}
	return strings.Join(parts, ", ")
}

func verdictOf(c *matrix.Cell) string {
	switch {
	case c == nil:
		return "no cell"
	case c.Undecided():
		return "not decidable"
	case c.Allowed:
		return "allowed"
	}
	return "blocked"
}
