package cli

import (
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
	cmd := &cobra.Command{
		Use:   "grade --lab NAME --submission DIR",
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

The exit status is 1 when the score is below --pass percent of the maximum
(a task whose answer cannot be read or applied scores 0 and is reported),
and 1 with an error message when grading itself cannot run.`,
		Example: `  sudo netlab grade --lab default-deny --submission ./submission -o junit > report.xml
  sudo netlab grade --lab db-isolation --submission . --pass 80 --junit report.xml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json", "junit"); err != nil {
				return err
			}
			if labName == "" || submission == "" {
				return fmt.Errorf("--lab and --submission are required (labs: %s)", strings.Join(labNames(), ", "))
			}
			if pass < 0 || pass > 100 {
				return fmt.Errorf("--pass %v: want a percentage from 0 to 100", pass)
			}
			l, err := labs.Get(labName)
			if err != nil {
				return err
			}
			answers, err := course.ReadSubmission(submission, l)
			if err != nil {
				return err
			}
			if os.Geteuid() != 0 {
				return errNeedRoot
			}
			fmt.Fprintf(s.Err, "Grading %s against lab %s (%d tasks)\n", submission, l.Name, len(l.Tasks))
			rep, errs, err := course.Grade(cmd.Context(), l, answers, course.GradeOptions{Backend: where, Timeout: timeout, Progress: s.Err})
			if err != nil {
				return err
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
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json or junit")
	cmd.Flags().StringVar(&junitFile, "junit", "", "also write the JUnit report to this file")
	cmd.Flags().Float64Var(&pass, "pass", 100, "pass mark in percent of the maximum score")
	addTimeoutFlag(cmd, &timeout, "")
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
