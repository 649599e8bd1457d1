package classroom

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/grade"
)

// reporter is what GitHub Classroom's reporter action
// (classroom-resources/autograding-grading-reporter, read at commit
// 43c2d9f: src/main.js, src/notify-classroom.js, src/console-results.js,
// src/helpers/test-helpers.js) does with the step outputs, restated in Go
// from reading it:
//
//   - main.js: for each id of the comma-separated "runners" input, the
//     env var <ID trimmed, upper-cased>_RESULTS, base64-decoded,
//     JSON.parse'd. Then the job fails ("Some tests failed.") if a
//     runner's status is "fail", else ("Some tests errored.") if one is
//     "error".
//   - notify-classroom.js, what the dashboard reads: runners whose
//     max_score is falsy are skipped; of the others, the max_scores add up
//     to maxPoints and every test's score to totalPoints (JavaScript
//     numbers, left to right from 0; a test without a score makes it NaN);
//     the notice is `Points ${totalPoints}/${maxPoints}`, and none when
//     maxPoints is 0.
//   - console-results.js, the job log: per test "✅ name" (pass), "Error:
//     message" (error; "Failed to run test 'name'" without a message) or
//     "❌ name" (anything else), with " - line N" appended unless line_no
//     is exactly 0; "Test code:" and test_code when that is truthy; per
//     runner "Total points for R: S/M" where S, with toFixed(2), is the
//     share of tests that passed times max_score (not the tests' scores).
type reporter struct {
	notice string
	failed string
	log    []string
}

func runReporter(t *testing.T, runners string, env map[string]string) reporter {
	t.Helper()
	var rp reporter
	type decoded struct {
		runner string
		res    map[string]any
	}
	var all []decoded
	for _, runner := range strings.Split(runners, ",") {
		enc, ok := env[strings.ToUpper(strings.TrimSpace(runner))+"_RESULTS"]
		if !ok {
			t.Fatalf("reporter: no %s_RESULTS (Buffer.from(undefined) throws)", strings.ToUpper(runner))
		}
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			t.Fatalf("reporter: %s: base64: %v", runner, err)
		}
		var res map[string]any
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatalf("reporter: %s: JSON.parse: %v", runner, err)
		}
		all = append(all, decoded{runner, res})
	}
	// console-results.js
	for _, d := range all {
		tests, _ := d.res["tests"].([]any)
		passed := 0
		for _, x := range tests {
			test := x.(map[string]any)
			line := ""
			v, present := test["line_no"]
			if n, ok := v.(float64); !ok || n != 0 {
				line = " - line " + jsValue(v, present)
			}
			name := fmt.Sprint(test["name"])
			switch test["status"] {
			case "pass":
				passed++
				rp.log = append(rp.log, "✅ "+name+line)
			case "error":
				msg, _ := test["message"].(string)
				if msg == "" {
					msg = "Failed to run test '" + name + "'"
				}
				rp.log = append(rp.log, "Error: "+msg)
			default:
				rp.log = append(rp.log, "❌ "+name+line)
			}
			if code, _ := test["test_code"].(string); code != "" {
				rp.log = append(rp.log, "Test code:\n"+code)
			}
		}
		if max, _ := d.res["max_score"].(float64); max != 0 {
			score := float64(passed) / float64(len(tests)) * max
			rp.log = append(rp.log, fmt.Sprintf("Total points for %s: %.2f/%s", d.runner, score, jsNumber(max)))
		}
	}
	// notify-classroom.js
	total, max := 0.0, 0.0
	for _, d := range all {
		m, _ := d.res["max_score"].(float64)
		if m == 0 {
			continue
		}
		max += m
		for _, x := range d.res["tests"].([]any) {
			s, ok := x.(map[string]any)["score"].(float64)
			if !ok {
				s = math.NaN()
			}
			total += s
		}
	}
	if max != 0 {
		rp.notice = "Points " + jsNumber(total) + "/" + jsNumber(max)
	}
	// main.js
	for _, d := range all {
		if d.res["status"] == "fail" {
			rp.failed = "Some tests failed."
		}
	}
	if rp.failed == "" {
		for _, d := range all {
			if d.res["status"] == "error" {
				rp.failed = "Some tests errored."
			}
		}
	}
	return rp
}

// jsValue is how a template literal prints a JSON value (present) or
// undefined.
func jsValue(v any, present bool) string {
	switch {
	case !present:
		return "undefined"
	case v == nil:
		return "null"
	}
	if f, ok := v.(float64); ok {
		return jsNumber(f)
	}
	return fmt.Sprint(v)
}

// jsNumber is JavaScript's Number#toString for the numbers a score can be
// (shortest round-trip digits, no exponent below 1e21).
func jsNumber(f float64) string {
	if math.IsNaN(f) {
		return "NaN"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func report(points ...float64) *grade.Report {
	rep := &grade.Report{}
	for i, p := range points {
		r := &grade.Result{Lab: "lab", Task: fmt.Sprintf("t%d", i+1), Title: fmt.Sprintf("Task %d", i+1), Index: i, Tasks: len(points),
			Points: p, MaxPoints: 10, Verdict: grade.OverPermissive, Cells: 10, Correct: 9, Missing: []grade.Cell{}, Leaked: []grade.Cell{}}
		if p == 10 {
			r.Verdict, r.Passed, r.Correct = grade.Pass, true, 10
		}
		rep.Add(r)
	}
	return rep
}

// encodeThroughOutput writes r the way the grade step does under GitHub
// Actions and reads the step output back as the runner would.
func encodeThroughOutput(t *testing.T, r Result) (printed, output string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "github_output")
	if err := os.WriteFile(path, []byte("earlier=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := Write(&out, path, r); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), Output+"="); ok {
			output = v
		}
	}
	return strings.TrimSpace(out.String()), output
}

func TestReporterReadsPoints(t *testing.T) {
	invalid := report(10, 0)
	invalid.Results[1].Verdict, invalid.Results[1].Error = grade.Invalid, "deny-all/p.yaml: not YAML"
	cases := []struct {
		name   string
		rep    *grade.Report
		pass   float64
		notice string
		failed string
		log    []string
	}{
		{"all passed", report(10, 10), 100, "Points 20/20", "",
			[]string{"✅ t1: Task 1", "✅ t2: Task 2", "Total points for netlab: 20.00/20"}},
		{"partial, above the pass mark", report(10, 6.7), 80, "Points 16.7/20", "",
			[]string{"✅ t1: Task 1", "❌ t2: Task 2", "Total points for netlab: 10.00/20"}},
		{"tenths that do not add up in binary", report(0.1, 0.2), 0, "Points 0.3/20", "", nil},
		{"more of them", report(0.7, 0.1, 0.1, 9.9, 3.3), 0, "Points 14.1/50", "", nil},
		{"below the pass mark", report(10, 4.5), 80, "Points 14.5/20", "Some tests failed.", nil},
		{"an answer that cannot be used", invalid, 50, "Points 10/20", "",
			[]string{"✅ t1: Task 1", "Error: " + Message(invalid.Results[1]), "Total points for netlab: 10.00/20"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			printed, output := encodeThroughOutput(t, FromReport(tc.rep, tc.pass))
			if printed != output {
				t.Errorf("printed %q, step output %q", printed, output)
			}
			rp := runReporter(t, "netlab", map[string]string{"NETLAB_RESULTS": output})
			if rp.notice != tc.notice || rp.failed != tc.failed {
				t.Errorf("reporter: notice %q failed %q, want %q %q", rp.notice, rp.failed, tc.notice, tc.failed)
			}
			if want := "Points " + grade.FormatPoints(tc.rep.Points) + "/" + strconv.Itoa(tc.rep.MaxPoints); rp.notice != want {
				t.Errorf("reporter shows %q, netlab's total is %q", rp.notice, want)
			}
			if tc.log != nil && strings.Join(rp.log, "\n") != strings.Join(tc.log, "\n") {
				t.Errorf("job log:\n%s\nwant:\n%s", strings.Join(rp.log, "\n"), strings.Join(tc.log, "\n"))
			}
		})
	}
}

// TestSettle: whatever two tasks score (in tenths), and for a sample of
// three and of up to 20 tasks, the reporter's sum prints netlab's total.
// (Once, all 1,030,301 triples and 300,000 random lists passed too.)
func TestSettle(t *testing.T) {
	check := func(points ...float64) {
		rep := report(points...)
		total := 0.0
		for _, x := range FromReport(rep, 0).Tests {
			total += x.Score
		}
		if got, want := jsNumber(total), grade.FormatPoints(rep.Points); got != want {
			t.Fatalf("scores %v: the reporter would print %s, netlab %s", points, got, want)
		}
	}
	for a := 0; a <= 100; a++ {
		for b := 0; b <= 100; b++ {
			check(float64(a)/10, float64(b)/10)
			if b%7 == 0 {
				for c := 0; c <= 100; c += 3 {
					check(float64(a)/10, float64(b)/10, float64(c)/10)
				}
			}
		}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var points []float64
		for range 1 + rnd.IntN(20) {
			points = append(points, float64(rnd.IntN(201))/10)
		}
		check(points...)
	}
}

func TestErrorResult(t *testing.T) {
	_, output := encodeThroughOutput(t, ErrorResult("default-deny", 20, fmt.Errorf("submission: stat submission: no such file or directory")))
	rp := runReporter(t, "netlab", map[string]string{"NETLAB_RESULTS": output})
	want := []string{"Error: submission: stat submission: no such file or directory", "Total points for netlab: 0.00/20"}
	if rp.failed != "Some tests errored." || rp.notice != "Points 0/20" || strings.Join(rp.log, "\n") != strings.Join(want, "\n") {
		t.Errorf("reporter: %+v", rp)
	}
}

func TestMessageTrimmed(t *testing.T) {
	long := strings.Repeat("é", MessageLimit) // 2 bytes each
	got := trim(long, MessageLimit)
	if len(got) > MessageLimit || !strings.HasSuffix(got, "…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("trim: %d bytes, suffix %q", len(got), got[len(got)-6:])
	}
	if s := "short"; trim(s, MessageLimit) != s {
		t.Errorf("trim changed a short message")
	}
	r := report(5).Results[0]
	r.Verdict = grade.TooStrict
	r.Missing = []grade.Cell{{Cell: "a -> b:80/TCP", Got: "blocked", Expected: "allowed", Why: "no policy admits it", Status: grade.Missing}}
	if want := grade.Headline(r) + "\na -> b:80/TCP: was blocked, expected allowed (no policy admits it)"; Message(r) != want {
		t.Errorf("message:\n%s\nwant:\n%s", Message(r), want)
	}
}
