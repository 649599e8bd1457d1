package netpol

import (
	"io"
	"runtime"
	"sync"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/world"
)

// EachRow decides the cells of from x to (the cells MatrixOf returns, in
// the same order) without holding them: one source's row at a time, on
// every CPU. For each source, encode runs on the worker goroutine that
// decided the row, with the row's cells (valid only during the call) and a
// recycled buffer to append to; emit then runs on the calling goroutine,
// in source order, with what encode appended. Only a few rows per CPU are
// in flight, so memory grows with the number of pods, not of cells. The
// first error from emit stops the work and is returned.
func (e *Engine) EachRow(from, to []*world.Pod, encode func(buf []byte, cells []matrix.Cell) []byte, emit func([]byte) error) error {
	perSrc := 0
	dests := e.destinations(to)
	inTo := make(map[*world.Pod]bool, len(to))
	for _, d := range to {
		perSrc += len(d.Ports)
		inTo[d] = true
	}
	rowLen := func(src *world.Pod) int {
		if inTo[src] {
			return perSrc - len(src.Ports) // no cells from a pod to itself
		}
		return perSrc
	}

	workers := runtime.GOMAXPROCS(0)
	type job struct {
		src  *world.Pod
		done chan []byte
	}
	jobs := make(chan job)
	// At most window rows are decided or waiting to be written.
	window := make(chan chan []byte, 2*workers)
	stop := make(chan struct{})
	free := make(chan []byte, 3*workers) // encoded rows, for reuse

	go func() {
		defer close(window)
		defer close(jobs)
		for _, src := range from {
			select {
			case <-stop:
				return
			default:
			}
			done := make(chan []byte, 1)
			select {
			case window <- done:
			case <-stop:
				return
			}
			jobs <- job{src, done}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cells []matrix.Cell
			for j := range jobs {
				n := rowLen(j.src)
				if cap(cells) < n {
					cells = make([]matrix.Cell, n)
				}
				e.row(j.src, dests, cells[:n])
				var buf []byte
				select {
				case buf = <-free:
				default:
					buf = make([]byte, 0, 128*n) // a JSON cell is about 90 bytes
				}
				j.done <- encode(buf[:0], cells[:n])
			}
		}()
	}
	var err error
	for done := range window {
		buf := <-done
		if err == nil {
			if err = emit(buf); err != nil {
				close(stop)
			}
		}
		select {
		case free <- buf:
		default:
		}
	}
	wg.Wait()
	return err
}

// WriteJSON writes the matrix of from x to as {"results":[...]}, streamed:
// byte for byte what MatrixOf(from, to).WriteJSON writes, in constant
// memory per row.
func (e *Engine) WriteJSON(w io.Writer, from, to []*world.Pod) error {
	enc := matrix.NewJSONEncoder(w)
	if err := e.EachRow(from, to, matrix.AppendJSONCells, enc.Write); err != nil {
		return err
	}
	return enc.Close()
}
