package cli

import (
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
	// assignIPs is --assign-ips: a CIDR for pods without status.podIP.
	assignIPs string
}

func (f *worldFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&f.files, "filename", "f", nil, "manifest file or directory (YAML, JSON, List); repeatable; - reads stdin")
	cmd.Flags().StringVar(&f.scenario, "scenario", "", "start from a built-in scenario ("+strings.Join(scenarios.Names(), ", ")+"); -f adds to it")
	cmd.Flags().StringVar(&f.assignIPs, "assign-ips", "", "give pods without status.podIP addresses from `CIDR` (in name order) instead of leaving ipBlock cells undecided")
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
		o, err := world.Read(f.files, notes)
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
