// Package matrix is a reachability matrix: for ordered pairs of pods and
// each port of the destination, whether a connection is allowed. The engine
// predicts one, the probes measure one, and grading compares two. It also
// renders matrices as JSON, a terminal table and a mermaid graph.
package matrix

import (
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
	// DetailUndecided marks a predicted cell with no verdict: a pod without
	// an address meets a rule only an ipBlock could decide. Allowed is
	// false and means nothing; JSON says "allowed": null and Reason why.
	DetailUndecided = "undecided"
)

// Cell is one connection: from a pod to a pod's port.
type Cell struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
	Allowed  bool   `json:"allowed"`
	Detail   string `json:"detail,omitempty"`
	// Reason says why an undecided cell has no verdict.
	Reason string `json:"reason,omitempty"`
	// Why holds the enforcer's own verdicts for the cell's packets, one
	// line per policy side (probe --why).
	Why []string `json:"why,omitempty"`
}

// Undecided reports whether the cell has no verdict (DetailUndecided).
func (c Cell) Undecided() bool { return c.Detail == DetailUndecided }

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

// WriteJSON writes the matrix as {"results":[...]}, a bounded batch of
// cells at a time (matrices of a million cells are normal); it writes
// exactly what a JSONEncoder given the same cells writes.
func (m *Matrix) WriteJSON(w io.Writer) error {
	enc := NewJSONEncoder(w)
	var buf []byte
	for i := 0; i < len(m.Results); i += 4096 {
		buf = AppendJSONCells(buf[:0], m.Results[i:min(i+4096, len(m.Results))])
		if err := enc.Write(buf); err != nil {
			return err
		}
	}
	return enc.Close()
}

// appendCell appends one cell as a JSON object.
func appendCell(w []byte, c Cell) []byte {
	w = append(w, `{"from":`...)
	w = appendString(w, c.From)
	w = append(w, `,"to":`...)
	w = appendString(w, c.To)
	w = append(w, `,"port":`...)
	w = strconv.AppendInt(w, int64(c.Port), 10)
	w = append(w, `,"protocol":`...)
	w = appendString(w, c.Protocol)
	w = append(w, `,"allowed":`...)
	if c.Undecided() {
		w = append(w, "null"...)
	} else {
		w = strconv.AppendBool(w, c.Allowed)
	}
	if c.Detail != "" {
		w = append(w, `,"detail":`...)
		w = appendString(w, c.Detail)
	}
	if c.Reason != "" {
		w = append(w, `,"reason":`...)
		w = appendString(w, c.Reason)
	}
	return append(w, '}')
}

// plain are the bytes encoding/json copies as they are.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as encoding/json writes it: plain printable ASCII
// (every pod name, namespace and protocol) is copied between quotes, and
// anything else goes through encoding/json, so the bytes are the same.
func appendString(w []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plain[s[i]] {
			b, _ := json.Marshal(s)
			return append(w, b...)
		}
	}
	w = append(w, '"')
	w = append(w, s...)
	return append(w, '"')
}

// Mismatch is a cell on which two matrices disagree.
type Mismatch struct {
	Key      Key
	Got      *Cell // nil when missing from the measured matrix
	Expected *Cell // nil when the expected matrix has no such cell
}

// Compare returns every cell where got differs from expected in its
// verdict, every cell present in only one of them, and every cell that is
// undecided in either (an undecided cell agrees with nothing, so it can
// never pass or fail silently), in canonical order.
func Compare(got, expected *Matrix) []Mismatch {
	gi, ei := got.Index(), expected.Index()
	var out []Mismatch
	for k, e := range ei {
		e := e
		g, ok := gi[k]
		switch {
		case !ok:
			out = append(out, Mismatch{Key: k, Expected: &e})
		case g.Allowed != e.Allowed || g.Undecided() || e.Undecided():
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
