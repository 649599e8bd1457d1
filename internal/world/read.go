package world

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// DefaultMaxInput is how much Read takes from one input (a file or standard
// input) unless told otherwise: far more than any real cluster dump, far
// less than /dev/zero.
const DefaultMaxInput int64 = 1 << 30

// ReadOptions bound what Read takes in.
type ReadOptions struct {
	// MaxInput is the most bytes read from each input; 0 means no limit.
	MaxInput int64
	// Stdin is what the path "-" reads (default os.Stdin).
	Stdin io.Reader
}

// LimitError says an input was larger than ReadOptions.MaxInput.
type LimitError struct {
	File  string
	Limit int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: input is larger than the limit of %s", e.File, FormatSize(e.Limit))
}

// FormatSize prints n bytes as a Kubernetes quantity (1Gi, 512Mi, 1500).
func FormatSize(n int64) string {
	return resource.NewQuantity(n, resource.BinarySI).String()
}

// ParseSize reads a byte count written as a Kubernetes quantity: 1Gi,
// 200Mi, 2G, 1048576.
func ParseSize(s string) (int64, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size (want a number of bytes such as 1Gi, 200Mi or 1048576)", s)
	}
	n, ok := q.AsInt64()
	if !ok || n < 0 {
		return 0, fmt.Errorf("%q is not a size (want a whole, non-negative number of bytes such as 1Gi)", s)
	}
	return n, nil
}

// Read decodes and validates every object in paths without assembling
// them, reading at most DefaultMaxInput from each input.
func Read(paths []string, notes io.Writer) (*Objects, error) {
	return ReadContext(context.Background(), paths, notes, ReadOptions{MaxInput: DefaultMaxInput})
}

// ReadContext is Read with a context that ends the reading (a FIFO with no
// writer blocks until then) and explicit limits. Each input is read as a
// stream, one document (or one item of a JSON List) at a time, with no
// limit on the length of a line; an input that cannot be read whole
// (too large, NUL bytes, an I/O error) is an error naming it.
func ReadContext(ctx context.Context, paths []string, notes io.Writer, opt ReadOptions) (*Objects, error) {
	if notes == nil {
		notes = io.Discard
	}
	objs := &Objects{}
	var errs Errors
	for _, p := range paths {
		files, err := expand(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			es, err := readInput(ctx, f, opt, objs, notes)
			if err != nil {
				return nil, err
			}
			errs = append(errs, es...)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return objs, nil
}

// Parse decodes manifests held in memory, as if read from a file called name.
func Parse(name string, data []byte, notes io.Writer) (*Objects, error) {
	if notes == nil {
		notes = io.Discard
	}
	objs := &Objects{}
	errs, err := decodeStream(name, &guardReader{r: bytes.NewReader(data), name: name}, objs, notes)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return objs, nil
}

// readInput opens one input and decodes it into objs.
func readInput(ctx context.Context, name string, opt ReadOptions, objs *Objects, notes io.Writer) (Errors, error) {
	var r io.Reader
	if name == "-" {
		r = opt.Stdin
		if r == nil {
			r = os.Stdin
		}
	} else {
		f, err := openContext(ctx, name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	// Reads from a regular file or memory end by themselves; anything else
	// (a terminal, a pipe, a FIFO, a device) may block, so it is read in a
	// goroutine that the context can abandon.
	blocking := true
	switch v := r.(type) {
	case *os.File:
		if st, err := v.Stat(); err == nil && st.Mode().IsRegular() {
			blocking = false
		}
	case *bytes.Reader, *strings.Reader, *bytes.Buffer:
		blocking = false
	}
	shown := name
	if name == "-" {
		shown = "standard input (-)"
	}
	g := &guardReader{r: &ctxReader{ctx: ctx, r: r, blocking: blocking}, name: shown, limit: opt.MaxInput}
	errs, err := decodeStream(name, g, objs, notes)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, fmt.Errorf("%s: reading interrupted: %w", name, ctx.Err())
		}
		return nil, err
	}
	return errs, nil
}

// openContext opens a file; opening a FIFO blocks until a writer comes, so
// the context can give up on it.
func openContext(ctx context.Context, name string) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		f, err := os.Open(name)
		ch <- result{f, err}
	}()
	select {
	case r := <-ch:
		return r.f, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.f != nil {
				r.f.Close()
			}
		}()
		return nil, fmt.Errorf("%s: opening interrupted: %w", name, ctx.Err())
	}
}

// ctxReader ends reads when its context is done. A blocking reader is read
// in a goroutine into a buffer of its own, so an abandoned read never
// writes into the caller's memory.
type ctxReader struct {
	ctx      context.Context
	r        io.Reader
	blocking bool
	buf      []byte
	done     chan readResult
	dead     bool
}

type readResult struct {
	n   int
	err error
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if !c.blocking {
		return c.r.Read(p)
	}
	if c.dead {
		return 0, c.ctx.Err()
	}
	if c.done == nil {
		c.done = make(chan readResult, 1)
	}
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	buf := c.buf[:len(p)]
	go func() {
		n, err := c.r.Read(buf)
		c.done <- readResult{n, err}
	}()
	select {
	case res := <-c.done:
		copy(p, buf[:res.n])
		return res.n, res.err
	case <-c.ctx.Done():
		c.dead = true
		c.buf = nil
		return 0, c.ctx.Err()
	}
}

// guardReader rejects input that no manifest can be: more than limit bytes,
// or a NUL byte (YAML and JSON text never holds one; /dev/zero and binary
// files do).
type guardReader struct {
	r     io.Reader
	name  string
	limit int64 // 0: none
	n     int64
}

func (g *guardReader) Read(p []byte) (int, error) {
	if g.limit > 0 && int64(len(p)) > g.limit-g.n+1 {
		p = p[:g.limit-g.n+1]
	}
	k, err := g.r.Read(p)
	if i := bytes.IndexByte(p[:k], 0); i >= 0 {
		return 0, &inputError{fmt.Errorf("%s: byte %d is NUL: not a YAML or JSON manifest", g.name, g.n+int64(i))}
	}
	g.n += int64(k)
	if g.limit > 0 && g.n > g.limit {
		return 0, &inputError{&LimitError{File: g.name, Limit: g.limit}}
	}
	if err != nil && err != io.EOF {
		err = &inputError{fmt.Errorf("%s: %w", g.name, err)}
	}
	return k, err
}

// expand turns a path into files: a directory gives its .yaml, .yml and
// .json files, recursively, in lexical order.
func expand(p string) ([]string, error) {
	if p == "-" {
		return []string{p}, nil
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, path)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .yaml, .yml or .json files in directory", p)
	}
	sort.Strings(files)
	return files, nil
}
