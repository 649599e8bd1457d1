package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/world"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
)

func newEnforcerCmd(s Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "enforcer",
		Short: "netlab's eBPF NetworkPolicy enforcer (started by 'up')",
	}
	var lab labFlag
	run := &cobra.Command{
		Use:   "run",
		Short: "Keep a lab's eBPF maps equal to its policies (restarting it never opens or closes traffic)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, err := lab.resolve()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return sandbox.RunEnforcer(ctx, name, func(format string, args ...any) {
				fmt.Fprintf(s.Err, time.Now().Format(time.RFC3339)+" "+format+"\n", args...)
			})
		},
	}
	lab.add(run)
	cmd.AddCommand(run, newEnforcerEventsCmd(s))
	return cmd
}

// newEnforcerEventsCmd streams a pin directory's verdict events as JSON
// lines. It runs inside kind's node agent pods ('netlab events' and
// 'probe --why' exec it on every node and merge the streams).
func newEnforcerEventsCmd(s Streams) *cobra.Command {
	var pinDir string
	cmd := &cobra.Command{
		Use:    "events --pin-dir DIR",
		Short:  "Stream the verdict events of the enforcer pinned at DIR as JSON lines",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := enforcer.OpenMaps(pinDir)
			if err != nil {
				return err
			}
			defer d.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
			defer stop()
			events, err := d.Events(ctx)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(s.Out)
			for ev := range events {
				if err := enc.Encode(ev); err != nil {
					return nil // the reader went away
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pinDir, "pin-dir", "", "the enforcer's bpffs pin directory")
	cmd.MarkFlagRequired("pin-dir")
	return cmd
}

func newEventsCmd(s Streams) *cobra.Command {
	var lab labFlag
	var count int
	var since time.Duration
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Stream the enforcer's verdicts live (ALLOW/DENY, which policy and rule)",
		Long: `events streams what the eBPF enforcer decides, as it decides: every
connection attempt (TCP SYN, the first packet of a UDP flow) and every
dropped packet, with the pods' names and the policy and rule that admitted
it or the policies whose rules did not. On kind the events of every node
are merged (read through the node agents). Each node's event buffer has
one reader: run one 'events' (or 'probe --why') per lab at a time.

Only verdicts made after 'events' started are shown: the enforcer's buffer
still holds older ones (an earlier probe's), which would read as live.
--since 5m shows those of the last five minutes too.`,
		Example: `  netlab events            # in one terminal
  netlab probe             # in another
  netlab events --since 2m # also what the last probe did`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if since < 0 {
				return fmt.Errorf("--since %s: want a duration of 0 or more", since)
			}
			b, err := lab.find()
			if err != nil {
				return err
			}
			desc, err := newEventDescriber(b)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			cutoff := time.Now().Add(-since)
			events, err := b.Events(ctx)
			if err != nil {
				return err
			}
			n := 0
			for ev := range newerThan(ctx, events, cutoff) {
				fmt.Fprintf(s.Out, "%s %s\n", ev.Time.Format("15:04:05.000"), desc.describe(ev))
				if n++; count > 0 && n >= count {
					return nil
				}
			}
			return nil
		},
	}
	lab.add(cmd)
	cmd.Flags().IntVar(&count, "count", 0, "stop after this many events (0: until interrupted)")
	cmd.Flags().DurationVar(&since, "since", 0, "also show buffered verdicts this old (e.g. 5m); default: only new ones")
	return cmd
}

// newerThan passes on the events of in made at or after cutoff; older ones
// (left in the enforcer's buffer before the reader started) are dropped.
// It stops when ctx is done.
func newerThan(ctx context.Context, in <-chan enforcer.Event, cutoff time.Time) <-chan enforcer.Event {
	out := make(chan enforcer.Event, cap(in))
	go func() {
		defer close(out)
		for ev := range in {
			if ev.Time.Before(cutoff) {
				continue
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// eventDescriber words verdict events with pod names and, for drops, the
// policies that isolate the dropping side. It rereads the lab's state when
// the policies or labels change.
type eventDescriber struct {
	b       worldSource
	checked time.Time
	version string
	byIP    map[netip.Addr]*world.Pod
	engine  *netpol.Engine
}

// worldSource is what an eventDescriber reads the lab from.
type worldSource interface {
	World(ctx context.Context) (*world.World, error)
	Version(ctx context.Context) (string, error)
}

func newEventDescriber(b worldSource) (*eventDescriber, error) {
	d := &eventDescriber{b: b}
	return d, d.refresh()
}

func (d *eventDescriber) refresh() error {
	d.checked = time.Now()
	ctx := context.Background()
	v, err := d.b.Version(ctx)
	if err != nil {
		return err
	}
	if v == d.version && d.engine != nil {
		return nil
	}
	w, err := d.b.World(ctx)
	if err != nil {
		return err
	}
	d.version = v
	d.byIP = map[netip.Addr]*world.Pod{}
	for _, p := range w.Pods {
		d.byIP[p.IP] = p
	}
	d.engine = netpol.New(w)
	return nil
}

func (d *eventDescriber) name(ip netip.Addr) string {
	if p := d.byIP[ip]; p != nil {
		return p.Key()
	}
	return ip.String()
}

// describe renders an event, e.g. "DROP netpol-lab/client ->
// netpol-lab/backend:8080/TCP (no ingress rule of netpol-lab/backend-allow
// matches)".
func (d *eventDescriber) describe(ev enforcer.Event) string {
	if time.Since(d.checked) > time.Second {
		_ = d.refresh() // a lab going away ends the stream elsewhere
	}
	verdict, why := "DROP ", ev.Reason()
	if ev.Allowed {
		verdict = "ALLOW"
	} else if pols := d.isolating(ev); len(pols) > 0 {
		why = fmt.Sprintf("no %s rule of %s matches", ev.Dir, strings.Join(pols, ", "))
	}
	return fmt.Sprintf("%s %s -> %s:%d/%s (%s)", verdict, d.name(ev.Src), d.name(ev.Dst), ev.DstPort, ev.Proto, why)
}

// isolating returns the policies that isolate the side that dropped ev.
func (d *eventDescriber) isolating(ev enforcer.Event) []string {
	src, dst := netpol.IPEndpoint(ev.Src), netpol.IPEndpoint(ev.Dst)
	if p := d.byIP[ev.Src]; p != nil {
		src = netpol.PodEndpoint(p)
	}
	if p := d.byIP[ev.Dst]; p != nil {
		dst = netpol.PodEndpoint(p)
	}
	x := d.engine.Explain(src, dst, int32(ev.DstPort), corev1.Protocol(ev.Proto))
	side := x.Ingress
	if ev.Dir == enforcer.Egress {
		side = x.Egress
	}
	if side == nil {
		return nil
	}
	return side.Policies
}
