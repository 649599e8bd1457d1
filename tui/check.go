package tui

import (
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/netlab/netlab/internal/matrix"
)

// verdictOf is the verdict in words.
func verdictOf(r *CheckResult) string {
	if r.Summary != "" {
		return r.Summary
	}
	return describe(r)
}

// summary is the status line after a check, at most width columns: the
// verdict and the points, or when that does not fit the points first and
// the verdict in short, so the score is never cut.
func summary(r *CheckResult, width int) string {
	verdict := verdictOf(r)
	points := fmt.Sprintf("%s/%d points", num(r.Points), r.MaxPoints)
	var s string
	if r.Passed {
		s = fmt.Sprintf("✓ %s — %s. n: next task", verdict, points)
	} else {
		s = fmt.Sprintf("✗ %s — %s", verdict, points)
	}
	if width <= 0 || ansi.StringWidth(s) <= width {
		return s
	}
	if r.Passed {
		return ansi.Truncate("✓ passed — "+points+". n: next task", width, "…")
	}
	return ansi.Truncate("✗ "+points+" — "+shortCounts(r), width, "…")
}

// wrongCounts counts the wrong cells by what is wrong with them.
func wrongCounts(r *CheckResult) (missing, leaked, unmeasured int) {
	for _, c := range r.Wrong {
		switch c.Status {
		case Missing:
			missing++
		case Leaked:
			leaked++
		default:
			unmeasured++
		}
	}
	return missing, leaked, unmeasured
}

// shortCounts is the verdict in few words: "2 blocked, 13 extra".
func shortCounts(r *CheckResult) string {
	missing, leaked, unmeasured := wrongCounts(r)
	var parts []string
	if missing > 0 {
		parts = append(parts, fmt.Sprintf("%d required blocked", missing))
	}
	if leaked > 0 {
		parts = append(parts, fmt.Sprintf("%d extra allowed", leaked))
	}
	if unmeasured > 0 {
		parts = append(parts, fmt.Sprintf("%d not measured", unmeasured))
	}
	if len(parts) == 0 {
		return "not yet"
	}
	return strings.Join(parts, ", ")
}

// describe words a verdict from the counts, like package grade does.
func describe(r *CheckResult) string {
	if r.Passed {
		return "passed"
	}
	missing, leaked, unmeasured := wrongCounts(r)
	var parts []string
	if missing > 0 {
		parts = append(parts, fmt.Sprintf("%d required flow%s blocked", missing, isAre(missing)))
	}
	if leaked > 0 {
		parts = append(parts, fmt.Sprintf("%d extra flow%s allowed", leaked, isAre(leaked)))
	}
	if unmeasured > 0 {
		parts = append(parts, fmt.Sprintf("%d cell%s not measured", unmeasured, isAre(unmeasured)))
	}
	if len(parts) == 0 {
		return "not yet"
	}
	return "not yet: " + strings.Join(parts, ", ")
}

func isAre(n int) string {
	if n == 1 {
		return " is"
	}
	return "s are"
}

func num(f float64) string {
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%.1f", f)
}

// renderCheck is the check result: the score, every wrong cell with why
// and what to do, and once passed the explanation. The verdict itself is
// on the status line. Cells are named as the grid names them.
func renderCheck(st *styles, r *CheckResult, grid *matrix.Matrix, width int) string {
	pods := map[string]bool{}
	if grid != nil {
		for _, c := range grid.Results {
			pods[c.From], pods[c.To] = true, true
		}
	}
	for _, c := range r.Wrong {
		pods[c.From], pods[c.To] = true, true
	}
	short := shortNames(pods)
	var b strings.Builder
	// The headline wraps rather than being cut; the verdict comes once
	// (Summary is the verdict alone, the counts are added here).
	score := fmt.Sprintf("%d/%d cells right · %s/%d points", r.Correct, r.Cells, num(r.Points), r.MaxPoints)
	head := "✗ " + verdictOf(r) + " · " + score
	style := st.bad
	if r.Passed {
		head, style = "✓ passed · "+score, st.ok
	}
	b.WriteString(style.Width(width).Render(head))
	if r.Note != "" {
		b.WriteString("\n" + st.dim.Width(width).Render(r.Note))
	}
	section := func(title string, status CellStatus) {
		var cells []WrongCell
		for _, c := range r.Wrong {
			if c.Status == status {
				cells = append(cells, c)
			}
		}
		if len(cells) == 0 {
			return
		}
		b.WriteString("\n" + st.bold.Render(title+":"))
		body := lipgloss.NewStyle().Width(width).PaddingLeft(4)
		shown := map[int]bool{}
		for _, c := range cells {
			if c.Group > 0 && c.Group <= len(r.Groups) {
				// One entry for the cells one change fixes.
				if shown[c.Group] {
					continue
				}
				shown[c.Group] = true
				g := r.Groups[c.Group-1]
				got, want := "blocked", "allowed"
				if c.Allowed {
					got, want = "allowed", "blocked"
				}
				b.WriteString("\n" + lipgloss.NewStyle().Width(width).Render(st.wrong.Render("!")+
					fmt.Sprintf(" %d cells %s at %s, expected %s:", g.Cells, got, g.Side, want)))
				for _, f := range g.Flows {
					b.WriteString("\n" + body.Render(shortFlow(f, short)))
				}
				if g.Why != "" {
					b.WriteString("\n" + body.Render("why:  "+g.Why))
				}
				if g.Hint != "" {
					b.WriteString("\n" + body.Render(st.hint.Render("hint: "+g.Hint)))
				}
				continue
			}
			name := fmt.Sprintf("%s -> %s:%d", short[c.From], short[c.To], c.Port)
			if c.Protocol != "TCP" && c.Protocol != "" {
				name += "/" + c.Protocol
			}
			got, want := "blocked", "allowed"
			if c.Allowed {
				got, want = "allowed", "blocked"
			}
			line := fmt.Sprintf("%s  %s%s, expected %s", name, got, paren(c.Detail), want)
			if status == Unmeasured {
				line = fmt.Sprintf("%s  could not be measured%s", name, paren(c.Detail))
			}
			b.WriteString("\n" + lipgloss.NewStyle().Width(width).Render(st.wrong.Render("!")+" "+line))
			if c.Why != "" {
				b.WriteString("\n" + body.Render("why:  "+c.Why))
			}
			if c.Hint != "" {
				b.WriteString("\n" + body.Render(st.hint.Render("hint: "+c.Hint)))
			}
		}
	}
	section("Required flows that are blocked", Missing)
	section("Extra flows that are allowed (over-permissive)", Leaked)
	section("Cells that could not be measured", Unmeasured)
	if r.Passed && r.Explanation != "" {
		b.WriteString("\n\n" + st.markdown(r.Explanation, width))
	}
	if r.Passed {
		b.WriteString("\n\n" + st.dim.Render("n: next task · esc: back to the brief"))
	} else {
		b.WriteString("\n\n" + st.dim.Width(width).Render("Fix the policies, apply them, press c again · h: a hint · esc: the brief"))
	}
	return b.String()
}

// shortFlow names the pods of a group's flow line as the grid does.
func shortFlow(f string, short map[string]string) string {
	// Longest names first, so "ns/pod" is replaced before a shorter one
	// that it contains.
	names := make([]string, 0, len(short))
	for k := range short {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	pairs := make([]string, 0, 2*len(names))
	for _, k := range names {
		pairs = append(pairs, k, short[k])
	}
	return strings.NewReplacer(pairs...).Replace(f)
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
