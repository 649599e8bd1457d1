package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/netlab/netlab/internal/matrix"
)

// verdictOf is the verdict in words.
func verdictOf(r *CheckResult) string {
	if r.Summary != "" {
		return r.Summary
	}
	return describe(r)
}

// summary is the status line after a check.
func summary(r *CheckResult) string {
	verdict := verdictOf(r)
	if r.Passed {
		return fmt.Sprintf("✓ %s — %s/%d points. n: next task", verdict, num(r.Points), r.MaxPoints)
	}
	return fmt.Sprintf("✗ %s — %s/%d points", verdict, num(r.Points), r.MaxPoints)
}

// describe words a verdict from the counts, like package grade does.
func describe(r *CheckResult) string {
	if r.Passed {
		return "passed"
	}
	var missing, leaked, unmeasured int
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
	score := fmt.Sprintf("%d/%d cells right · %s/%d points", r.Correct, r.Cells, num(r.Points), r.MaxPoints)
	if r.Passed {
		b.WriteString(st.ok.Render("✓ passed") + " · " + score)
	} else {
		b.WriteString(st.bad.Render("✗ "+verdictOf(r)) + " · " + score)
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
		for _, c := range cells {
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

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
