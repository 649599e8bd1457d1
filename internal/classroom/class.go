package classroom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/internal/course"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/labs"
)

// Options shape grading a class.
type Options struct {
	// Jobs is how many students are graded at once, each in their own
	// lab (default: the number of CPUs).
	Jobs int
	// Backend, Self and Timeout are course.GradeOptions'.
	Backend string
	Self    string
	Timeout time.Duration
	// Limits bound what is read of each submission (zero value:
	// course.DefaultLimits).
	Limits course.Limits
	// Instance prefixes the labs' names: <Instance>-<n> (default
	// "class<pid>"), unique to this run so that classes graded side by
	// side do not meet.
	Instance string
	// Progress receives one line per student when their grade is in
	// (nil: quiet).
	Progress io.Writer
}

// Class is a whole class's grades for one lab.
type Class struct {
	Lab   string `json:"lab"`
	Title string `json:"title"`
	// Tasks are the lab's tasks in order.
	Tasks     []Task `json:"tasks"`
	MaxPoints int    `json:"maxPoints"`
	// Students are sorted by name.
	Students []*Student `json:"students"`
	// Skipped are entries of the class directory that are not a
	// submission (files, symlinks, hidden directories), with why.
	Skipped []string `json:"skipped"`
}

// Task is one task of the graded lab.
type Task struct {
	Name      string `json:"name"`
	Title     string `json:"title"`
	MaxPoints int    `json:"maxPoints"`
}

// Student is one submission's grade.
type Student struct {
	Name string `json:"student"`
	// Report is the grade, one result per task in the lab's order (nil
	// when Error is set).
	Report *grade.Report `json:"report"`
	// Errors are the tasks whose answer could not be read or applied,
	// by task name (those tasks score 0).
	Errors map[string]string `json:"errors"`
	// Error is why this submission could not be graded at all (the lab
	// did not come up, the directory cannot be read); it scores nothing
	// and says nothing about the student.
	Error string `json:"error,omitempty"`
	// Duration is how long grading this submission took.
	Duration time.Duration `json:"-"`
}

// Points is the student's score (0 when grading failed).
func (s *Student) Points() float64 {
	if s.Report == nil {
		return 0
	}
	return s.Report.Points
}

// SubmissionDir is where an assignment repository (assets/classroom)
// holds the submission.
const SubmissionDir = "submission"

// Grade grades every submission DIR/<student>/ (or, for a clone of the
// assignment repository, DIR/<student>/submission/) against lab l: each in a
// fresh lab of its own, o.Jobs at a time, with course.ReadSubmission and
// course.Grade (every lab is torn down when its grade is in, on error too).
// When ctx is cancelled no new submission starts, the running ones stop
// and tear down their labs, and Grade returns ctx's error with the grades
// that were finished.
func Grade(ctx context.Context, l *labs.Lab, dir string, o Options) (*Class, error) {
	names, skipped, err := Students(dir)
	if err != nil {
		return nil, err
	}
	c := &Class{Lab: l.Name, Title: l.Title, MaxPoints: l.Points(), Skipped: skipped, Students: []*Student{}}
	for _, t := range l.Tasks {
		c.Tasks = append(c.Tasks, Task{Name: t.Name, Title: t.Title, MaxPoints: t.Points})
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	prefix := o.Instance
	if prefix == "" {
		prefix = fmt.Sprintf("class%d", os.Getpid()%100000)
	}
	out := make([]*Student, len(names))
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex // o.Progress
	for range min(jobs, len(names)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				s := gradeOne(ctx, l, names[i], filepath.Join(dir, names[i]), fmt.Sprintf("%s-%d", prefix, i), o)
				out[i] = s
				if o.Progress != nil {
					mu.Lock()
					fmt.Fprintln(o.Progress, summaryLine(s, c.MaxPoints))
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for i := range names {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	for _, s := range out {
		if s != nil {
			c.Students = append(c.Students, s)
		}
	}
	return c, ctx.Err()
}

func gradeOne(ctx context.Context, l *labs.Lab, name, dir, instance string, o Options) *Student {
	start := time.Now()
	s := &Student{Name: name, Errors: map[string]string{}}
	defer func() { s.Duration = time.Since(start) }()
	lim := o.Limits
	if lim == (course.Limits{}) {
		lim = course.DefaultLimits
	}
	answers, err := course.ReadSubmissionLimits(submissionDir(dir), l, lim)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	rep, errs, err := course.Grade(ctx, l, answers, course.GradeOptions{Backend: o.Backend, Instance: instance, Self: o.Self, Timeout: o.Timeout})
	if err != nil {
		s.Error = err.Error()
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			s.Error = "interrupted: " + s.Error
		}
		return s
	}
	s.Report = rep
	for t, e := range errs {
		s.Errors[t] = e.Error()
	}
	return s
}

// submissionDir is a student's submission: their directory, or its
// submission/ when it is a clone of the assignment repository (never
// through a symlink).
func submissionDir(dir string) string {
	if fi, err := os.Lstat(filepath.Join(dir, SubmissionDir)); err == nil && fi.IsDir() {
		return filepath.Join(dir, SubmissionDir)
	}
	return dir
}

// Students lists the submissions in a class directory: its
// subdirectories, sorted. Hidden entries, files and symlinks are skipped
// (a symlink could lead a submission anywhere) and listed with why.
func Students(dir string) (names, skipped []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("class: %w", err)
	}
	skipped = []string{}
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e.Name(), "."):
			skipped = append(skipped, e.Name()+": hidden")
		case e.Type()&os.ModeSymlink != 0:
			skipped = append(skipped, e.Name()+": a symlink, not a submission directory")
		case !e.IsDir():
			skipped = append(skipped, e.Name()+": not a directory")
		default:
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("class %s: no submissions (want one directory per student)", dir)
	}
	return names, skipped, nil
}

// summaryLine is one student's line: points, tasks passed, and what went
// wrong.
func summaryLine(s *Student, max int) string {
	if s.Error != "" {
		return fmt.Sprintf("%-20s  error: %s", s.Name, s.Error)
	}
	r := s.Report
	line := fmt.Sprintf("%-20s %5s/%d  %d/%d tasks passed  %5.1fs", s.Name, grade.FormatPoints(r.Points), max, r.Passed, len(r.Results), s.Duration.Seconds())
	var notes []string
	for _, res := range r.Results {
		if !res.Passed {
			notes = append(notes, fmt.Sprintf("%s %s", res.Task, res.Verdict))
		}
	}
	if len(notes) > 0 {
		line += "  (" + strings.Join(notes, ", ") + ")"
	}
	return line
}

// WriteSummary prints the per-student summary: one line each, then the
// class's average.
func WriteSummary(w io.Writer, c *Class) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Lab %s: %d students, %d tasks, %d points\n", c.Lab, len(c.Students), len(c.Tasks), c.MaxPoints)
	sum, graded := 0.0, 0
	for _, s := range c.Students {
		b.WriteString(summaryLine(s, c.MaxPoints))
		b.WriteByte('\n')
		if s.Error == "" {
			sum += s.Points()
			graded++
		}
	}
	for _, sk := range c.Skipped {
		fmt.Fprintf(&b, "skipped %s\n", sk)
	}
	if graded > 0 {
		fmt.Fprintf(&b, "Average: %s/%d over %d graded submissions\n", grade.FormatPoints(sum/float64(graded)), c.MaxPoints, graded)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Failed lists the students whose grading could not run.
func (c *Class) Failed() []string {
	var out []string
	for _, s := range c.Students {
		if s.Error != "" {
			out = append(out, s.Name)
		}
	}
	return out
}
