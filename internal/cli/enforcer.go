package cli

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/spf13/cobra"
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
	cmd.AddCommand(run)
	return cmd
}

func newEventsCmd(s Streams) *cobra.Command {
	var lab labFlag
	var count int
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Stream the enforcer's verdicts live (ALLOW/DENY, which policy and rule)",
		Example: `  netlab events            # in one terminal
  netlab probe             # in another`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, err := lab.resolve()
			if err != nil {
				return err
			}
			st, err := sandbox.Load(name)
			if err != nil {
				return err
			}
			byIP := map[string]string{}
			for _, p := range st.World.Pods {
				byIP[p.IP.String()] = p.Key()
			}
			d, err := enforcer.OpenMaps(sandbox.PinDir(name))
			if err != nil {
				return err
			}
			defer d.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			events, err := d.Events(ctx)
			if err != nil {
				return err
			}
			n := 0
			for ev := range events {
				fmt.Fprintf(s.Out, "%s %s\n", ev.Time.Format("15:04:05.000"), describeEvent(ev, byIP))
				if n++; count > 0 && n >= count {
					return nil
				}
			}
			return nil
		},
	}
	lab.add(cmd)
	cmd.Flags().IntVar(&count, "count", 0, "stop after this many events (0: until interrupted)")
	return cmd
}

func describeEvent(ev enforcer.Event, byIP map[string]string) string {
	name := func(ip string) string {
		if k, ok := byIP[ip]; ok {
			return k
		}
		return ip
	}
	verdict := "DROP "
	if ev.Allowed {
		verdict = "ALLOW"
	}
	return fmt.Sprintf("%s %s -> %s:%d/%s (%s)", verdict, name(ev.Src.String()), name(ev.Dst.String()), ev.DstPort, ev.Proto, ev.Reason())
}
