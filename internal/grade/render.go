package grade

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/netlab/netlab/internal/junit"
)

// Report is the grades of several tasks (a lab, or a whole course) and
// their total.
type Report struct {
	Results   []*Result `json:"results"`
	Points    float64   `json:"points"`
	MaxPoints int       `json:"maxPoints"`
	Passed    int       `json:"passed"`
}

// Add appends a result and updates the totals.
func (r *Report) Add(res *Result) {
	r.Results = append(r.Results, res)
	r.Points = math.Round((r.Points+res.Points)*10) / 10
	r.MaxPoints += res.MaxPoints
	if res.Passed {
		r.Passed++
	}
}

// WriteJSON writes v (a *Result or a *Report) as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteText renders one result for a terminal: the verdict and score,
// every wrong cell with the engine's reason and a hint, then the task's
// next hint (or, once passed, its explanation).
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Task %d/%d %s/%s: %s\n", r.Index+1, r.Tasks, r.Lab, r.Task, r.Title)
	mark := "✗ "
	if r.Verdict == Pass {
		mark = "✓ "
	}
	fmt.Fprintf(&b, "%s%s\n", mark, Headline(r))
	section := func(title string, cells []Cell) {
		if len(cells) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		for _, g := range Groups(cells) {
			if c := g.Cells[0]; len(g.Cells) == 1 {
				fmt.Fprintf(&b, "  %s  was %s%s, expected %s\n", c.Cell, c.Got, paren(c.Detail), c.Expected)
			} else {
				fmt.Fprintf(&b, "  %d cells %s at %s, expected %s:\n", len(g.Cells), c.Got, g.Side, c.Expected)
				for _, f := range g.Flows {
					fmt.Fprintf(&b, "      %s\n", f)
				}
			}
			if g.Why != "" {
				fmt.Fprintf(&b, "      why:  %s\n", g.Why)
			}
			if g.Hint != "" {
				fmt.Fprintf(&b, "      hint: %s\n", g.Hint)
			}
		}
	}
	section("Required flows that are blocked", r.Missing)
	section("Extra flows that are allowed (over-permissive)", r.Leaked)
	section("Cells that could not be measured", r.Unmeasured)
	if r.Passed {
		if r.Explanation != "" {
			fmt.Fprintf(&b, "\n%s\n", r.Explanation)
		}
	} else if r.Hint != "" {
		fmt.Fprintf(&b, "\nHint %d/%d: %s\n", r.HintNumber, r.Hints, r.Hint)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func describeVerdict(r *Result) string {
	switch r.Verdict {
	case OverPermissive:
		return fmt.Sprintf("over-permissive: every required flow works, but %d extra flow%s allowed", len(r.Leaked), pluralVerb(len(r.Leaked)))
	case TooStrict:
		return fmt.Sprintf("too strict: %d required flow%s blocked", len(r.Missing), pluralVerb(len(r.Missing)))
	case Wrong:
		return fmt.Sprintf("not yet: %d required flow%s blocked and %d extra flow%s allowed",
			len(r.Missing), pluralVerb(len(r.Missing)), len(r.Leaked), pluralVerb(len(r.Leaked)))
	case Invalid:
		return "invalid: the answer could not be read or applied: " + r.Error
	case Incomplete:
		return fmt.Sprintf("incomplete: %d cell%s could not be measured", len(r.Unmeasured), plural(len(r.Unmeasured)))
	}
	return string(r.Verdict)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pluralVerb(n int) string {
	if n == 1 {
		return " is"
	}
	return "s are"
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// VerdictText is the verdict of r in words, without the score ("too strict:
// 1 required flow is blocked"; "passed").
func (r *Result) VerdictText() string {
	if r.Verdict == Pass {
		return "passed"
	}
	return describeVerdict(r)
}

// Headline sums a result up in one line: the verdict, the cells right and
// the points ("too strict: 1 required flow is blocked: 11/12 cells right —
// 9.2/10 points").
func Headline(r *Result) string {
	src := ""
	if r.Source == SourceEngine {
		src = ", predicted by the engine (no probe)"
	}
	verdict := "passed"
	if r.Verdict != Pass {
		verdict = describeVerdict(r)
	}
	points := fmt.Sprintf("%s/%d points", FormatPoints(r.Points), r.MaxPoints)
	if r.SolutionShown {
		points += " (the solution was shown)"
	}
	return fmt.Sprintf("%s: %d/%d cells right%s — %s", verdict, r.Correct, r.Cells, src, points)
}

// FormatPoints writes points as "10" or "7.5".
func FormatPoints(f float64) string {
	if f == math.Trunc(f) {
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprintf("%.1f", f)
}

// JUnit turns results into JUnit suites: one suite per task, a failed case
// per wrong cell (with the reason and the hint) and one passing case for
// the cells that are right.
func JUnit(name string, results ...*Result) junit.Suites {
	out := junit.Suites{Name: name}
	for _, r := range results {
		s := junit.Suite{Name: fmt.Sprintf("netlab lab %s task %d %s", r.Lab, r.Index+1, r.Task)}
		class := "netlab." + r.Lab + "." + r.Task
		// Wrong cells are one case each; the cells that are right are not
		// listed in a Result, so one passing case stands for all of them.
		for _, c := range append(append(append([]Cell(nil), r.Missing...), r.Leaked...), r.Unmeasured...) {
			s.Add(junit.Case{Name: c.Cell, Class: class, Failure: &junit.Failure{
				Message: fmt.Sprintf("%s: was %s, expected %s", c.Status, c.Got, c.Expected),
				Text:    strings.TrimSpace(c.Why + "\nhint: " + c.Hint),
			}})
		}
		if r.Verdict == Invalid {
			s.Add(junit.Case{Name: "answer", Class: class, Failure: &junit.Failure{Message: "invalid answer", Text: r.Error}})
		} else {
			s.Add(junit.Case{Name: fmt.Sprintf("%d other cells as expected", r.Correct), Class: class})
		}
		out.Suites = append(out.Suites, s)
		out.Tests += s.Tests
		out.Failures += s.Failures
	}
	return out
}

// WriteJUnit writes JUnit XML for the results.
func WriteJUnit(w io.Writer, name string, results ...*Result) error {
	return junit.Write(w, JUnit(name, results...))
}

// WriteReportText renders every result of a report and the total.
func WriteReportText(w io.Writer, rep *Report) error {
	for i, r := range rep.Results {
		if i > 0 {
			if _, err := fmt.Fprintln(w); err != nil {
				return err
			}
		}
		if err := WriteText(w, r); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "\nScore: %s/%d points, %d/%d tasks passed\n", FormatPoints(rep.Points), rep.MaxPoints, rep.Passed, len(rep.Results))
	return err
}
