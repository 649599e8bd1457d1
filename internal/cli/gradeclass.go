package cli

import (
	"context"
	"fmt"
	"github.com/netlab/netlab/internal/course"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/netlab/netlab/internal/classroom"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/labs"
)

// classFlags are grade's flags for a whole class.
type classFlags struct {
	dir, csv, html string
	jobs           int
}

// gradeClass grades every submission in f.dir (netlab grade --class) and
// writes the summary (or JSON), the CSV and the HTML report. Ctrl-C stops
// it: the labs running are torn down and the reports hold the students
// graded so far. The exit status is 1 when some submission could not be
// graded at all.
func gradeClass(ctx context.Context, s Streams, l *labs.Lab, f classFlags, output, where string, timeout time.Duration, lim course.Limits) error {
	if output != "text" && output != "json" {
		return fmt.Errorf("--class writes text or json (-o %s is for one --submission); the CSV and HTML reports are --csv and --html", output)
	}
	if f.jobs < 0 {
		return fmt.Errorf("-j %d: want a number of parallel labs, at least 1 (0: one per CPU)", f.jobs)
	}
	if os.Geteuid() != 0 {
		return errNeedRoot
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(s.Err, "Grading the class in %s against lab %s (%d tasks)\n", f.dir, l.Name, len(l.Tasks))
	c, err := classroom.Grade(ctx, l, f.dir, classroom.Options{Jobs: f.jobs, Backend: where, Timeout: timeout, Limits: lim, Progress: s.Err})
	if c == nil {
		return err
	}
	if err != nil {
		fmt.Fprintf(s.Err, "interrupted: the reports hold the %d submissions graded before\n", len(c.Students)-len(c.Failed()))
	}
	if werr := writeClassReports(s.Out, c, f, output); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if failed := c.Failed(); len(failed) > 0 {
		return fmt.Errorf("%d submission(s) could not be graded: %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

func writeClassReports(out io.Writer, c *classroom.Class, f classFlags, output string) error {
	for _, r := range []struct {
		path  string
		write func(io.Writer, *classroom.Class) error
	}{{f.csv, classroom.WriteCSV}, {f.html, classroom.WriteHTML}} {
		if r.path == "" {
			continue
		}
		if err := writeFile(r.path, func(w io.Writer) error { return r.write(w, c) }); err != nil {
			return err
		}
	}
	if output == "json" {
		return classroom.WriteJSON(out, c)
	}
	return classroom.WriteSummary(out, c)
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// writeClassroom prints the result GitHub Classroom's reporter reads and
// makes it the step output when $GITHUB_OUTPUT is set; the readable report
// goes to errOut (the job log).
func writeClassroom(out, errOut io.Writer, rep *grade.Report, pass float64) error {
	if err := grade.WriteReportText(errOut, rep); err != nil {
		return err
	}
	return classroom.Write(out, os.Getenv("GITHUB_OUTPUT"), classroom.FromReport(rep, pass))
}

// classroomFailed, with -o classroom, reports err as an "error" result
// (so the reporter shows it and fails the job) and returns err.
func classroomFailed(s Streams, output string, l *labs.Lab, err error) error {
	if output == "classroom" {
		if werr := classroom.Write(s.Out, os.Getenv("GITHUB_OUTPUT"), classroom.ErrorResult(l.Name, l.Points(), err)); werr != nil {
			return fmt.Errorf("%w (and writing the classroom result: %v)", err, werr)
		}
	}
	return err
}
