package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/scenarios"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// worldFlags are the flags of every command that reads a world.
type worldFlags struct {
	files    []string
	scenario string
	maxInput int64
	cmd      *cobra.Command // whose context ends the reading and whose stdin "-" reads
	// assignIPs is --assign-ips: a CIDR for pods without status.podIP.
	assignIPs string
}

func (f *worldFlags) add(cmd *cobra.Command) {
	f.cmd = cmd
	cmd.Flags().StringArrayVarP(&f.files, "filename", "f", nil, "manifest file or directory (YAML, JSON, List); repeatable; - reads stdin")
	cmd.Flags().StringVar(&f.scenario, "scenario", "", "start from a built-in scenario ("+strings.Join(scenarios.Names(), ", ")+"); -f adds to it")
	addMaxInput(cmd, &f.maxInput)
	cmd.Flags().StringVar(&f.assignIPs, "assign-ips", "", "give pods without status.podIP addresses from `CIDR` (in name order) instead of leaving ipBlock cells undecided")
}

// addMaxInput adds --max-input, the bound on what is read from each
// manifest input, to a command that reads manifests.
func addMaxInput(cmd *cobra.Command, n *int64) {
	*n = world.DefaultMaxInput
	cmd.Flags().Var(sizeValue{n}, "max-input", "read at most this much from each manifest input (file or stdin), e.g. 256Mi or 4Gi; 0 means no limit")
}

// sizeValue is a byte count flag written as a Kubernetes quantity (1Gi).
type sizeValue struct{ n *int64 }

func (v sizeValue) String() string {
	if v.n == nil {
		return ""
	}
	return world.FormatSize(*v.n)
}

func (v sizeValue) Set(s string) error {
	n, err := world.ParseSize(s)
	if err != nil {
		return err
	}
	*v.n = n
	return nil
}

func (v sizeValue) Type() string { return "size" }

// readManifests reads files as cmd's manifests: bounded by maxInput, "-"
// from cmd's stdin, ended by cmd's context (Ctrl-C).
func readManifests(cmd *cobra.Command, files []string, maxInput int64, notes io.Writer) (*world.Objects, error) {
	ctx, stdin := context.Background(), io.Reader(os.Stdin)
	if cmd != nil {
		ctx, stdin = cmd.Context(), cmd.InOrStdin()
	}
	objs, err := world.ReadContext(ctx, files, notes, world.ReadOptions{MaxInput: maxInput, Stdin: stdin})
	var le *world.LimitError
	if errors.As(err, &le) {
		return nil, fmt.Errorf("%w; raise the limit with --max-input (e.g. --max-input %s), or --max-input 0 for none", err, world.FormatSize(2*le.Limit))
	}
	return objs, err
}

// load reads the scenario (if any) and the files into one validated world.
// Notes (ignored kinds, assigned IPs) go to notes.
func (f *worldFlags) load(notes io.Writer) (*world.World, error) {
	if len(f.files) == 0 && f.scenario == "" {
		return nil, fmt.Errorf("no world given: pass -f FILE|DIR and/or --scenario NAME")
	}
	assign, err := f.assignPrefix()
	if err != nil {
		return nil, err
	}
	objs := &world.Objects{}
	scenarioPods := map[string]bool{}
	if f.scenario != "" {
		name, data, err := scenarios.Get(f.scenario)
		if err != nil {
			return nil, err
		}
		o, err := world.Parse(name, data, notes)
		if err != nil {
			return nil, err
		}
		for _, p := range o.Pods {
			scenarioPods[p.Obj.Namespace+"/"+p.Obj.Name] = true
		}
		objs.Merge(o)
	}
	if len(f.files) > 0 {
		o, err := readManifests(f.cmd, f.files, f.maxInput, notes)
		if err != nil {
			return nil, err
		}
		objs.Merge(o)
	}
	w, err := world.Build(objs, notes)
	if err != nil {
		return nil, err
	}
	return w, address(w, scenarioPods, assign, notes)
}

// useColor reports whether w is a terminal that wants color.
func useColor(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// checkOutput validates an -o value.
func checkOutput(got string, allowed ...string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return fmt.Errorf("unknown output format %q (want one of: %s)", got, strings.Join(allowed, ", "))
}
