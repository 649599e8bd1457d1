package netpol

import (
	"runtime"

	corev1 "k8s.io/api/core/v1"
	"sync"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/world"
)

// Matrix predicts the full reachability matrix: every ordered pair of
// distinct pods x every container port of the destination pod. Source pods
// are split across the CPUs; the result is in canonical order.
func (e *Engine) Matrix() *matrix.Matrix {
	return e.MatrixOf(e.w.Pods, e.w.Pods)
}

// MatrixOf is Matrix restricted to the given sources and destinations (both
// must be pods of the engine's world, in world order). The result is
// allocated once: every row's offset is known before any cell is decided.
func (e *Engine) MatrixOf(from, to []*world.Pod) *matrix.Matrix {
	perSrc := 0
	dests := e.destinations(to)
	toIndex := make(map[*world.Pod]int, len(to))
	for i, d := range to {
		perSrc += len(d.Ports)
		toIndex[d] = i
	}
	offsets := make([]int, len(from)+1)
	for i, src := range from {
		n := perSrc
		if _, ok := toIndex[src]; ok {
			n -= len(src.Ports) // no cells from a pod to itself
		}
		offsets[i+1] = offsets[i] + n
	}
	cells := make([]matrix.Cell, offsets[len(from)])
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	next := make(chan int, len(from))
	for i := range from {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				e.row(from[i], dests, cells[offsets[i]:offsets[i+1]])
			}
		}()
	}
	wg.Wait()
	return &matrix.Matrix{Results: cells}
}

// destPort is one destination port: what deciding its cells needs, looked
// up once for every row and laid out flat, so a row's scan stays in the
// CPU's caches on worlds of thousands of pods.
type destPort struct {
	ep    Endpoint
	key   string
	id    int
	port  int32
	proto corev1.Protocol
}

// destinations lists every port of to, in canonical order.
func (e *Engine) destinations(to []*world.Pod) []destPort {
	n := 0
	for _, dst := range to {
		n += len(dst.Ports)
	}
	out := make([]destPort, 0, n)
	for _, dst := range to {
		d := PodEndpoint(dst)
		key, id := dst.Key(), e.id(d)
		for _, p := range dst.Ports {
			out = append(out, destPort{ep: d, key: key, id: id, port: p.Port, proto: p.Protocol})
		}
	}
	return out
}

// row fills out with the cells from src to every destination.
func (e *Engine) row(src *world.Pod, to []destPort, out []matrix.Cell) {
	srcKey := src.Key()
	s := PodEndpoint(src)
	srcID := e.id(s) // looked up once per row, not per cell
	k := 0
	for i := range to {
		d := &to[i]
		if d.ep.Pod == src {
			continue
		}
		if addressed(s) && addressed(d.ep) {
			out[k] = matrix.Cell{
				From: srcKey, To: d.key, Port: d.port, Protocol: string(d.proto),
				Allowed: e.allowed(s, d.ep, srcID, d.id, d.port, d.proto),
			}
		} else {
			// A pod without an address: the verdict may be undecided.
			out[k] = e.Decide(s, d.ep, d.port, d.proto).Cell(srcKey, d.key, d.port, d.proto)
		}
		k++
	}
}
