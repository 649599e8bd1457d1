package world

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"

	"sigs.k8s.io/yaml"
)

// A batch holds YAML documents read but not yet decoded. Decoding (YAML to
// JSON, strict decoding, validation) is most of the cost of reading, so a
// batch is decoded by one goroutine per CPU; results are merged in
// document order, so objects, errors and notes come out exactly as if
// decoded one by one. A batch holds at most batchBytes of raw YAML.
type batch struct {
	data []byte // the documents, back to back
	docs []batchDoc
}

type batchDoc struct {
	src        Source
	start, end int // in data
	objs       Objects
	errs       Errors
	notes      bytes.Buffer
}

const (
	batchBytes = 4 << 20
	batchDocs  = 4096
)

// queueYAML adds the document held in s.buf to the batch, decoding the
// batch when it is full.
func (s *stream) queueYAML(doc document) {
	if !doc.content || isBlank(s.buf) {
		return
	}
	b := &s.batch
	start := len(b.data)
	b.data = append(b.data, s.buf...)
	b.docs = append(b.docs, batchDoc{src: Source{File: s.name, Doc: doc.index, Line: doc.line, Item: -1}, start: start, end: len(b.data)})
	if len(b.data) >= batchBytes || len(b.docs) >= batchDocs {
		s.flush()
	}
}

// flush decodes the batch and merges it, in order, into the stream's
// results.
func (s *stream) flush() {
	b := &s.batch
	if len(b.docs) == 0 {
		return
	}
	workers := min(runtime.GOMAXPROCS(0), len(b.docs))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(b.docs); i += workers {
				d := &b.docs[i]
				d.errs = decodeYAML(d.src, b.data[d.start:d.end], &d.objs, &d.notes)
			}
		}(w)
	}
	wg.Wait()
	for i := range b.docs {
		d := &b.docs[i]
		s.objs.Merge(&d.objs)
		s.errs = append(s.errs, d.errs...)
		s.notes.Write(d.notes.Bytes())
	}
	clear(b.docs)
	b.docs = b.docs[:0]
	b.data = b.data[:0]
}

// decodeYAML decodes one YAML document.
func decodeYAML(src Source, data []byte, objs *Objects, notes *bytes.Buffer) Errors {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return Errors{{Source: src, Err: fmt.Errorf("malformed YAML: %s", shiftLines(err.Error(), src.Line))}}
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil
	}
	return decodeObject(src, js, objs, notes)
}
