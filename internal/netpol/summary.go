package netpol

import (
	"runtime"
	"sort"
	"sync"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/world"
	networkingv1 "k8s.io/api/networking/v1"
)

// Summarize decides every cell of from x to, as MatrixOf does, but keeps
// only counts ('netlab sim -o summary'): allowed and blocked per namespace
// pair, and per policy how many allowed cells it admits on each side (a
// cell admitted by rules of two policies counts for both). Memory grows
// with namespaces and policies, not with cells.
func (e *Engine) Summarize(from, to []*world.Pod) *matrix.Summary {
	nsIndex := map[string]int{}
	var nsNames []string
	for _, set := range [][]*world.Pod{from, to} {
		for _, p := range set {
			if _, ok := nsIndex[p.Namespace]; !ok {
				nsIndex[p.Namespace] = len(nsNames)
				nsNames = append(nsNames, p.Namespace)
			}
		}
	}
	polIndex := make(map[*networkingv1.NetworkPolicy]int, len(e.w.Policies))
	for i, np := range e.w.Policies {
		polIndex[np] = i
	}
	dests := e.destinations(to)
	toNS := make([]int, len(dests))
	for i, d := range dests {
		toNS[i] = nsIndex[d.ep.Pod.Namespace]
	}
	pods := map[*world.Pod]bool{}
	for _, set := range [][]*world.Pod{from, to} {
		for _, p := range set {
			pods[p] = true
		}
	}

	n := len(nsNames)
	type counts struct {
		pairs           [][2]int // [from*n+to]{allowed, blocked}
		egress, ingress []int    // by policy index
		open            int
		undecided       int // cells only an invented address could decide
	}
	workers := runtime.GOMAXPROCS(0)
	parts := make([]counts, workers)
	next := make(chan *world.Pod)
	go func() {
		defer close(next)
		for _, src := range from {
			next <- src
		}
	}()
	var wg sync.WaitGroup
	for w := range parts {
		c := &parts[w]
		c.pairs = make([][2]int, n*n)
		c.egress, c.ingress = make([]int, len(e.w.Policies)), make([]int, len(e.w.Policies))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var eg, in []int
			for src := range next {
				s, srcID := PodEndpoint(src), e.podID[src]
				row := nsIndex[src.Namespace] * n
				egSide := e.sides[Egress][srcID]
				for j := range dests {
					dp := &dests[j]
					if dp.ep.Pod == src {
						continue
					}
					if !addressed(s) || !addressed(dp.ep) {
						if e.Decide(s, dp.ep, dp.port, dp.proto).Undecided != "" {
							c.undecided++
							continue
						}
					}
					inSide := e.sides[Ingress][dp.id]
					p := world.Port{Port: dp.port, Protocol: dp.proto}
					eg, in = eg[:0], in[:0]
					ok := !egSide.isolated() || e.admitters(egSide, dp.ep, dp.id, dp.ep.Pod, p, polIndex, &eg)
					ok = ok && (!inSide.isolated() || e.admitters(inSide, s, srcID, dp.ep.Pod, p, polIndex, &in))
					pair := &c.pairs[row+toNS[j]]
					if !ok {
						pair[1]++
						continue
					}
					pair[0]++
					if !egSide.isolated() && !inSide.isolated() {
						c.open++
					}
					for _, i := range eg {
						c.egress[i]++
					}
					for _, i := range in {
						c.ingress[i]++
					}
				}
			}
		}()
	}
	wg.Wait()

	sum := &matrix.Summary{Pods: len(pods), Namespaces: n}
	total := counts{pairs: make([][2]int, n*n), egress: make([]int, len(e.w.Policies)), ingress: make([]int, len(e.w.Policies))}
	for _, c := range parts {
		for i, p := range c.pairs {
			total.pairs[i][0] += p[0]
			total.pairs[i][1] += p[1]
		}
		for i := range c.egress {
			total.egress[i] += c.egress[i]
			total.ingress[i] += c.ingress[i]
		}
		sum.Open += c.open
		sum.Undecided += c.undecided
	}
	for i, a := range nsNames {
		for j, b := range nsNames {
			p := total.pairs[i*n+j]
			if p[0]+p[1] == 0 {
				continue
			}
			sum.Pairs = append(sum.Pairs, matrix.PairCount{From: a, To: b, Allowed: p[0], Blocked: p[1]})
			sum.Allowed += p[0]
			sum.Blocked += p[1]
		}
	}
	sort.Slice(sum.Pairs, func(i, j int) bool {
		if sum.Pairs[i].From != sum.Pairs[j].From {
			return sum.Pairs[i].From < sum.Pairs[j].From
		}
		return sum.Pairs[i].To < sum.Pairs[j].To
	})
	for i, np := range e.w.Policies {
		sum.Policies = append(sum.Policies, matrix.PolicyCount{Namespace: np.Namespace, Name: np.Name, Egress: total.egress[i], Ingress: total.ingress[i]})
	}
	sort.SliceStable(sum.Policies, func(i, j int) bool { return sum.Policies[i].Total() > sum.Policies[j].Total() })
	return sum
}

// admitters appends to out the index of every policy with a rule of side s
// that admits the connection (each policy once), and reports whether any
// did. A side's rules are grouped by policy.
func (e *Engine) admitters(s side, peer Endpoint, peerID int, dst *world.Pod, p world.Port, polIndex map[*networkingv1.NetworkPolicy]int, out *[]int) bool {
	var last *networkingv1.NetworkPolicy
	for _, r := range s.rules {
		if r.policy == last {
			continue
		}
		if _, ok := r.peerMatches(peer, peerID); !ok {
			continue
		}
		if _, ok := r.portMatches(dst, p.Port, p.Protocol); ok {
			last = r.policy
			*out = append(*out, polIndex[r.policy])
		}
	}
	return len(*out) > 0
}
