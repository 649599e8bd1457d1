package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/matrix"

	"github.com/netlab/netlab/internal/sandbox"
	"github.com/spf13/cobra"
)

// probeFlags are shared by probe and verify.
type probeFlags struct {
	timeout  time.Duration
	from, to []string
	byName   bool
	internet bool
	why      bool
	services bool
}

func (f *probeFlags) add(cmd *cobra.Command) {
	addTimeoutFlag(cmd, &f.timeout, "")
	cmd.Flags().StringArrayVar(&f.from, "from", nil, "only these sources: ns/pod, pod, or ns/ (repeatable)")
	cmd.Flags().StringArrayVar(&f.to, "to", nil, "only these destinations (same forms)")
	cmd.Flags().BoolVar(&f.byName, "by-name", false, "connect to <pod>.<ns> through the lab's DNS (DNS failure is reported as dns-failed)")
	cmd.Flags().BoolVar(&f.why, "why", false, "also report the enforcer's own verdict for each cell: which side dropped it, or which policy rule admitted it (reads the live event stream, so not while 'netlab events' runs)")
	cmd.Flags().BoolVar(&f.internet, "internet", false, "also probe the internet host "+sandbox.InternetIP.String()+" (80, 443)")
	cmd.Flags().BoolVar(&f.services, "via-service", false, "kind labs: reach each port through the ClusterIP of a Service that selects only that pod (with --by-name, its svc.ns.svc.cluster.local name); ports no such Service exposes are left out")
}

func (f *probeFlags) options() backend.ProbeOptions {
	return backend.ProbeOptions{Timeout: f.timeout, From: f.from, To: f.to, ByName: f.byName, Internet: f.internet, Services: f.services, Why: f.why}
}

func newProbeCmd(s Streams) *cobra.Command {
	var lab labFlag
	var pf probeFlags
	var output string
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Measure the real reachability matrix with connection attempts from inside each pod",
		Long: `probe sends real packets: from inside every source pod's network
namespace, a TCP connect or UDP request to every container port of every
other pod, all at once. A cell is allowed only if the connection completed;
otherwise its detail says why: timeout (dropped, as a policy does), refused,
dns-failed (--by-name), or unsupported (SCTP on a kernel without it — never
counted as allowed). -o json has sim's schema plus "detail".`,
		Example: `  netlab probe
  netlab probe --from netpol-lab/client -o json
  netlab probe --by-name --timeout 500ms
  netlab probe --why --to netpol-lab/backend   # which side dropped each cell`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "table", "json"); err != nil {
				return err
			}
			b, err := lab.find()
			if err != nil {
				return err
			}
			m, err := b.Probe(cmd.Context(), pf.options())
			if err != nil {
				return err
			}
			if output == "json" {
				return m.WriteJSON(s.Out)
			}
			if err := m.WriteTable(s.Out, matrixTableOptions(s)); err != nil {
				return err
			}
			writeRefused(s.Out, m, b.Name())
			if pf.why {
				writeWhy(s.Out, m)
			}
			return nil
		},
	}
	lab.add(cmd)
	pf.add(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

// writeRefused says what to do about refused cells: a policy drops
// (the probe times out), it never refuses; a refusal means nothing listens
// on the destination's port, i.e. that pod's agent is not running.
func writeRefused(w io.Writer, m *matrix.Matrix, lab string) {
	seen := map[string]bool{}
	var pods []string
	for _, c := range m.Results {
		if c.Detail == matrix.DetailRefused && !seen[c.To] {
			seen[c.To] = true
			pods = append(pods, c.To)
		}
	}
	if len(pods) == 0 {
		return
	}
	fmt.Fprintf(w, "R: refused, not blocked by a policy: nothing listens on %s (its agent is not running?).\n", strings.Join(pods, ", "))
	fmt.Fprintf(w, "   'netlab status --name %s' shows the agents; these cells measure nothing until they run again.\n", lab)
}

// writeWhy lists each cell with the enforcer's verdicts for its packets.
func writeWhy(w io.Writer, m *matrix.Matrix) {
	fmt.Fprintln(w)
	for _, c := range m.Results {
		verdict := "allowed"
		if !c.Allowed {
			verdict = "blocked" + paren(c.Detail)
		}
		fmt.Fprintf(w, "%s -> %s:%d/%s %s\n", c.From, c.To, c.Port, c.Protocol, verdict)
		if len(c.Why) == 0 {
			fmt.Fprintln(w, "    (no verdict from the enforcer: the packet never reached a pod's veth)")
		}
		for _, line := range c.Why {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
}
