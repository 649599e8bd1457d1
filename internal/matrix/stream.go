package matrix

import (
	"bufio"
	"io"
)

// JSONEncoder writes {"results":[...]} in pieces, for matrices too large to
// hold: cells are encoded with AppendJSONCells (on any goroutine, in any
// number of batches) and the batches written in canonical order with Write.
// The output is byte for byte what WriteJSON writes for the same cells.
type JSONEncoder struct {
	bw      *bufio.Writer
	started bool // a cell was written
}

// NewJSONEncoder starts the document on w.
func NewJSONEncoder(w io.Writer) *JSONEncoder {
	bw := bufio.NewWriterSize(w, 256*1024)
	bw.WriteString(`{"results":[`)
	return &JSONEncoder{bw: bw}
}

// AppendJSONCells appends cells to buf as a batch for JSONEncoder.Write.
// Each cell is preceded by ",\n  "; Write drops the comma of the document's
// first cell.
func AppendJSONCells(buf []byte, cells []Cell) []byte {
	for _, c := range cells {
		buf = append(buf, ",\n  "...)
		buf = appendCell(buf, c)
	}
	return buf
}

// Write writes one batch made by AppendJSONCells. An empty batch is fine.
func (e *JSONEncoder) Write(batch []byte) error {
	if len(batch) == 0 {
		return nil
	}
	if !e.started {
		e.started = true
		batch = batch[1:]
	}
	_, err := e.bw.Write(batch)
	return err
}

// Close ends the document and flushes it; it does not close the writer.
func (e *JSONEncoder) Close() error {
	if e.started {
		e.bw.WriteByte('\n')
	}
	e.bw.WriteString("]}\n")
	return e.bw.Flush()
}
