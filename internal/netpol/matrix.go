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
// must be pods of the engine's world, in world order).
func (e *Engine) MatrixOf(from, to []*world.Pod) *matrix.Matrix {
	perSrc := 0
	toKeys := make([]string, len(to))
	for i, d := range to {
		perSrc += len(d.Ports)
		toKeys[i] = d.Key()
	}
	rows := make([][]matrix.Cell, len(from))
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
				rows[i] = e.row(from[i], to, toKeys, perSrc)
			}
		}()
	}
	wg.Wait()
	n := 0
	for _, r := range rows {
		n += len(r)
	}
	m := &matrix.Matrix{Results: make([]matrix.Cell, 0, n)}
	for _, r := range rows {
		m.Results = append(m.Results, r...)
	}
	return m
}

func (e *Engine) row(src *world.Pod, to []*world.Pod, toKeys []string, size int) []matrix.Cell {
	out := make([]matrix.Cell, 0, size)
	srcKey := src.Key()
	s := PodEndpoint(src)
	for i, dst := range to {
		if dst == src {
			continue
		}
		d := PodEndpoint(dst)
		dstKey := toKeys[i]
		for _, p := range dst.Ports {
			out = append(out, matrix.Cell{
				From: srcKey, To: dstKey, Port: p.Port, Protocol: string(p.Protocol),
				Allowed: e.Allowed(s, d, p.Port, p.Protocol),
			})
		}
	}
	return out
}
