package classroom

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/course"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/testenv"
	"github.com/netlab/netlab/labs"
)

var update = flag.Bool("update", false, "rewrite the golden files (then check them by hand)")

var self string

func TestMain(m *testing.M) { testenv.Main(m, &self) }

// gradeClass grades dir for real, in sandbox labs named after this test
// process, and checks that none is left behind.
func gradeClass(t *testing.T, dir string, jobs int) *Class {
	t.Helper()
	testenv.RequireRoot(t)
	l, err := labs.Get("default-deny")
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("t%d-cls", os.Getpid()%10000)
	c, err := Grade(context.Background(), l, dir, Options{Jobs: jobs, Self: self, Timeout: 500 * time.Millisecond, Instance: prefix})
	names, _, _ := Students(dir)
	for i := range names {
		if left := sandbox.Leftovers(fmt.Sprintf("%s-%d", prefix, i)); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update, then check it by hand):\n%s", name, got)
	}
}

// TestSampleClass grades testdata/class (good, partial, over-permissive,
// invalid, hostile and empty submissions) in real labs, two at a time:
// the CSV and JSON match goldens checked by hand, and every student's
// Classroom result decodes, the reporter's way, to their points.
func TestSampleClass(t *testing.T) {
	c := gradeClass(t, "testdata/class", 2)
	want := map[string]string{"alice": "20", "bob": "13.3", "carol": "5", "dave": "0", "eve": "5", "frank": "0"}
	if len(c.Students) != len(want) || len(c.Failed()) > 0 {
		t.Fatalf("%d students graded, failed: %v", len(c.Students), c.Failed())
	}
	for _, s := range c.Students {
		if got := grade.FormatPoints(s.Points()); got != want[s.Name] {
			t.Errorf("%s: %s points, want %s", s.Name, got, want[s.Name])
		}
		out, err := FromReport(s.Report, 80).Encode()
		if err != nil {
			t.Fatal(err)
		}
		rp := runReporter(t, "netlab", map[string]string{"NETLAB_RESULTS": out})
		if w := "Points " + want[s.Name] + "/20"; rp.notice != w {
			t.Errorf("%s: the reporter shows %q, want %q", s.Name, rp.notice, w)
		}
	}
	var csv, js bytes.Buffer
	if err := WriteCSV(&csv, c); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, c); err != nil {
		t.Fatal(err)
	}
	golden(t, "class.csv", csv.Bytes())
	golden(t, "class.json", js.Bytes())
}

// TestDeterministic grades one partial, over-permissive submission many
// times (NETLAB_DETERMINISM_RUNS, default 10), each in a fresh lab: every
// grade is the same, cell for cell.
func TestDeterministic(t *testing.T) {
	runs := 10
	if v := os.Getenv("NETLAB_DETERMINISM_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			t.Fatalf("NETLAB_DETERMINISM_RUNS=%q: want a number of runs, at least 2", v)
		}
		runs = n
	}
	dir := t.TempDir()
	for i := range runs {
		copyTree(t, "testdata/class/bob", filepath.Join(dir, fmt.Sprintf("run%03d", i)))
	}
	c := gradeClass(t, dir, 0)
	if len(c.Students) != runs || len(c.Failed()) > 0 {
		t.Fatalf("%d graded, failed: %v", len(c.Students), c.Failed())
	}
	first, _ := json.Marshal(c.Students[0].Report)
	for _, s := range c.Students[1:] {
		if got, _ := json.Marshal(s.Report); !bytes.Equal(got, first) {
			t.Errorf("%s graded differently:\n%s\nfirst:\n%s", s.Name, got, first)
		}
	}
	if p := c.Students[0].Points(); p != 13.3 {
		t.Errorf("%v points, want 13.3", p)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(to, strings.TrimPrefix(path, from))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestClassLimits checks that --class reads every submission within the
// limits it is given (grade's --max-file-size and friends), not only within
// the defaults: with a 16-byte file limit no submission with a policy can
// be read, and the task's (or student's) error names the flag.
func TestClassLimits(t *testing.T) {
	testenv.RequireRoot(t)
	l, err := labs.Get("default-deny")
	if err != nil {
		t.Fatal(err)
	}
	lim := course.Limits{MaxFileSize: 16, MaxSubmissionSize: 1 << 20, MaxFiles: 100}
	c, err := Grade(context.Background(), l, "testdata/class", Options{Jobs: 1, Self: self, Timeout: 500 * time.Millisecond,
		Instance: fmt.Sprintf("t%d-lim", os.Getpid()%10000), Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, s := range c.Students {
		if strings.Contains(s.Error, "--max-file-size") {
			refused++
		}
		for _, e := range s.Errors {
			if strings.Contains(e, "--max-file-size") {
				refused++
			}
		}
	}
	if refused == 0 {
		t.Fatalf("no student was refused for a file over 16 bytes: the limits were not used (%d students)", len(c.Students))
	}
}
