package tui

import (
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/netlab/netlab/internal/matrix"
)

// gridView is the reachability grid of the lesson screen: one row per
// source pod, one column per destination pod and port, like
// matrix.WriteTable but compact enough for 80 columns (short pod names,
// TCP ports without "/TCP") and with the cells the last check found wrong
// marked "!".
type gridView struct {
	header []string // two lines: pods, then ports
	rows   []string
	footer string
}

// lines returns the grid ready to print, each line cut to width.
func (g gridView) lines(width int) []string {
	var out []string
	out = append(out, g.header...)
	out = append(out, g.rows...)
	out = append(out, g.footer)
	for i, l := range out {
		out[i] = ansi.Truncate(l, width, "…")
	}
	return out
}

type gridColumn struct {
	to    string
	port  int32
	proto string
}

// stillWrong reports whether the check's wrong cell w is still wrong in the
// measured cell c (ok false: the grid has no such cell). Once the learner
// fixes a cell its mark goes away, without checking again.
func stillWrong(w WrongCell, c matrix.Cell, ok bool) bool {
	switch w.Status {
	case Unmeasured:
		return !ok || c.Detail == matrix.DetailUnsupported
	case Missing, Leaked:
		return ok && c.Allowed == w.Allowed
	}
	return false
}

// renderGrid builds the grid of m. wrong are the last check's wrong cells
// (may be nil).
func renderGrid(st *styles, m *matrix.Matrix, wrong map[matrix.Key]WrongCell) gridView {
	if m == nil || len(m.Results) == 0 {
		return gridView{footer: st.dim.Render("no cells: no pod declares a container port")}
	}
	var cols []gridColumn
	seen := map[gridColumn]bool{}
	froms := map[string]bool{}
	cells := make(map[matrix.Key]matrix.Cell, len(m.Results))
	pods := map[string]bool{}
	for _, c := range m.Results {
		col := gridColumn{c.To, c.Port, c.Protocol}
		if !seen[col] {
			seen[col] = true
			cols = append(cols, col)
		}
		froms[c.From], pods[c.From], pods[c.To] = true, true, true
		cells[c.Key()] = c
	}
	sort.Slice(cols, func(i, j int) bool {
		a, b := cols[i], cols[j]
		if a.to != b.to {
			return a.to < b.to
		}
		if a.port != b.port {
			return a.port < b.port
		}
		return a.proto < b.proto
	})
	rowNames := sortedSet(froms)
	short := shortNames(pods)

	portLabel := func(c gridColumn) string {
		if c.proto == "TCP" || c.proto == "" {
			return fmt.Sprint(c.port)
		}
		return fmt.Sprintf("%d/%s", c.port, c.proto)
	}
	first := ansi.StringWidth(`from \ to`)
	for _, f := range rowNames {
		first = max(first, ansi.StringWidth(short[f]))
	}
	// Each column is as wide as its port label (at least 2: a symbol and
	// the wrong mark); the last port of a pod widens so the pod's name
	// fits across its ports.
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = max(2, ansi.StringWidth(portLabel(c)))
	}
	for i := 0; i < len(cols); {
		j, span := i, 0
		for ; j < len(cols) && cols[j].to == cols[i].to; j++ {
			if j > i {
				span += 2
			}
			span += widths[j]
		}
		if need := ansi.StringWidth(short[cols[i].to]); need > span {
			widths[j-1] += need - span
		}
		i = j
	}

	var pod, port strings.Builder
	pod.WriteString(padRight(`from \ to`, first))
	port.WriteString(strings.Repeat(" ", first))
	for i, c := range cols {
		port.WriteString("  ")
		if i == 0 || cols[i-1].to != c.to {
			pod.WriteString("  ")
			span := 0
			for j := i; j < len(cols) && cols[j].to == c.to; j++ {
				if j > i {
					span += 2
				}
				span += widths[j]
			}
			pod.WriteString(padRight(short[c.to], span))
		}
		port.WriteString(padRight(portLabel(c), widths[i]))
	}
	g := gridView{header: []string{
		st.bold.Render(strings.TrimRight(pod.String(), " ")),
		st.dim.Render(strings.TrimRight(port.String(), " ")),
	}}

	var allowed, blocked, other, refused, marked int
	for _, f := range rowNames {
		var row strings.Builder
		row.WriteString(padRight(short[f], first))
		for i, col := range cols {
			k := matrix.Key{From: f, To: col.to, Port: col.port, Protocol: col.proto}
			c, ok := cells[k]
			sym, style := "·", st.dim
			switch {
			case !ok:
			case c.Allowed:
				sym, style = "✓", st.allowed
				allowed++
			case c.Detail == matrix.DetailUnsupported:
				sym, style = "?", st.dim
				other++
			case c.Detail == matrix.DetailRefused:
				// Nothing listens (a dead agent), not a policy's drop.
				sym, style = "R", st.wrong
				refused++
			default:
				sym, style = "✗", st.blocked
				blocked++
			}
			cell := style.Render(sym) + " "
			if w, isWrong := wrong[k]; isWrong && stillWrong(w, c, ok) {
				cell = st.wrong.Render(sym + "!")
				marked++
			}
			row.WriteString("  " + cell + strings.Repeat(" ", widths[i]-2))
		}
		g.rows = append(g.rows, strings.TrimRight(row.String(), " "))
	}
	footer := fmt.Sprintf("%d allowed, %d blocked", allowed, blocked)
	if other > 0 {
		footer += fmt.Sprintf(", %d not measurable", other)
	}
	if refused > 0 {
		footer += fmt.Sprintf(", %d refused", refused)
	}
	if marked > 0 {
		footer += fmt.Sprintf(", %d wrong", marked)
	}
	legend := "  ✓ allowed ✗ blocked · same pod"
	switch {
	case refused > 0:
		legend = "  R: nothing listens (agent down?)"
	case marked > 0:
		legend = "  ! wrong (see check)"
	}
	g.footer = footer + st.dim.Render(legend)
	return g
}

// shortNames names pods as briefly as stays unambiguous: the pod name
// alone when no other namespace has a pod of that name, else "ns/pod".
func shortNames(pods map[string]bool) map[string]string {
	count := map[string]int{}
	for p := range pods {
		count[podName(p)]++
	}
	out := make(map[string]string, len(pods))
	for p := range pods {
		if count[podName(p)] == 1 {
			out[p] = podName(p)
		} else {
			out[p] = p
		}
	}
	return out
}

func podName(p string) string {
	if _, name, ok := strings.Cut(p, "/"); ok {
		return name
	}
	return p
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// padRight pads s with spaces to width cells (s may hold no escapes).
func padRight(s string, width int) string {
	return s + strings.Repeat(" ", max(0, width-ansi.StringWidth(s)))
}

// stripANSI removes escape sequences.
func stripANSI(s string) string { return ansi.Strip(s) }
