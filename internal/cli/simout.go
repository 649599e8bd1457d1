package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	"github.com/spf13/cobra"
)

// simOutputs are sim's -o formats.
var simOutputs = []string{"table", "json", "mermaid", "summary"}

// defaultMaxPods is how many pods a table or mermaid graph shows before
// sim asks to narrow the world instead of printing a wall.
const defaultMaxPods = 50

// simSelection is which cells sim decides and how many pods the human
// views accept.
type simSelection struct {
	from, to []string
	maxPods  int
}

func (f *simSelection) add(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.from, "from", nil, "only these sources: ns/pod, pod, or ns/ (repeatable)")
	cmd.Flags().StringArrayVar(&f.to, "to", nil, "only these destinations (same forms)")
	cmd.Flags().IntVar(&f.maxPods, "max-pods", defaultMaxPods, "-o table and mermaid refuse more pods than this (0: no limit); narrow with --from/--to, or use -o summary")
}

// pods returns the selected sources and destinations, in world order.
func (f *simSelection) pods(w *world.World) (from, to []*world.Pod, err error) {
	for _, p := range w.Pods {
		if p.Selected(f.from) {
			from = append(from, p)
		}
		if p.Selected(f.to) {
			to = append(to, p)
		}
	}
	if len(f.from) > 0 && len(from) == 0 {
		return nil, nil, fmt.Errorf("--from %s: no pod matches (forms: ns/pod, pod, ns/)", strings.Join(f.from, ","))
	}
	if len(f.to) > 0 && len(to) == 0 {
		return nil, nil, fmt.Errorf("--to %s: no pod matches (forms: ns/pod, pod, ns/)", strings.Join(f.to, ","))
	}
	return from, to, nil
}

// writeSim renders the prediction in the chosen format. JSON and the
// summary stream, whatever the world's size; the table and the graph are
// for people and refuse worlds too large to read.
func writeSim(s Streams, e *netpol.Engine, output string, sel simSelection) error {
	from, to, err := sel.pods(e.World())
	if err != nil {
		return err
	}
	switch output {
	case "json":
		return e.WriteJSON(s.Out, from, to)
	case "summary":
		return e.Summarize(from, to).WriteSummary(s.Out)
	}
	if err := sel.checkSize(output, from, to); err != nil {
		return err
	}
	m := e.MatrixOf(from, to)
	if output == "mermaid" {
		return m.WriteMermaid(s.Out)
	}
	return m.WriteTable(s.Out, matrixTableOptions(s))
}

// checkSize refuses a table or graph of more than maxPods pods and says
// how to narrow it: the namespaces and their sizes, the selector forms.
func (f *simSelection) checkSize(output string, from, to []*world.Pod) error {
	pods := map[*world.Pod]bool{}
	perNS := map[string]int{}
	for _, set := range [][]*world.Pod{from, to} {
		for _, p := range set {
			if !pods[p] {
				pods[p] = true
				perNS[p.Namespace]++
			}
		}
	}
	if f.maxPods <= 0 || len(pods) <= f.maxPods {
		return nil
	}
	nss := make([]string, 0, len(perNS))
	for ns := range perNS {
		nss = append(nss, ns)
	}
	sort.Slice(nss, func(i, j int) bool {
		if perNS[nss[i]] != perNS[nss[j]] {
			return perNS[nss[i]] < perNS[nss[j]]
		}
		return nss[i] < nss[j]
	})
	var list []string
	for i, ns := range nss {
		if i == 8 {
			list = append(list, fmt.Sprintf("and %d more", len(nss)-i))
			break
		}
		list = append(list, fmt.Sprintf("%s (%d)", ns, perNS[ns]))
	}
	ex := nss[0]
	var b strings.Builder
	fmt.Fprintf(&b, "-o %s of %d pods would be a wall nobody reads (the limit is --max-pods %d); narrow it:\n", output, len(pods), f.maxPods)
	for _, l := range [][2]string{
		{fmt.Sprintf("--from %s/ --to %s/", ex, ex), "one namespace (or a pair: --from A/ --to B/)"},
		{"--from NS/POD", "one source's row (repeatable; --to likewise)"},
		{"-o summary", "allowed/blocked per namespace pair and the policies that admit the most flows"},
		{"-o json", "every cell, streamed (filter with jq)"},
	} {
		fmt.Fprintf(&b, "  %-26s %s\n", l[0], l[1])
	}
	fmt.Fprintf(&b, "namespaces (pods): %s", strings.Join(list, ", "))
	return fmt.Errorf("%s", b.String())
}
