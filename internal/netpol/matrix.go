package netpol

import (
	"runtime"
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
	toKeys := make([]string, len(to))
	toIndex := make(map[*world.Pod]int, len(to))
	for i, d := range to {
		perSrc += len(d.Ports)
		toKeys[i] = d.Key()
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
				e.row(from[i], to, toKeys, cells[offsets[i]:offsets[i+1]])
			}
		}()
	}
	wg.Wait()
	return &matrix.Matrix{Results: cells}
}

// row fills out with the cells from src to every destination.
func (e *Engine) row(src *world.Pod, to []*world.Pod, toKeys []string, out []matrix.Cell) {
	srcKey := src.Key()
	s := PodEndpoint(src)
	srcID := e.id(s) // looked up once per row, not per cell
	k := 0
	for i, dst := range to {
		if dst == src {
			continue
		}
		d := PodEndpoint(dst)
		dstID := e.id(d)
		for _, p := range dst.Ports {
			out[k] = matrix.Cell{
				From: srcKey, To: toKeys[i], Port: p.Port, Protocol: string(p.Protocol),
				Allowed: e.allowed(s, d, srcID, dstID, p.Port, p.Protocol),
			}
			k++
		}
	}
}
