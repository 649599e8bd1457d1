package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/course"
	"github.com/netlab/netlab/labs"
	"github.com/spf13/cobra"
)

// newLabCmd is "netlab lab": the embedded course.
func newLabCmd(s Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "The NetworkPolicy course: start a lab, check tasks with real probes, hints, progress",
		Long: `Each lab runs in a scenario and is a list of tasks: a short brief, the
reachability the task expects, hints, a reference solution and an
explanation. Expectations are compiled into netlab, never read from your
files, so a submission cannot grade itself.

A session: 'lab start NAME' brings the lab up, you apply policies
('netlab apply -f', or kubectl on kind), 'lab check' probes and grades the
current task (least privilege included), 'lab hint' reveals one hint at a
time. Your place is saved and survives 'netlab down'. 'netlab tui' is the
same course in a terminal UI; 'netlab grade' grades a whole submission.`,
		Example: `  netlab lab list
  sudo netlab lab start default-deny
  sudo netlab apply -f deny.yaml && sudo netlab lab check`,
	}
	cmd.AddCommand(newLabListCmd(s), newLabLintCmd(s))
	addCourseCmds(cmd, s)
	return cmd
}

func newLabListCmd(s Streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the labs and their tasks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			all, err := labs.List()
			if err != nil {
				return err
			}
			if output == "json" {
				type task struct {
					Name     string        `json:"name"`
					Title    string        `json:"title"`
					Points   int           `json:"points"`
					Enforcer labs.Enforcer `json:"enforcer"`
					Observe  bool          `json:"observe,omitempty"`
				}
				type lab struct {
					Name     string `json:"name"`
					Title    string `json:"title"`
					Summary  string `json:"summary"`
					Scenario string `json:"scenario"`
					Points   int    `json:"points"`
					Tasks    []task `json:"tasks"`
				}
				out := []lab{}
				for _, l := range all {
					x := lab{Name: l.Name, Title: l.Title, Summary: l.Summary, Scenario: l.Scenario, Points: l.Points(), Tasks: []task{}}
					for _, t := range l.Tasks {
						x.Tasks = append(x.Tasks, task{t.Name, t.Title, t.Points, t.Enforcer, t.Observe})
					}
					out = append(out, x)
				}
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			width := 0
			for _, l := range all {
				width = max(width, len(l.Name))
			}
			for i, l := range all {
				fmt.Fprintf(s.Out, "%2d  %-*s  %s  (%s, %d task%s)\n", i+1, width, l.Name, l.Title, l.Scenario, len(l.Tasks), labPlural(len(l.Tasks)))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func labPlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func newLabLintCmd(s Streams) *cobra.Command {
	var useSandbox bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "lint [LAB...]",
		Short: "Check that every task's reference solution gives exactly its expected matrix",
		Long: `lint checks each lab (all of them by default). Through the engine, always:
the reference solution of every task must produce exactly the task's
expected matrix, and the task's starting state must not already pass. With
--sandbox (root) each lab is also brought up in the sandbox under a unique
name, every task's reference solution is applied and probed with real
packets, and the measurement must match; the lab is torn down afterwards.`,
		Example: `  netlab lab lint
  sudo netlab lab lint --sandbox db-isolation`,
		RunE: func(cmd *cobra.Command, args []string) error {
			all, err := labs.List()
			if err != nil {
				return err
			}
			chosen := all
			if len(args) > 0 {
				chosen = nil
				for _, a := range args {
					l, err := labs.Get(a)
					if err != nil {
						return err
					}
					chosen = append(chosen, l)
				}
			}
			if useSandbox && os.Geteuid() != 0 {
				return errNeedRoot
			}
			bad := 0
			for i, l := range chosen {
				start := time.Now()
				probs := l.Lint()
				for _, p := range probs {
					fmt.Fprintf(s.Out, "✗ %s\n", p)
				}
				bad += len(probs)
				fmt.Fprintf(s.Out, "%s engine: %d task%s, %d problem%s (%s)\n", l.Name, len(l.Tasks), labPlural(len(l.Tasks)),
					len(probs), labPlural(len(probs)), time.Since(start).Round(time.Microsecond))
				if !useSandbox {
					continue
				}
				start = time.Now()
				name := fmt.Sprintf("lint%d-%d", os.Getpid()%100000, i)
				rt, err := backend.New(backend.Sandbox, name, "")
				if err != nil {
					return err
				}
				res, err := course.Lint(cmd.Context(), rt, l, timeout, s.Err)
				if err != nil {
					fmt.Fprintf(s.Out, "✗ %s sandbox: %v\n", l.Name, err)
					bad++
					continue
				}
				for _, r := range res {
					if r.OK {
						continue
					}
					bad++
					var cells []string
					for _, c := range append(append(r.Result.Missing, r.Result.Leaked...), r.Result.Unmeasured...) {
						cells = append(cells, fmt.Sprintf("%s was %s, expected %s", c.Cell, c.Got, c.Expected))
					}
					fmt.Fprintf(s.Out, "✗ %s: on the sandbox the reference solution gives: %s\n", r.Task, strings.Join(cells, "; "))
				}
				fmt.Fprintf(s.Out, "%s sandbox: %d task%s probed (%s)\n", l.Name, len(res), labPlural(len(res)), time.Since(start).Round(time.Millisecond))
			}
			if bad > 0 {
				fmt.Fprintf(s.Out, "%d problem%s\n", bad, labPlural(bad))
				return ExitError{Code: 1}
			}
			fmt.Fprintf(s.Out, "%d lab%s OK\n", len(chosen), labPlural(len(chosen)))
			return nil
		},
	}
	cmd.Flags().BoolVar(&useSandbox, "sandbox", false, "also apply each reference solution in a sandbox lab and probe it (root)")
	addTimeoutFlag(cmd, &timeout, "with --sandbox")
	return cmd
}
