package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/course"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/labs"
	"github.com/spf13/cobra"
)

func newGradeCmd(s Streams) *cobra.Command {
	var labName, submission, output, junitFile, where string
	var pass float64
	var timeout time.Duration
	var class classFlags
	lim := course.DefaultLimits
	cmd := &cobra.Command{
		Use:   "grade --lab NAME (--submission DIR | --class DIR)",
		Short: "Grade a submission in a fresh lab: every task, real probes, a score (for classroom CI)",
		Long: `grade brings the lab up fresh in the sandbox and, task by task, enters the
task's starting state, applies the submission's answer, probes every cell
and grades it against the expectations compiled into netlab (a submission
cannot change them). Each task earns its points in proportion to the cells
that matter for it; a task passes only when every cell is right.

Submission layout: DIR/<task name>/ (or DIR/<task number>/) holds the
NetworkPolicies for that task, applied on top of the task's starting
policies (same namespace/name replaces); a remove.txt there lists starting
policies to delete (namespace/name per line). Tasks without a directory use
the manifests directly in DIR. Only NetworkPolicy objects are accepted.

With -o classroom it prints what GitHub Classroom's autograding reporter
reads (base64 JSON, one test per task with its points) and, under GitHub
Actions, makes it the step output "result"; the readable report goes to
stderr. See assets/classroom/.

--class DIR grades every DIR/<student>/ submission (or its submission/, as
in a clone of the assignment repository), each in its own lab, -j at a
time, prints a summary per student (or -o json) and writes --csv (one row
per student and task) and --html (a self-contained report: a heatmap of
students x tasks and the flows most students get wrong). Its exit status
is 1 when a submission could not be graded at all.

A submission is treated as hostile input: nothing outside DIR is read (a
task directory, manifest or remove.txt that is a symlink leading out of DIR
is refused), only regular files are read (a FIFO is refused at once), and
errors quote only a short, sanitised excerpt of the submission's files.
Limits (a task whose answer exceeds one scores 0, with the reason): each
file at most --max-file-size (default 1Mi), all files read at most
--max-submission-size (default 8Mi), at most --max-files files (default
1000) and entries in any directory.

An interrupted grade (SIGINT, SIGTERM, SIGHUP, SIGPIPE) tears down its lab
and exits with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).

The exit status is 1 when the score is below --pass percent of the maximum
(a task whose answer cannot be read or applied scores 0 and is reported),
and 1 with an error message when grading itself cannot run.`,
		Example: `  sudo netlab grade --lab default-deny --submission ./submission -o junit > report.xml
  sudo netlab grade --lab db-isolation --submission . --pass 80 --junit report.xml
  sudo netlab grade --lab default-deny --class ./class -j 2 --csv class.csv --html class.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json", "junit", "classroom"); err != nil {
				return err
			}
			if labName == "" || (submission == "") == (class.dir == "") {
				return fmt.Errorf("--lab and one of --submission or --class are required (labs: %s)", strings.Join(labNames(), ", "))
			}
			if pass < 0 || pass > 100 {
				return fmt.Errorf("--pass %v: want a percentage from 0 to 100", pass)
			}
			l, err := labs.Get(labName)
			if err != nil {
				return err
			}
			if lim.MaxFiles <= 0 {
				return fmt.Errorf("--max-files %d: want a positive number", lim.MaxFiles)
			}
			if class.dir == "" && (class.csv != "" || class.html != "" || class.jobs != 0) {
				return fmt.Errorf("--csv, --html and -j go with --class")
			}
			if class.dir != "" {
				if junitFile != "" {
					return fmt.Errorf("--junit is for one --submission; --class writes --csv and --html")
				}
				return gradeClass(cmd.Context(), s, l, class, output, where, timeout, lim)
			}
			answers, err := course.ReadSubmissionLimits(submission, l, lim)
			if err != nil {
				return classroomFailed(s, output, l, err)
			}
			if os.Geteuid() != 0 {
				return classroomFailed(s, output, l, errNeedRoot)
			}
			fmt.Fprintf(s.Err, "Grading %s against lab %s (%d tasks)\n", submission, l.Name, len(l.Tasks))
			for _, a := range answers {
				for _, n := range a.Notes {
					fmt.Fprintf(s.Err, "task %s: note: %s\n", a.Task.Name, n)
				}
			}
			ctx, stop := onInterrupt(cmd.Context())
			defer stop()
			rep, errs, err := course.Grade(ctx, l, answers, course.GradeOptions{Backend: where, Timeout: timeout, Progress: s.Err})
			stop()
			var intr interrupted
			if errors.As(context.Cause(ctx), &intr) {
				ignoreInterrupts()
				if err != nil && (errors.Is(err, course.ErrTeardown) || !errors.Is(err, intr)) {
					fmt.Fprintf(s.Err, "grade: %v; %v\n", intr, err)
				} else {
					fmt.Fprintf(s.Err, "grade: %v: its lab is torn down\n", intr)
				}
				return ExitError{Code: intr.exitCode()}
			}
			if err != nil {
				return classroomFailed(s, output, l, err)
			}
			var names []string
			for n := range errs {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(s.Err, "task %s: %v\n", n, errs[n])
			}
			if junitFile != "" {
				f, err := os.Create(junitFile)
				if err != nil {
					return err
				}
				if err := grade.WriteJUnit(f, "netlab "+l.Name, rep.Results...); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
			}
			percent := 0.0
			if rep.MaxPoints > 0 {
				percent = 100 * rep.Points / float64(rep.MaxPoints)
			}
			switch output {
			case "json":
				out := struct {
					*grade.Report
					Percent float64           `json:"percent"`
					Pass    float64           `json:"passPercent"`
					Errors  map[string]string `json:"errors"`
				}{Report: rep, Percent: percent, Pass: pass, Errors: map[string]string{}}
				for n, e := range errs {
					out.Errors[n] = e.Error()
				}
				if err := grade.WriteJSON(s.Out, out); err != nil {
					return err
				}
			case "classroom":
				if err := writeClassroom(s.Out, s.Err, rep, pass); err != nil {
					return err
				}
			case "junit":
				if err := grade.WriteJUnit(s.Out, "netlab "+l.Name, rep.Results...); err != nil {
					return err
				}
			default:
				for _, r := range rep.Results {
					if err := grade.WriteText(s.Out, r); err != nil {
						return err
					}
					fmt.Fprintln(s.Out)
				}
				fmt.Fprintf(s.Out, "Score: %s/%d (%.0f%%), %d of %d tasks passed; pass mark %.0f%%\n",
					grade.FormatPoints(rep.Points), rep.MaxPoints, percent, rep.Passed, len(rep.Results), pass)
			}
			if percent < pass {
				return ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&where, "backend", backend.Sandbox, "where to run the lab: sandbox, or kind (a fresh kind cluster; Docker)")
	cmd.Flags().StringVar(&labName, "lab", "", "the lab to grade against (see 'netlab lab list')")
	cmd.Flags().StringVar(&submission, "submission", "", "directory with the submitted policies")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json, junit or classroom (GitHub Classroom's reporter)")
	cmd.Flags().StringVar(&class.dir, "class", "", "grade every DIR/<student>/ submission of a class")
	cmd.Flags().IntVarP(&class.jobs, "jobs", "j", 0, "with --class: labs graded at once (default: one per CPU)")
	cmd.Flags().StringVar(&class.csv, "csv", "", "with --class: write one row per student and task to this file")
	cmd.Flags().StringVar(&class.html, "html", "", "with --class: write the HTML report to this file")
	cmd.Flags().StringVar(&junitFile, "junit", "", "also write the JUnit report to this file")
	cmd.Flags().Float64Var(&pass, "pass", 100, "pass mark in percent of the maximum score")
	addTimeoutFlag(cmd, &timeout, "")
	cmd.Flags().Var(sizeFlag{&lim.MaxFileSize}, "max-file-size", "largest file of the submission read (a Kubernetes quantity: 1Mi, 512Ki)")
	cmd.Flags().Var(sizeFlag{&lim.MaxSubmissionSize}, "max-submission-size", "most bytes read of the whole submission")
	cmd.Flags().IntVar(&lim.MaxFiles, "max-files", lim.MaxFiles, "most files read of the submission, and entries of any directory in it")
	return cmd
}

func labNames() []string {
	all, err := labs.List()
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range all {
		out = append(out, l.Name)
	}
	return out
}
