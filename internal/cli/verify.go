package cli

import (
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/netlab/netlab/internal/junit"
	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
)

// Finding is one cell where the measured dataplane and the expectation
// disagree, with the engine's explanation.
type Finding struct {
	Cell        string `json:"cell"`
	Measured    string `json:"measured"`
	Expected    string `json:"expected"`
	Detail      string `json:"detail,omitempty"`
	Explanation string `json:"explanation"`
	// Kernel is what the enforcer itself reported for the cell (--why).
	Kernel []string `json:"kernel,omitempty"`
}

// VerifyReport is what verify prints with -o json.
type VerifyReport struct {
	Lab        string    `json:"lab"`
	Cells      int       `json:"cells"`
	Mismatches int       `json:"mismatches"`
	Findings   []Finding `json:"findings"`
}

func newVerifyCmd(s Streams) *cobra.Command {
	var lab labFlag
	var pf probeFlags
	var output string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Probe the lab and compare every cell with what the applied policies say",
		Long: `verify probes the real matrix and compares it with the engine's prediction
for the policies applied in the lab. Every disagreeing cell is printed with
the engine's explanation of what should have happened; the exit status is
1 if any cell disagrees. -o junit writes one test case per cell for CI.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json", "junit"); err != nil {
				return err
			}
			b, err := lab.find()
			if err != nil {
				return err
			}
			got, err := b.Probe(cmd.Context(), pf.options())
			if err != nil {
				return err
			}
			w, err := b.World(cmd.Context())
			if err != nil {
				return err
			}
			rep := compare(b.Name(), w, got)
			if !b.Enforcing() && output == "text" {
				fmt.Fprintln(s.Out, "note: this lab does not enforce policies (--enforcer none): every policy below is stored and ignored")
			}
			switch output {
			case "json":
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			case "junit":
				if err := writeJUnit(s, rep, got); err != nil {
					return err
				}
			default:
				for _, f := range rep.Findings {
					fmt.Fprintf(s.Out, "✗ %s was %s; expected %s%s\n    %s\n", f.Cell, f.Measured, f.Expected, paren(f.Detail), f.Explanation)
					for _, k := range f.Kernel {
						fmt.Fprintf(s.Out, "    kernel: %s\n", k)
					}
				}
				fmt.Fprintf(s.Out, "%d cells, %d mismatches\n", rep.Cells, rep.Mismatches)
			}
			if rep.Mismatches > 0 {
				return ExitError{Code: 1}
			}
			return nil
		},
	}
	lab.add(cmd)
	pf.add(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text, json or junit")
	return cmd
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

func verdict(allowed bool) string {
	if allowed {
		return "allowed"
	}
	return "blocked"
}

// compare judges every measured cell against the engine.
func compare(lab string, w *world.World, got *matrix.Matrix) VerifyReport {
	e := netpol.New(w)
	rep := VerifyReport{Lab: lab, Cells: len(got.Results), Findings: []Finding{}}
	for _, c := range got.Results {
		src, _ := e.ResolveEndpoint(c.From)
		dst, err := e.ResolveEndpoint(c.To)
		if err != nil {
			if ip, perr := netip.ParseAddr(c.To); perr == nil {
				dst = netpol.IPEndpoint(ip)
			}
		}
		x := e.Explain(src, dst, c.Port, corev1.Protocol(c.Protocol))
		if c.Detail == matrix.DetailUnsupported {
			rep.Mismatches++
			rep.Findings = append(rep.Findings, Finding{Cell: c.Key().String(), Measured: "not measurable", Expected: verdict(x.Allowed), Detail: c.Detail,
				Explanation: "the dataplane cannot carry " + c.Protocol + " on this machine; the cell could not be checked"})
			continue
		}
		if x.Undecided() || c.Undecided() {
			// No verdict to compare: never a silent pass or fail.
			rep.Mismatches++
			rep.Findings = append(rep.Findings, Finding{Cell: c.Key().String(), Measured: undecidedOr(c.Undecided(), verdict(c.Allowed)),
				Expected: undecidedOr(x.Undecided(), verdict(x.Allowed)), Detail: c.Detail, Explanation: x.Summary, Kernel: c.Why})
			continue
		}
		if c.Detail == matrix.DetailRefused {
			// A policy drops (timeout); a refusal is a dead agent, and
			// would otherwise pass as "blocked".
			rep.Mismatches++
			rep.Findings = append(rep.Findings, Finding{Cell: c.Key().String(), Measured: "refused", Expected: verdict(x.Allowed), Detail: c.Detail,
				Explanation: "nothing listens on " + c.To + " (its agent is not running?): 'netlab status' shows it; the cell could not be checked"})
			continue
		}
		if x.Allowed != c.Allowed {
			rep.Mismatches++
			rep.Findings = append(rep.Findings, Finding{Cell: c.Key().String(), Measured: verdict(c.Allowed), Expected: verdict(x.Allowed), Detail: c.Detail, Explanation: x.Summary, Kernel: c.Why})
		}
	}
	return rep
}

func undecidedOr(undecided bool, v string) string {
	if undecided {
		return "not decidable"
	}
	return v
}

func writeJUnit(s Streams, rep VerifyReport, got *matrix.Matrix) error {
	bad := map[string]Finding{}
	for _, f := range rep.Findings {
		bad[f.Cell] = f
	}
	suite := junit.Suite{Name: "netlab verify " + rep.Lab}
	for _, c := range got.Results {
		tc := junit.Case{Name: c.Key().String(), Class: "netlab." + rep.Lab}
		if f, ok := bad[c.Key().String()]; ok {
			tc.Failure = &junit.Failure{Message: fmt.Sprintf("was %s; expected %s", f.Measured, f.Expected), Text: f.Explanation}
		}
		suite.Add(tc)
	}
	return junit.Write(s.Out, suite)
}
