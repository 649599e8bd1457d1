package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/netlab/netlab/internal/kindlab"
	"github.com/netlab/netlab/internal/world"
)

// upKind brings a kind lab up and says what to do next.
func upKind(ctx context.Context, s Streams, w *world.World, o kindlab.Options) error {
	res, err := kindlab.Up(ctx, w, o)
	if err != nil {
		return err
	}
	for _, st := range res.Stages {
		fmt.Fprintf(s.Err, "   %-12s %s\n", st.Name, st.Duration.Round(100_000_000))
	}
	setCurrent(s, res.Name)
	fmt.Fprintf(s.Out, "Lab %s is up: kind cluster %s, %d nodes, kubectl context %s.\n", res.Name, res.Cluster, res.Nodes, res.Context)
	if res.Enforcement == kindlab.EnforceNone {
		fmt.Fprintf(s.Out, "Policies are NOT enforced (--enforcer none): the cluster accepts them and nothing blocks.\n")
	}
	fmt.Fprintf(s.Out, "\nNext:\n")
	fmt.Fprintf(s.Out, "  kubectl --context %s get pods -A -o wide\n", res.Context)
	fmt.Fprintf(s.Out, "  netlab probe --name %s                       # the real matrix: everything is open\n", res.Name)
	fmt.Fprintf(s.Out, "  kubectl --context %s apply -f policy.yaml     # e.g. assets/examples/netpol-lab/\n", res.Context)
	fmt.Fprintf(s.Out, "  kubectl --context %s label pod ...            # pods walk into and out of policies\n", res.Context)
	fmt.Fprintf(s.Out, "  netlab verify --name %s                      # real packets vs what the policies say\n", res.Name)
	fmt.Fprintf(s.Out, "  netlab down --name %s                        # delete the cluster\n", res.Name)
	return nil
}

// kindStatus prints a kind lab: its cluster, node agents and lab pods.
func kindStatus(ctx context.Context, out io.Writer, name string) error {
	st, err := kindlab.Load(name)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "lab %s (kind, cluster %s, context %s, %d nodes, up since %s, enforcer %s)\n", st.Name, st.Cluster,
		st.Context, st.Nodes, st.Created.Format("2006-01-02 15:04"), st.Enforcement)
	c, _, err := kindlab.Client(name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	snap, err := kindlab.TakeSnapshot(ctx, c)
	if err != nil {
		fmt.Fprintf(out, "  cluster unreachable: %v\n", err)
		return nil
	}
	if st.Enforcement != kindlab.EnforceNone {
		statuses, err := kindlab.NodeAgentStatus(ctx, c)
		if err != nil {
			fmt.Fprintf(out, "  node agents: %v\n", err)
		}
		for _, a := range statuses {
			fmt.Fprintf(out, "  node %-28s %d veths, generation %d, %d pods, %d policies%s\n", a.Node, a.Attached, a.Generation, a.Pods, a.Policies, paren(a.Error))
		}
	}
	for _, p := range snap.World.Pods {
		if slices.Contains(st.Namespaces, p.Namespace) || kindlab.IsClusterDNS(p) {
			fmt.Fprintf(out, "  %-32s %-15s %s\n", p.Key(), p.IP, p.Node)
		}
	}
	for _, np := range snap.World.Policies {
		fmt.Fprintf(out, "  networkpolicy %s/%s\n", np.Namespace, np.Name)
	}
	return nil
}
