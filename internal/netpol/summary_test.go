package netpol_test

import (
	"testing"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/internal/worldgen"
	networkingv1 "k8s.io/api/networking/v1"
)

// TestSummarizeAgreesWithMatrix checks every count of the summary against
// the whole matrix and, for the per-policy counts, against an independent
// oracle: policy P admits a cell on a side when, in the world where P is the
// only policy, that side is isolated and Explain says it allows the cell.
func TestSummarizeAgreesWithMatrix(t *testing.T) {
	for seed := int64(0); seed < 40; seed++ {
		w := worldgen.Generate(seed, worldgen.Options{Namespaces: 1 + int(seed%3), Pods: 2 + int(seed%9), Policies: int(seed % 7)})
		e := netpol.New(w)
		m := e.Matrix()
		sum := e.Summarize(w.Pods, w.Pods)

		type pair struct{ from, to string }
		wantPairs := map[pair][2]int{}
		allowed, blocked, open := 0, 0, 0
		for _, c := range m.Results {
			src, dst := w.Pod(c.From), w.Pod(c.To)
			k := pair{src.Namespace, dst.Namespace}
			p := wantPairs[k]
			if c.Allowed {
				p[0]++
				allowed++
				if !e.Isolated(src, netpol.Egress) && !e.Isolated(dst, netpol.Ingress) {
					open++
				}
			} else {
				p[1]++
				blocked++
			}
			wantPairs[k] = p
		}
		if sum.Allowed != allowed || sum.Blocked != blocked || sum.Open != open || sum.Pods != len(w.Pods) {
			t.Fatalf("seed %d: summary %d allowed, %d blocked, %d open, %d pods; matrix %d, %d, %d, %d", seed, sum.Allowed, sum.Blocked, sum.Open, sum.Pods, allowed, blocked, open, len(w.Pods))
		}
		if len(sum.Pairs) != len(wantPairs) {
			t.Fatalf("seed %d: %d pairs, want %d", seed, len(sum.Pairs), len(wantPairs))
		}
		for i, p := range sum.Pairs {
			if i > 0 && (sum.Pairs[i-1].From > p.From || (sum.Pairs[i-1].From == p.From && sum.Pairs[i-1].To >= p.To)) {
				t.Fatalf("seed %d: pairs out of order at %d", seed, i)
			}
			if want := wantPairs[pair{p.From, p.To}]; want != [2]int{p.Allowed, p.Blocked} {
				t.Fatalf("seed %d: %s -> %s: %d/%d, want %d/%d", seed, p.From, p.To, p.Allowed, p.Blocked, want[0], want[1])
			}
		}

		got := map[string]matrix.PolicyCount{}
		for i, p := range sum.Policies {
			if i > 0 && sum.Policies[i-1].Total() < p.Total() {
				t.Fatalf("seed %d: policies not sorted by flows admitted", seed)
			}
			got[p.Namespace+"/"+p.Name] = p
		}
		for _, np := range w.Policies {
			only := &world.World{Namespaces: w.Namespaces, Pods: w.Pods, Policies: []*networkingv1.NetworkPolicy{np}}
			oe := netpol.New(only)
			var eg, in int
			for _, c := range m.Results {
				if !c.Allowed {
					continue
				}
				x := oe.Explain(netpol.PodEndpoint(w.Pod(c.From)), netpol.PodEndpoint(w.Pod(c.To)), c.Port, proto(c.Protocol))
				if x.Egress != nil && x.Egress.Isolated && x.Egress.Allowed {
					eg++
				}
				if x.Ingress != nil && x.Ingress.Isolated && x.Ingress.Allowed {
					in++
				}
			}
			if p := got[np.Namespace+"/"+np.Name]; p.Egress != eg || p.Ingress != in {
				t.Fatalf("seed %d: policy %s/%s admits %d egress, %d ingress; oracle %d, %d", seed, np.Namespace, np.Name, p.Egress, p.Ingress, eg, in)
			}
		}
	}
}
