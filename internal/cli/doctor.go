package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/netlab/netlab/internal/doctor"
	"github.com/spf13/cobra"
)

const doctorLong = `Check that this host can run a netlab backend, and say how to fix what
cannot work: Docker (installed, daemon up, a default runtime that copes with
capabilities missing from the host's bounding set), cgroups, capabilities,
BPF (bpffs, loading and attaching a program with TCX), iproute2/iptables
and free disk.

Exits non-zero when a check that --backend needs fails. --fix applies the
fixes that need no judgement: installs missing Debian packages (iproute2,
iptables; for kind docker.io and debootstrap), starts dockerd and registers
netlab's runc wrapper as its default runtime when capabilities are missing.
Running it again changes nothing.`

func newDoctorCmd(s Streams) *cobra.Command {
	var output, backend string
	var fix bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check (and with --fix, repair) what the sandbox and kind backends need",
		Long:  doctorLong,
		Example: `  netlab doctor
  sudo netlab doctor --backend kind --fix
  netlab doctor -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if backend != doctor.Sandbox && backend != doctor.Kind {
				return fmt.Errorf("unknown backend %q (want sandbox or kind)", backend)
			}
			if fix {
				exe, err := os.Executable()
				if err != nil {
					return err
				}
				logf := func(l string) { fmt.Fprintln(s.Err, "fix: "+l) }
				if err := doctor.Fix(cmd.Context(), backend, exe, logf); err != nil {
					return fmt.Errorf("fix: %w", err)
				}
			}
			r := doctor.Run(cmd.Context(), backend)
			orphans := hostOrphans(cmd.Context())
			if output == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(struct {
					doctor.Report
					Orphans []orphan `json:"orphans"`
				}{r, append([]orphan{}, orphans...)}); err != nil {
					return err
				}
			} else {
				printDoctor(s, r)
				printOrphans(s.Out, orphans)
			}
			if r.Broken {
				return ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&backend, "backend", doctor.Sandbox, "backend whose needs decide the exit status: sandbox or kind")
	cmd.Flags().BoolVar(&fix, "fix", false, "apply the fixes netlab can apply itself (root)")
	return cmd
}

func printDoctor(s Streams, r doctor.Report) {
	for _, c := range r.Checks {
		label := "OK"
		switch {
		case c.Status == doctor.Fail && c.Needed(r.Backend):
			label = "FAIL"
		case c.Status != doctor.OK:
			label = "WARN"
		}
		fmt.Fprintf(s.Out, "%-5s %-16s %s\n", label, c.Name, c.Detail)
		if c.Status != doctor.OK && c.Fix != "" {
			fmt.Fprintf(s.Out, "      fix: %s\n", c.Fix)
		}
	}
	if r.Broken {
		fmt.Fprintf(s.Out, "\nThe %s backend cannot run here until the FAIL lines are fixed.\n", r.Backend)
	} else {
		fmt.Fprintf(s.Out, "\nThe %s backend can run here.\n", r.Backend)
	}
}
