package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/netlab/netlab/internal/agent"
	"github.com/netlab/netlab/internal/dns"
	"github.com/spf13/cobra"
)

// The agent runs inside every lab pod: the same binary, so the sandbox and
// the kind image need nothing else.
func newAgentCmd(s Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "agent",
		Short:  "The in-pod agent: serve a pod's ports, probe from inside a pod",
		Hidden: true,
	}
	cmd.AddCommand(newAgentServeCmd(s), newAgentProbeCmd(s))
	return cmd
}

func newAgentServeCmd(s Streams) *cobra.Command {
	var pod, ready, records string
	var ports []string
	cmd := &cobra.Command{
		Use:   "serve --pod NS/NAME --port 80/TCP ...",
		Short: "Answer on every port until stopped (SIGTERM)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			var plain []agent.Port
			var dnsPorts []agent.Port
			for _, p := range ports {
				ap, err := parseAgentPort(p)
				if err != nil {
					return err
				}
				if records != "" && ap.Port == 53 && ap.Protocol != "SCTP" {
					dnsPorts = append(dnsPorts, ap)
					continue
				}
				plain = append(plain, ap)
			}
			errc := make(chan error, 2)
			go func() { errc <- agent.Serve(ctx, pod, plain, s.Err) }()
			if records != "" {
				if err := startDNS(ctx, pod, records, errc); err != nil {
					return err
				}
			}
			if ready != "" {
				go signalReady(ctx, pod, append(plain, dnsPorts...), ready)
			}
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
				return nil
			}
		},
	}
	cmd.Flags().StringVar(&pod, "pod", "", "the pod's ns/name (in banners)")
	cmd.Flags().StringArrayVar(&ports, "port", nil, "a port to serve: 80/TCP, 53/UDP (repeatable)")
	cmd.Flags().StringVar(&ready, "ready", "", "file to create once every port answers")
	cmd.Flags().StringVar(&records, "dns-records", "", "serve DNS on port 53 from this JSON file of records")
	return cmd
}

func parseAgentPort(s string) (agent.Port, error) {
	num, proto, _ := strings.Cut(s, "/")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 65535 {
		return agent.Port{}, fmt.Errorf("invalid port %q", s)
	}
	if proto == "" {
		proto = "TCP"
	}
	return agent.Port{Port: n, Protocol: strings.ToUpper(proto)}, nil
}

// startDNS serves the lab's records on 53/UDP and 53/TCP; agent probes to
// 53/UDP get the agent's banner too.
func startDNS(ctx context.Context, pod, file string, errc chan<- error) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var recs dns.Records
	if err := json.Unmarshal(data, &recs); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	udp, err := net.ListenPacket("udp4", ":53")
	if err != nil {
		return err
	}
	tcp, err := net.Listen("tcp4", ":53")
	if err != nil {
		udp.Close()
		return err
	}
	srv := dns.NewServer(recs)
	go func() { errc <- srv.Serve(ctx, agent.AnswerProbes(udp, pod, 53), tcp) }()
	return nil
}

// signalReady creates the ready file once every TCP/UDP port answers on
// loopback.
func signalReady(ctx context.Context, pod string, ports []agent.Port, file string) {
	var targets []agent.Target
	for _, p := range ports {
		if p.Protocol == "SCTP" {
			continue
		}
		targets = append(targets, agent.Target{Host: "127.0.0.1", Port: p.Port, Protocol: p.Protocol})
	}
	for ctx.Err() == nil {
		ok := true
		for _, r := range agent.Probe(ctx, targets, 200*time.Millisecond, "") {
			ok = ok && r.Allowed
		}
		if ok {
			os.WriteFile(file, []byte(pod+"\n"), 0o644)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newAgentProbeCmd(s Streams) *cobra.Command {
	var timeout time.Duration
	var dnsServer string
	cmd := &cobra.Command{
		Use:   "probe < targets.json",
		Short: "Try every target on stdin at once; print the results as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var targets []agent.Target
			if err := json.NewDecoder(s.In).Decode(&targets); err != nil {
				return fmt.Errorf("reading targets: %w", err)
			}
			return agent.ProbeJSON(s.Out, agent.Probe(cmd.Context(), targets, timeout, dnsServer))
		},
	}
	addTimeoutFlag(cmd, &timeout, "")
	cmd.Flags().StringVar(&dnsServer, "dns", "", "DNS server for names (IP[:port])")
	return cmd
}
