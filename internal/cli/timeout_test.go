package cli

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/agent"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestOneTimeout: every command that probes takes --timeout, and every
// --timeout has netlab's one default and says what it is in --help.
func TestOneTimeout(t *testing.T) {
	root := NewRoot(Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
	var with []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Value.Type() == "duration" && strings.Contains(f.Name, "timeout") {
				if f.Name != "timeout" {
					t.Errorf("%s --%s: the probe timeout is --timeout everywhere", c.CommandPath(), f.Name)
				}
				if f.DefValue != agent.DefaultTimeout.String() {
					t.Errorf("%s --timeout defaults to %s, want agent.DefaultTimeout (%s)", c.CommandPath(), f.DefValue, agent.DefaultTimeout)
				}
				if !strings.Contains(f.Usage, "per connection") {
					t.Errorf("%s --timeout: usage %q does not say what it bounds", c.CommandPath(), f.Usage)
				}
				with = append(with, c.CommandPath())
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, want := range []string{"netlab probe", "netlab verify", "netlab grade", "netlab lab check", "netlab lab lint", "netlab tui", "netlab agent probe"} {
		if !slices.Contains(with, want) {
			t.Errorf("%s has no --timeout (commands with one: %v)", want, with)
		}
	}
}
