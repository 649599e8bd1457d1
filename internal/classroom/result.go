// Package classroom is netlab's teacher's side: the result GitHub
// Classroom's autograding reporter reads (so the class dashboard shows a
// submission's points), and grading a whole class at once, each student in
// their own lab, with a per-student summary, a CSV and a self-contained
// HTML report of what the class as a whole gets wrong.
package classroom

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/netlab/netlab/internal/grade"
)

// Statuses of a runner and of a test, as the reporter spells them. The
// reporter fails the job when a runner's status is StatusFail or
// StatusError, and prints the message of a test only when its status is
// StatusError.
const (
	StatusPass  = "pass"
	StatusFail  = "fail"
	StatusError = "error"
)

// MessageLimit is how long a test's message may get: the reporter prints
// it whole into the job log and Classroom keeps it with the run, so one
// task's explanation stays a readable paragraph, not every cell of a
// large lab.
const MessageLimit = 1000

// Result is one runner's result in the shape classroom-resources/
// autograding-grading-reporter decodes from the step output "result":
// base64 of this JSON. The dashboard's points are the sum of the tests'
// Score over the sum of the runners' MaxScore.
type Result struct {
	Version  int    `json:"version"`
	Status   string `json:"status"`
	MaxScore int    `json:"max_score"`
	Tests    []Test `json:"tests"`
}

// Test is one task of the lab.
type Test struct {
	Name    string  `json:"name"`
	Status  string  `json:"status"`
	Score   float64 `json:"score"`
	Message string  `json:"message"`
	// TestCode, when not empty, is printed under the test in the job log.
	TestCode string `json:"test_code"`
	Filename string `json:"filename"`
	// LineNo must be 0: the reporter prints " - line N" after the name
	// of a test whose line_no is anything else, absent included.
	LineNo int `json:"line_no"`
}

// FromReport turns a lab's grade into a result: one test per task with
// its partial score and, as its message, the task's headline and its
// wrong cells with the engine's reasons, trimmed to MessageLimit. A task
// whose answer could not be read or applied is a test with status
// "error", so the reporter prints why. The runner passes when the score
// reaches pass percent of the maximum.
func FromReport(rep *grade.Report, pass float64) Result {
	r := Result{Version: 1, Status: StatusPass, MaxScore: rep.MaxPoints, Tests: []Test{}}
	for _, res := range rep.Results {
		t := Test{Name: fmt.Sprintf("%s: %s", res.Task, res.Title), Status: StatusFail, Score: res.Points,
			Message: trim(Message(res), MessageLimit)}
		switch {
		case res.Passed:
			t.Status = StatusPass
		case res.Verdict == grade.Invalid:
			t.Status = StatusError
		}
		r.Tests = append(r.Tests, t)
	}
	settle(r.Tests, rep.Points)
	if percent(rep.Points, rep.MaxPoints) < pass {
		r.Status = StatusFail
	}
	return r
}

// ErrorResult is the result of a grading that could not run at all (no
// lab, an unreadable submission): one test with status "error" carrying
// err, so the reporter shows it and fails the job.
func ErrorResult(lab string, maxScore int, err error) Result {
	return Result{Version: 1, Status: StatusError, MaxScore: maxScore, Tests: []Test{{
		Name: "netlab grade " + lab, Status: StatusError, Message: trim(err.Error(), MessageLimit)}}}
}

func percent(points float64, max int) float64 {
	if max <= 0 {
		return 0
	}
	return 100 * points / float64(max)
}

// Message explains a task's grade in a few lines: the headline, then each
// wrong cell with what was measured and the engine's reason (or the
// answer's error).
func Message(r *grade.Result) string {
	var b strings.Builder
	b.WriteString(grade.Headline(r))
	for _, c := range append(append(append([]grade.Cell(nil), r.Missing...), r.Leaked...), r.Unmeasured...) {
		fmt.Fprintf(&b, "\n%s: was %s, expected %s", c.Cell, c.Got, c.Expected)
		if c.Why != "" {
			fmt.Fprintf(&b, " (%s)", c.Why)
		}
	}
	return b.String()
}

// trim cuts s to at most n bytes at a rune boundary, ending in "…" when
// it cut.
func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// settle makes the reporter's sum print netlab's total. The reporter adds
// the tests' scores with JavaScript numbers, left to right from 0, and
// prints "Points <sum>/<max>"; scores in tenths do not always add up
// exactly in binary floating point (0.1 + 0.2 prints 0.30000000000000004).
// When the plain sum would not be the total, the last non-zero score takes
// the difference, and if rounding still gets in the way an earlier score
// moves by a few units in its last place: changes in the 15th digit that
// nothing displays, so that the sum is the total.
func settle(tests []Test, total float64) {
	last := -1
	for i, t := range tests {
		if t.Score != 0 {
			last = i
		}
	}
	before := func() float64 { // the reporter's sum up to the last non-zero score
		acc := 0.0
		for _, t := range tests[:last] {
			acc += t.Score
		}
		return acc
	}
	if last < 0 || before()+tests[last].Score == total {
		return
	}
	orig := tests[last].Score
	fix := func() bool {
		acc := before()
		d := total - acc
		for _, c := range []float64{d, math.Nextafter(d, math.Inf(1)), math.Nextafter(d, math.Inf(-1))} {
			if c > 0 && acc+c == total {
				tests[last].Score = c
				return true
			}
		}
		return false
	}
	if fix() {
		return
	}
	for k := last - 1; k >= 0; k-- {
		o := tests[k].Score
		if o == 0 {
			continue // a 0 stays 0, not 5e-324
		}
		up, down := o, o
		for range 8 {
			up, down = math.Nextafter(up, math.Inf(1)), math.Nextafter(down, math.Inf(-1))
			for _, c := range []float64{up, down} {
				if tests[k].Score = c; fix() {
					return
				}
			}
		}
		tests[k].Score = o
	}
	tests[last].Score = orig
}

// Encode is the step output's value: base64 of the result's JSON.
func (r Result) Encode() (string, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(data), nil
}

// Output names the step output the reporter reads: the workflow passes
// steps.<id>.outputs.result to the reporter as <ID>_RESULTS.
const Output = "result"

// Write prints the encoded result on w and, when githubOutput names a
// file (GitHub Actions' $GITHUB_OUTPUT), appends "result=<base64>" to it,
// making it the step's output.
func Write(w io.Writer, githubOutput string, r Result) error {
	enc, err := r.Encode()
	if err != nil {
		return err
	}
	if githubOutput != "" {
		f, err := os.OpenFile(githubOutput, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("step output: %w", err)
		}
		_, werr := fmt.Fprintf(f, "%s=%s\n", Output, enc)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("step output %s: %w", githubOutput, werr)
		}
	}
	_, err = fmt.Fprintln(w, enc)
	return err
}
