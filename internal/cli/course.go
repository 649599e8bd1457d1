package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/agent"
	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/course"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/internal/progress"
	"github.com/spf13/cobra"
)

// addCourseCmds adds the learner's session commands to 'netlab lab'.
func addCourseCmds(lab *cobra.Command, s Streams) {
	lab.AddCommand(newLabStartCmd(s), newLabStatusCmd(s), newLabCheckCmd(s),
		newLabHintCmd(s), newLabSolutionCmd(s), newLabResetCmd(s))
}

func newSession(s Streams, timeout time.Duration) (*course.Session, error) {
	st, err := progress.Open()
	if err != nil {
		return nil, err
	}
	return &course.Session{Store: st, Timeout: timeout, Progress: s.Err}, nil
}

func newLabStartCmd(s Streams) *cobra.Command {
	var where string
	cmd := &cobra.Command{
		Use:   "start NAME",
		Short: "Start (or resume) a lab: bring its scenario up and show the current task",
		Long: `start brings the lab's scenario up as the lab "course" and puts it in the
state of your current task. Your place (task, hints, scores) is kept in
$XDG_STATE_HOME/netlab/progress.json, so 'netlab down' and a later start
resume where you were. Starting another lab replaces the running one.

--backend kind runs the lab on a kind cluster (Docker) instead of the
sandbox; you then use kubectl --context kind-course for policies. The
cluster's CoreDNS plays the scenario's kube-dns pod (probes start inside
it from an ephemeral netlab container); labs that need the internet host
run on the sandbox only.`,
		Example: `  sudo netlab lab list
  sudo netlab lab start default-deny
  sudo netlab lab start db-isolation --backend kind`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if os.Geteuid() != 0 {
				return errNeedRoot
			}
			sess, err := newSession(s, agent.DefaultTimeout)
			if err != nil {
				return err
			}
			sess.Backend = where
			pos, err := sess.Start(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			setCurrent(s, sess.Runtime().Name())
			fmt.Fprintf(s.Out, "%s — %s\n\n", pos.Lab.Name, pos.Lab.Title)
			if pos.StartedOver {
				fmt.Fprintf(s.Out, "You finished this lab before (%s of %d points): it starts over at task 1; your best scores are kept.\n\n",
					grade.FormatPoints(pos.Before), pos.Lab.Points())
			}
			return printTask(s, pos, sess.Runtime())
		},
	}
	cmd.Flags().StringVar(&where, "backend", "", "sandbox (network namespaces) or kind (a real cluster, Docker); default: where the course lab runs, else sandbox")
	return cmd
}

// printTask shows the current task's brief and what to do next, as
// commands that name the lab, so they work as printed even when other labs
// run.
func printTask(s Streams, pos course.Position, lab backend.Lab) error {
	if pos.Finished() {
		fmt.Fprintf(s.Out, "Lab %s is finished: %s of %d points.\n", pos.Lab.Name, grade.FormatPoints(pos.Done.Score()), pos.Lab.Points())
		fmt.Fprintf(s.Out, "Review its last task with 'netlab lab solution' and 'netlab lab reset' (no points change); 'netlab lab start %s' starts it over; 'netlab down --name %s' removes the lab.\n", pos.Lab.Name, lab.Name())
		return nil
	}
	t := pos.Task
	fmt.Fprintf(s.Out, "Task %d/%d: %s\n\n%s\n", t.Index+1, len(pos.Lab.Tasks), t.Title, strings.TrimSpace(t.Brief))
	if t.StartYAML != "" {
		fmt.Fprintf(s.Out, "\nIn force when the task starts:\n%s\n", indent(strings.TrimSpace(t.StartYAML)))
	}
	dir, err := progress.DefaultPath()
	if err == nil {
		files, err := course.WriteFiles(filepath.Join(filepath.Dir(dir), "files"), t)
		if err != nil {
			return err
		}
		for _, f := range files {
			fmt.Fprintf(s.Out, "\nFile for this task: %s\n", f)
		}
	}
	fmt.Fprintf(s.Out, "\nNext (the lab is called %s):\n", lab.Name())
	printCommands(s, [][2]string{
		{applyCommand(lab, "my-policy.yaml"), "write policies, apply them"},
		{"netlab probe --name " + lab.Name(), "see what really connects"},
		{"netlab lab check", "grade the task"},
		{"netlab lab hint", "one hint at a time"},
	})
	return nil
}

func indent(s string) string { return "    " + strings.ReplaceAll(s, "\n", "\n    ") }

func newLabStatusCmd(s Streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Where you are: the lab, the current task, the tasks passed and the score",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			sess, err := newSession(s, agent.DefaultTimeout)
			if err != nil {
				return err
			}
			pos, err := sess.Current()
			if err != nil {
				return err
			}
			if output == "json" {
				type task struct {
					Name   string   `json:"name"`
					Title  string   `json:"title"`
					Passed bool     `json:"passed"`
					Points *float64 `json:"points,omitempty"`
					Max    int      `json:"maxPoints"`
				}
				out := struct {
					Lab     string  `json:"lab"`
					Current int     `json:"currentTask"` // 0-based; = len(tasks) when finished
					Score   float64 `json:"score"`
					Max     int     `json:"maxScore"`
					Tasks   []task  `json:"tasks"`
				}{Lab: pos.Lab.Name, Current: pos.Done.Task, Score: pos.Done.Score(), Max: pos.Lab.Points()}
				for _, t := range pos.Lab.Tasks {
					r, ok := pos.Done.Passed[t.Name]
					tt := task{Name: t.Name, Title: t.Title, Passed: ok, Max: t.Points}
					if ok {
						tt.Points = &r.Points
					}
					out.Tasks = append(out.Tasks, tt)
				}
				return grade.WriteJSON(s.Out, out)
			}
			fmt.Fprintf(s.Out, "%s — %s: %s of %d points\n", pos.Lab.Name, pos.Lab.Title, grade.FormatPoints(pos.Done.Score()), pos.Lab.Points())
			for _, t := range pos.Lab.Tasks {
				mark := " "
				if r, ok := pos.Done.Passed[t.Name]; ok {
					mark = "✓"
					fmt.Fprintf(s.Out, "  %s %d. %-40s %s/%d\n", mark, t.Index+1, t.Title, grade.FormatPoints(r.Points), t.Points)
					continue
				}
				if pos.Task == t {
					mark = "→"
				}
				fmt.Fprintf(s.Out, "  %s %d. %-40s  -/%d\n", mark, t.Index+1, t.Title, t.Points)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func newLabCheckCmd(s Streams) *cobra.Command {
	var output string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Probe the lab for real and grade the current task",
		Long: `check sends real packets between every pair of pods (as 'netlab probe'
does) and compares each cell with what the task expects. Every wrong cell is
listed with the engine's explanation: flows the task needs that are blocked
(too strict) and flows that should be blocked but got through
(over-permissive: least privilege is graded). On a pass the next task
starts. Exit status 1 when the task does not pass yet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if os.Geteuid() != 0 {
				return errNeedRoot
			}
			sess, err := newSession(s, timeout)
			if err != nil {
				return err
			}
			res, _, err := sess.Check(cmd.Context())
			if err != nil {
				return err
			}
			var next course.Position
			if res.Passed {
				if next, _, err = sess.Next(cmd.Context()); err != nil {
					return err
				}
			}
			if output == "json" {
				if err := grade.WriteJSON(s.Out, res); err != nil {
					return err
				}
			} else {
				if err := grade.WriteText(s.Out, res); err != nil {
					return err
				}
				if res.Passed {
					fmt.Fprintln(s.Out)
					if err := printTask(s, next, sess.Runtime()); err != nil {
						return err
					}
				}
			}
			if !res.Passed {
				return ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	addTimeoutFlag(cmd, &timeout, "")
	return cmd
}

func newLabHintCmd(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "hint",
		Short: "Reveal the current task's next hint",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sess, err := newSession(s, agent.DefaultTimeout)
			if err != nil {
				return err
			}
			text, n, of, err := sess.Hint()
			if errors.Is(err, course.ErrNoMoreHints) {
				fmt.Fprintf(s.Out, "No more hints: all %d of this task are shown ('netlab lab solution' shows the reference solution; the task then earns no points).\n", of)
				return nil
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(s.Out, "Hint %d/%d: %s\n", n, of, strings.TrimSpace(text))
			return nil
		},
	}
}

func newLabSolutionCmd(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "solution",
		Short: "Show the reference solution of the current task (the task then earns no points)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sess, err := newSession(s, agent.DefaultTimeout)
			if err != nil {
				return err
			}
			pos, err := sess.Current()
			if err != nil {
				return err
			}
			t, err := sess.Solution()
			if err != nil {
				return err
			}
			if pos.Finished() {
				fmt.Fprintf(s.Err, "# lab %s is finished: reviewing the reference solution of its last task costs no points\n", pos.Lab.Name)
			}
			how := "netlab lab solution | " + applyCommand(sess.Runtime(), "-")
			fmt.Fprintf(s.Err, "# reference solution of %s (apply it with: %s)\n", t.ID(), how)
			if len(t.Remove) > 0 {
				fmt.Fprintf(s.Err, "# it also deletes: %s\n", strings.Join(t.Remove, ", "))
			}
			fmt.Fprintln(s.Out, strings.TrimSpace(t.SolutionYAML))
			return nil
		},
	}
}

func newLabResetCmd(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "reset",
		Short: "Restore the current task's starting policies and labels (your policies are removed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if os.Geteuid() != 0 {
				return errNeedRoot
			}
			sess, err := newSession(s, agent.DefaultTimeout)
			if err != nil {
				return err
			}
			pos, err := sess.Reset(cmd.Context())
			if err != nil {
				return err
			}
			if pos.Finished() {
				fmt.Fprintf(s.Out, "Lab %s is finished; its last task is back at its start, for review.\n", pos.Lab.Name)
				return nil
			}
			fmt.Fprintf(s.Out, "Task %d/%d of %s is back at its start.\n", pos.Task.Index+1, len(pos.Lab.Tasks), pos.Lab.Name)
			return nil
		},
	}
}
