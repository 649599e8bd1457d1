// Package matrix is a reachability matrix: for ordered pairs of pods and
// each port of the destination, whether a connection is allowed. The engine
// predicts one, the probes measure one, and grading compares two. It also
// renders matrices as JSON, a terminal table and a mermaid graph.
package matrix

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
)

// Details a cell can carry besides allowed/denied.
const (
	DetailTimeout     = "timeout"     // no answer before the probe's deadline
	DetailRefused     = "refused"     // the destination said no (RST / ICMP)
	DetailDNSFailed   = "dns-failed"  // the name did not resolve
	DetailUnsupported = "unsupported" // the dataplane cannot carry the protocol
)

// Cell is one connection: from a pod to a pod's port.
type Cell struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
	Allowed  bool   `json:"allowed"`
	Detail   string `json:"detail,omitempty"`
	// Why holds the enforcer's own verdicts for the cell's packets, one
	// line per policy side (probe --why).
	Why []string `json:"why,omitempty"`
}

// Key identifies a cell regardless of its verdict.
type Key struct {
	From, To string
	Port     int32
	Protocol string
}

// Key returns the cell's key.
func (c Cell) Key() Key { return Key{c.From, c.To, c.Port, c.Protocol} }

// String renders "from -> to:port/PROTO".
func (k Key) String() string {
	return fmt.Sprintf("%s -> %s:%d/%s", k.From, k.To, k.Port, k.Protocol)
}

// Matrix is a list of cells in canonical order (from, to, port, protocol).
type Matrix struct {
	Results []Cell `json:"results"`
}

// Sort puts the cells in canonical order.
func (m *Matrix) Sort() {
	sort.Slice(m.Results, func(i, j int) bool { return less(m.Results[i].Key(), m.Results[j].Key()) })
}

func less(a, b Key) bool {
	if a.From != b.From {
		return a.From < b.From
	}
	if a.To != b.To {
		return a.To < b.To
	}
	if a.Port != b.Port {
		return a.Port < b.Port
	}
	return a.Protocol < b.Protocol
}

// Index returns the cells by key.
func (m *Matrix) Index() map[Key]Cell {
	idx := make(map[Key]Cell, len(m.Results))
	for _, c := range m.Results {
		idx[c.Key()] = c
	}
	return idx
}

// Allowed counts allowed cells.
func (m *Matrix) Allowed() int {
	n := 0
	for _, c := range m.Results {
		if c.Allowed {
			n++
		}
	}
	return n
}

// WriteJSON streams the matrix as {"results":[...]} without building it in
// memory first (matrices of a million cells are normal).
func (m *Matrix) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64*1024)
	bw.WriteString(`{"results":[`)
	for i, c := range m.Results {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n  ")
		writeCell(bw, c)
	}
	if len(m.Results) > 0 {
		bw.WriteByte('\n')
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

func writeCell(w *bufio.Writer, c Cell) {
	w.WriteString(`{"from":`)
	writeString(w, c.From)
	w.WriteString(`,"to":`)
	writeString(w, c.To)
	w.WriteString(`,"port":`)
	w.WriteString(strconv.Itoa(int(c.Port)))
	w.WriteString(`,"protocol":`)
	writeString(w, c.Protocol)
	w.WriteString(`,"allowed":`)
	w.WriteString(strconv.FormatBool(c.Allowed))
	if c.Detail != "" {
		w.WriteString(`,"detail":`)
		writeString(w, c.Detail)
	}
	w.WriteByte('}')
}

func writeString(w *bufio.Writer, s string) {
	b, _ := json.Marshal(s)
	w.Write(b)
}

// Mismatch is a cell on which two matrices disagree.
type Mismatch struct {
	Key      Key
	Got      *Cell // nil when missing from the measured matrix
	Expected *Cell // nil when the expected matrix has no such cell
}

// Compare returns every cell where got differs from expected in its
// verdict, and every cell present in only one of them, in canonical order.
func Compare(got, expected *Matrix) []Mismatch {
	gi, ei := got.Index(), expected.Index()
	var out []Mismatch
	for k, e := range ei {
		e := e
		g, ok := gi[k]
		switch {
		case !ok:
			out = append(out, Mismatch{Key: k, Expected: &e})
		case g.Allowed != e.Allowed:
			out = append(out, Mismatch{Key: k, Got: &g, Expected: &e})
		}
	}
	for k, g := range gi {
		g := g
		if _, ok := ei[k]; !ok {
			out = append(out, Mismatch{Key: k, Got: &g})
		}
	}
	sort.Slice(out, func(i, j int) bool { return less(out[i].Key, out[j].Key) })
	return out
}
