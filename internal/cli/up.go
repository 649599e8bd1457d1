package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/kindlab"
	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/scenarios"
	"github.com/spf13/cobra"
)

var errNeedRoot = backend.ErrNeedRoot

func newUpCmd(s Streams) *cobra.Command {
	var name, scenario, enforcement, backendName, nodeImage string
	var nodes int
	var worldFiles []string
	var maxInput int64
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a lab: pods as network namespaces, netlab's eBPF enforcer, DNS, an internet host",
		Long: `up starts a sandbox lab: every pod of the world becomes a Linux network
namespace with its own IP on a bridge, the netlab agent answers on each of
its container ports, the kube-dns pod (kube-system, k8s-app=kube-dns)
answers DNS for <pod>.<ns> and <svc>.<ns>.svc.cluster.local, and an
"internet" host at 203.0.113.10 (ports 80, 443) stands for the outside
world. netlab's eBPF enforcer sits on every pod's veth, so the policies you
'netlab apply' are enforced on real packets. Needs root; no Docker.

Without --world the netpol-lab scenario is used: namespace netpol-lab with
client, frontend (80) and backend (8080), plus kube-dns. Policies in the
world file are applied from the start.

--backend kind creates a real kind cluster instead (Docker; see 'netlab
doctor --backend kind'): netlab's own CNI and eBPF enforcer run as a
DaemonSet, the scenario's pods run netlab's agent, and you use kubectl
against the context kind-LAB. The node image is kind's when it can be
pulled, else netlab's offline build ('netlab node-image build').

--enforcer none starts the same lab with the enforcer holding no policies,
like a cluster whose network plugin ignores NetworkPolicy: policies are
accepted and stored, and nothing is blocked.`,
		Example: `  sudo netlab up
  sudo netlab up --world my-world.yaml --name t1
  sudo netlab up --scenario netpol-lab --name lab2
  sudo netlab up --enforcer none --name unenforced
  sudo netlab up --backend kind --nodes 2 --name k1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sandbox.ValidateEnforcement(enforcement); err != nil {
				return err
			}
			if backendName != "sandbox" && backendName != "kind" {
				return fmt.Errorf("--backend %q: want sandbox or kind", backendName)
			}
			if backendName == "sandbox" && nodes != 0 {
				return fmt.Errorf("--nodes: the sandbox has one node; use --backend kind")
			}
			if os.Geteuid() != 0 && backendName == "sandbox" {
				return errNeedRoot
			}
			if name == "" {
				name = "netlab"
			}
			if len(worldFiles) == 0 && scenario == "" {
				scenario = "netpol-lab"
			}
			wf := worldFlags{files: worldFiles, scenario: scenario, maxInput: maxInput, cmd: cmd}
			w, err := wf.load(s.Err)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.Err, "Starting lab %q (%d pods, %d policies)\n", name, len(w.Pods), len(w.Policies))
			if backendName == "kind" {
				return upKind(cmd.Context(), s, w, kindlab.Options{Name: name, Scenario: scenario, Nodes: nodes,
					NodeImage: nodeImage, Enforcement: enforcement, Progress: s.Err})
			}
			st, err := sandbox.Up(cmd.Context(), w, sandbox.Options{Name: name, Scenario: scenario, Progress: s.Err, Enforcement: enforcement})
			if err != nil {
				return err
			}
			setCurrent(s, st.Name)
			printNext(s, st, w)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "lab name (default netlab)")
	cmd.Flags().StringVar(&backendName, "backend", "sandbox", "sandbox (network namespaces, root) or kind (a real cluster, Docker)")
	cmd.Flags().IntVar(&nodes, "nodes", 0, "kind: number of nodes, one control plane and the rest workers (default 2)")
	cmd.Flags().StringVar(&nodeImage, "node-image", "", "kind: node image (default: kind's, else netlab's offline build)")
	cmd.Flags().StringArrayVar(&worldFiles, "world", nil, "world manifests (file or directory; repeatable)")
	addMaxInput(cmd, &maxInput)
	cmd.Flags().StringVar(&enforcement, "enforcer", sandbox.EnforceEBPF, "ebpf (enforce policies) or none (accept policies, enforce nothing)")
	cmd.Flags().StringVar(&scenario, "scenario", "", "built-in scenario ("+strings.Join(scenarios.Names(), ", ")+"); default netpol-lab when no --world")
	return cmd
}

func printNext(s Streams, st *sandbox.State, w *world.World) {
	fmt.Fprintf(s.Out, "Lab %s is up: %d pods, DNS at %s, internet host %s.\n", st.Name, len(w.Pods), orNone(st.DNS), sandbox.InternetIP)
	if !st.Enforcing() {
		fmt.Fprintf(s.Out, "Policies are NOT enforced (--enforcer none): they are stored and ignored.\n")
	}
	fmt.Fprintln(s.Out)
	// Commands name the lab, so they work as printed whatever else runs.
	fmt.Fprintf(s.Out, "Next (%s is now the current lab, which commands without --name act on):\n", st.Name)
	printCommands(s, [][2]string{
		{"netlab probe --name " + st.Name, "the real matrix: everything is open"},
		{"netlab apply --name " + st.Name + " -f policy.yaml", "e.g. assets/examples/netpol-lab/"},
		{"netlab verify --name " + st.Name, "real packets vs what the policies say"},
		{"netlab down --name " + st.Name, "remove everything"},
	})
}

// printCommands prints commands with their comments aligned.
func printCommands(s Streams, cmds [][2]string) {
	width := 0
	for _, c := range cmds {
		width = max(width, len(c[0]))
	}
	for _, c := range cmds {
		fmt.Fprintf(s.Out, "  %-*s   # %s\n", width, c[0], c[1])
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
