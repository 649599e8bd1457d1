package matrix

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Summary aggregates a matrix too large to read cell by cell: how many
// cells are allowed and blocked between each pair of namespaces, and which
// policies admit the flows that are allowed.
type Summary struct {
	Pods, Namespaces int
	Allowed, Blocked int
	// Open counts allowed cells that no policy governs on either side (the
	// cluster's default, not a decision of any policy).
	Open int
	// Undecided counts cells that only an ipBlock could decide for a pod
	// without an address: neither allowed nor blocked, and in no pair.
	Undecided int
	Pairs     []PairCount   // every namespace pair with a cell, in name order
	Policies  []PolicyCount // every policy, most admitted flows first
}

// PairCount is the cells from pods of one namespace to pods of another.
type PairCount struct {
	From, To         string
	Allowed, Blocked int
}

// PolicyCount is how many allowed cells one policy admits: on the egress
// side (it selects the source and a rule allows the destination) and on
// the ingress side.
type PolicyCount struct {
	Namespace, Name string
	Egress, Ingress int
}

// Total is the flows the policy admits on either side.
func (p PolicyCount) Total() int { return p.Egress + p.Ingress }

// TopPolicies is how many policies WriteSummary lists.
const TopPolicies = 20

// WriteSummary renders the summary for people: totals, a line per
// namespace pair, and the TopPolicies policies that admit the most flows.
func (s *Summary) WriteSummary(w io.Writer) error {
	cells := s.Allowed + s.Blocked + s.Undecided
	fmt.Fprintf(w, "%d pods in %d namespaces, %d cells: %d allowed (%s), %d blocked", s.Pods, s.Namespaces, cells, s.Allowed, percent(s.Allowed, cells), s.Blocked)
	if s.Undecided > 0 {
		fmt.Fprintf(w, ", %d not decidable (pods without an address; -o json gives each reason)", s.Undecided)
	}
	fmt.Fprintf(w, "; %d allowed with no policy on either side\n\n", s.Open)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "from namespace\tto namespace\tallowed\tblocked\tallowed %")
	for _, p := range s.Pairs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", p.From, p.To, p.Allowed, p.Blocked, percent(p.Allowed, p.Allowed+p.Blocked))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Policies) == 0 {
		_, err := fmt.Fprintln(w, "\nno policies: every cell is allowed")
		return err
	}
	fmt.Fprintf(w, "\npolicies that admit the most flows (of %d):\n", len(s.Policies))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "policy\tadmits\tas egress\tas ingress")
	none := 0
	for i, p := range s.Policies {
		if p.Total() == 0 {
			none++
			continue
		}
		if i < TopPolicies {
			fmt.Fprintf(tw, "%s/%s\t%d\t%d\t%d\n", p.Namespace, p.Name, p.Total(), p.Egress, p.Ingress)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := len(s.Policies) - none; n > TopPolicies {
		fmt.Fprintf(w, "... and %d more that admit some flow\n", n-TopPolicies)
	}
	switch {
	case none == 1:
		fmt.Fprintln(w, "1 policy admits no flow (it only isolates, or its rules match nothing here)")
	case none > 1:
		fmt.Fprintf(w, "%d policies admit no flow (they only isolate, or their rules match nothing here)\n", none)
	}
	return nil
}

func percent(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}
