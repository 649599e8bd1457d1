package netpol_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"runtime"
	"testing"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/internal/worldgen"
)

// every returns every k-th pod of w, in world order.
func every(w *world.World, k int) []*world.Pod {
	var out []*world.Pod
	for i, p := range w.Pods {
		if i%k == 0 {
			out = append(out, p)
		}
	}
	return out
}

// TestWriteJSONEqualsMatrix: the streamed JSON is byte for byte the JSON of
// the matrix the engine builds whole (the path sim took before streaming),
// on random worlds and on subsets of sources and destinations, and decodes
// to the same cells.
func TestWriteJSONEqualsMatrix(t *testing.T) {
	for seed := int64(0); seed < 60; seed++ {
		w := worldgen.Generate(seed, worldgen.Options{Namespaces: 1 + int(seed%4), Pods: 1 + int(seed%23), Policies: int(seed % 9)})
		e := netpol.New(w)
		for _, sel := range []struct {
			name     string
			from, to []*world.Pod
		}{
			{"all", w.Pods, w.Pods},
			{"every 2nd source", every(w, 2), w.Pods},
			{"every 3rd destination", w.Pods, every(w, 3)},
			{"none", nil, w.Pods},
		} {
			m := e.MatrixOf(sel.from, sel.to)
			var want, got bytes.Buffer
			if err := m.WriteJSON(&want); err != nil {
				t.Fatal(err)
			}
			if err := e.WriteJSON(&got, sel.from, sel.to); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("seed %d, %s: streamed JSON differs:\n got %s\nwant %s", seed, sel.name, got.String(), want.String())
			}
			back, err := readMatrixJSON(&got)
			if err != nil {
				t.Fatalf("seed %d, %s: %v", seed, sel.name, err)
			}
			if len(back.Results) != len(m.Results) || (len(m.Results) > 0 && !reflect.DeepEqual(back.Results, m.Results)) {
				t.Fatalf("seed %d, %s: decoded %d cells, want %d (or they differ)", seed, sel.name, len(back.Results), len(m.Results))
			}
		}
	}
}

// failAfter fails every write once n bytes have been written, as a closed
// pipe does ('netlab sim -o json | head').
type failAfter struct{ n int }

var errClosed = errors.New("closed pipe")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errClosed
	}
	return len(p), nil
}

func TestWriteJSONStopsOnWriteError(t *testing.T) {
	w := worldgen.Generate(3, worldgen.Options{Namespaces: 4, Pods: 300, Policies: 30})
	e := netpol.New(w)
	if err := e.WriteJSON(&failAfter{n: 1 << 20}, w.Pods, w.Pods); !errors.Is(err, errClosed) {
		t.Fatalf("got %v, want the writer's error", err)
	}
}

// allocated is the bytes the heap handed out while f ran.
func allocated(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestWriteJSONMemoryIsPerRow: streaming allocates a few row buffers per
// worker, never anything per cell, so quadrupling the cells (doubling the
// pods) at most doubles what it allocates (rows are twice as long), and it
// is a small fraction of the whole matrix, which costs a Cell (~100 bytes)
// per cell. Bytes counted by the runtime, not time.
func TestWriteJSONMemoryIsPerRow(t *testing.T) {
	perCell := func(pods int) (stream, whole float64, cells int) {
		w := worldgen.Generate(5, worldgen.Options{Namespaces: 10, Pods: pods, Policies: pods / 5})
		e := netpol.New(w)
		var n countingWriter
		s := allocated(func() {
			if err := e.WriteJSON(&n, w.Pods, w.Pods); err != nil {
				t.Fatal(err)
			}
		})
		var m *matrix.Matrix
		a := allocated(func() { m = e.Matrix() })
		cells = len(m.Results)
		return float64(s) / float64(cells), float64(a) / float64(cells), cells
	}
	s1, w1, c1 := perCell(300)
	s2, w2, c2 := perCell(600)
	t.Logf("%d cells: streaming %.2f B/cell, whole matrix %.1f B/cell", c1, s1, w1)
	t.Logf("%d cells: streaming %.2f B/cell, whole matrix %.1f B/cell", c2, s2, w2)
	if w2 < 64 {
		t.Fatalf("the whole matrix allocates %.1f B/cell: this test no longer measures anything", w2)
	}
	if s2 > w2/20 {
		t.Errorf("streaming allocates %.2f B/cell on %d cells, the whole matrix %.1f: something is held per cell", s2, c2, w2)
	}
	if s2 > 0.75*s1 {
		t.Errorf("streaming allocates %.2f B/cell on %d cells and %.2f B/cell on %d: it grows with the cells", s2, c2, s1, c1)
	}
}

type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

// The JSON contract sim's users rely on: the stream is one JSON document.
func TestWriteJSONIsOneDocument(t *testing.T) {
	w := worldgen.Generate(9, worldgen.Options{Namespaces: 3, Pods: 40, Policies: 10})
	var buf bytes.Buffer
	if err := netpol.New(w).WriteJSON(&buf, w.Pods, w.Pods); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []map[string]any `json:"results"`
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil || len(doc.Results) == 0 || dec.More() {
		t.Fatalf("not one document with results: %v (%d results)", err, len(doc.Results))
	}
}

// readMatrixJSON decodes what WriteJSON wrote.
func readMatrixJSON(r io.Reader) (*matrix.Matrix, error) {
	var m matrix.Matrix
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, err
	}
	return &m, nil
}
