package world

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// A stream is one input being read: YAML documents are cut at "---" lines
// and decoded one at a time; a JSON value (what 'kubectl get -o json'
// prints, compact or not, or one object per line) is scanned with a small
// structural reader that hands each item of a List to the decoder on its
// own. Lines have no length limit; only one document, or one List item, is
// ever held as raw bytes.
type stream struct {
	name  string
	br    *bufio.Reader
	line  int // newlines consumed so far
	objs  *Objects
	notes io.Writer
	errs  Errors
	buf   []byte // the current YAML document
	val   []byte // the current JSON value
	batch batch  // YAML documents read, not yet decoded
}

// errStop ends the reading of an input after an error that leaves no
// reliable place to resume (malformed JSON); the error is already in errs.
var errStop = errors.New("stop")

// decodeStream decodes every document of r into objs. Problems with
// objects are returned as Errors; an input that cannot be read (too
// large, NUL bytes, I/O errors, interrupted) is the error.
func decodeStream(name string, r io.Reader, objs *Objects, notes io.Writer) (Errors, error) {
	s := &stream{name: name, br: bufio.NewReaderSize(r, 64<<10), objs: objs, notes: notes}
	if err := s.run(); err != nil && err != errStop {
		return nil, err
	}
	s.flush()
	return s.errs, nil
}

type document struct {
	index   int // 0-based, counting YAML documents
	line    int // 1-based line the document starts on
	content bool
}

var docSep = regexp.MustCompile(`^---(\s+(.*))?$`)

func (s *stream) run() error {
	cur := document{index: 0, line: 1}
	afterJSON := false
	s.buf = s.buf[:0]
	for {
		if !cur.content {
			isJSON, err := s.peekJSON()
			if err != nil {
				return err
			}
			if isJSON {
				if afterJSON {
					cur.index++
				}
				if err := s.jsonDocument(document{index: cur.index, line: s.line + 1}); err != nil {
					return err
				}
				afterJSON = true
				cur = document{index: cur.index, line: s.line + 1}
				s.buf = s.buf[:0]
				continue
			}
		}
		line, err := s.readLine()
		if err != nil && err != io.EOF {
			return err
		}
		if err == io.EOF && len(line) == 0 {
			s.queueYAML(cur)
			return nil
		}
		if len(line) >= 3 && line[0] == '-' && line[1] == '-' && line[2] == '-' {
			if m := docSep.FindSubmatch(line); m != nil {
				s.queueYAML(cur)
				afterJSON = false
				cur = document{index: cur.index + 1, line: s.line + 1}
				s.buf = s.buf[:0]
				// "--- {kind: ...}" starts the document on the separator line.
				if rest := bytes.TrimSpace(m[2]); len(rest) > 0 && rest[0] != '#' {
					cur.line = s.line
					cur.content = true
					s.buf = append(append(s.buf, rest...), '\n')
				}
				if err == io.EOF {
					s.queueYAML(cur)
					return nil
				}
				continue
			}
		}
		s.buf = append(append(s.buf, line...), '\n')
		if !cur.content && !blankLine(line) {
			cur.content = true
		}
		if err == io.EOF {
			s.queueYAML(cur)
			return nil
		}
	}
}

// readLine returns the next line without its line ending, however long it
// is; the slice is valid until the next read.
func (s *stream) readLine() ([]byte, error) {
	frag, err := s.br.ReadSlice('\n')
	var line []byte
	if err == bufio.ErrBufferFull {
		line = append([]byte(nil), frag...)
		for err == bufio.ErrBufferFull {
			frag, err = s.br.ReadSlice('\n')
			line = append(line, frag...)
		}
	} else {
		line = frag
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		s.line++
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line, err
}

func blankLine(l []byte) bool {
	t := bytes.TrimSpace(l)
	return len(t) == 0 || t[0] == '#'
}

func isBlank(data []byte) bool {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		if !blankLine(data[:i]) {
			return false
		}
		data = data[min(i+1, len(data)):]
	}
	return true
}

// peekJSON reports whether the next line starts a JSON object: "{" then a
// quoted key or "}". YAML flow mappings ("{kind: Pod}") stay YAML.
func (s *stream) peekJSON() (bool, error) {
	for n := 64; ; n *= 4 {
		b, err := s.br.Peek(n)
		i := 0
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		if i < len(b) {
			if b[i] != '{' {
				return false, nil
			}
			for i++; i < len(b) && isJSONSpace(b[i]); i++ {
			}
			if i < len(b) {
				return b[i] == '"' || b[i] == '}', nil
			}
		}
		if err != nil {
			if err == io.EOF || err == bufio.ErrBufferFull {
				return false, nil
			}
			return false, err
		}
	}
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

var yamlLine = regexp.MustCompile(`line (\d+)`)

// shiftLines rewrites "line N" inside a decoder message so it counts from
// the start of the file rather than the document. The YAML library counts
// parser errors ("did not find expected ...") from 0 and scanner errors
// from 1; both come out 1-based here.
func shiftLines(msg string, start int) string {
	parser := 0
	if strings.Contains(msg, "did not find expected") {
		parser = 1
	}
	return yamlLine.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(m[5:])
		return fmt.Sprintf("line %d", n+start-1+parser)
	})
}

// JSON

func (s *stream) readByte() (byte, error) {
	c, err := s.br.ReadByte()
	if c == '\n' && err == nil {
		s.line++
	}
	return c, err
}

// skipSpace consumes JSON whitespace and returns the next byte, unread.
func (s *stream) skipSpace() (byte, error) {
	for {
		c, err := s.readByte()
		if err != nil {
			return 0, err
		}
		if !isJSONSpace(c) {
			s.br.UnreadByte()
			return c, nil
		}
	}
}

// jsonValue appends one JSON value to buf. Only its extent is found here
// (nesting, strings and escapes); its syntax is checked by the decoder.
func (s *stream) jsonValue(buf []byte) ([]byte, error) {
	c, err := s.skipSpace()
	if err != nil {
		return buf, err
	}
	switch c {
	case '{', '[':
		depth := 0
		for {
			c, err := s.readByte()
			if err != nil {
				return buf, err
			}
			buf = append(buf, c)
			switch c {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return buf, nil
				}
			case '"':
				if buf, err = s.jsonStringRest(buf); err != nil {
					return buf, err
				}
			}
		}
	case '"':
		s.readByte()
		return s.jsonStringRest(append(buf, '"'))
	case '}', ']', ',', ':':
		return buf, fmt.Errorf("unexpected %q", c)
	default:
		for {
			c, err := s.readByte()
			if err == io.EOF {
				return buf, nil
			}
			if err != nil {
				return buf, err
			}
			if isJSONSpace(c) || c == ',' || c == '}' || c == ']' || c == ':' {
				if c == '\n' {
					s.line--
				}
				s.br.UnreadByte()
				return buf, nil
			}
			buf = append(buf, c)
		}
	}
}

// jsonStringRest appends the rest of a string whose opening quote is
// already in buf.
func (s *stream) jsonStringRest(buf []byte) ([]byte, error) {
	for {
		frag, err := s.br.ReadSlice('"')
		buf = append(buf, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return buf, err
		}
		// The quote ends the string unless an odd number of backslashes
		// precede it.
		n := 0
		for i := len(buf) - 2; i >= 0 && buf[i] == '\\'; i-- {
			n++
		}
		if n%2 == 0 {
			return buf, nil
		}
	}
}

func (s *stream) expect(want byte) error {
	c, err := s.skipSpace()
	if err != nil {
		return err
	}
	if c != want {
		return fmt.Errorf("expected %q, found %q", want, c)
	}
	s.readByte()
	return nil
}

// jsonDocument decodes one top-level JSON object. The items of a List are
// decoded one by one as they are read; they count only once the object's
// kind (which kubectl prints after the items) says it is a List.
func (s *stream) jsonDocument(doc document) error {
	s.flush() // documents before this one come first
	src := Source{File: s.name, Doc: doc.index, Line: doc.line, Item: -1}
	fail := func(err error) error {
		var ie *inputError
		if errors.As(err, &ie) {
			return err
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = errors.New("unexpected end of input")
		}
		s.errs = append(s.errs, &Error{Source: src, Err: fmt.Errorf("malformed JSON: line %d: %v", s.line+1, err)})
		return errStop
	}
	if err := s.expect('{'); err != nil {
		return fail(err)
	}
	header := []byte{'{'}
	seen := map[string]bool{}
	var items *Objects
	var itemErrs Errors
	var itemNotes bytes.Buffer
	c, err := s.skipSpace()
	if err != nil {
		return fail(err)
	}
	if c == '}' {
		s.readByte()
	} else {
		for {
			if c, err := s.skipSpace(); err != nil {
				return fail(err)
			} else if c != '"' {
				return fail(fmt.Errorf("expected a quoted field name, found %q", c))
			}
			rawKey, err := s.jsonValue(nil)
			if err != nil {
				return fail(err)
			}
			var key string
			if err := json.Unmarshal(rawKey, &key); err != nil {
				return fail(err)
			}
			if seen[key] {
				s.errs = append(s.errs, &Error{Source: src, Err: fmt.Errorf("duplicate field %q", key)})
				return errStop
			}
			seen[key] = true
			if err := s.expect(':'); err != nil {
				return fail(err)
			}
			c, err := s.skipSpace()
			if err != nil {
				return fail(err)
			}
			if key == "items" && c == '[' {
				s.readByte()
				items = &Objects{}
				for i := 0; ; i++ {
					c, err := s.skipSpace()
					if err != nil {
						return fail(err)
					}
					if c == ']' && i == 0 {
						s.readByte()
						break
					}
					s.val, err = s.jsonValue(s.val[:0])
					if err != nil {
						return fail(err)
					}
					is := src
					is.Item = i
					itemErrs = append(itemErrs, decodeObject(is, s.val, items, &itemNotes)...)
					c, err = s.skipSpace()
					if err != nil {
						return fail(err)
					}
					s.readByte()
					if c == ']' {
						break
					}
					if c != ',' {
						return fail(fmt.Errorf("expected ',' or ']' after items[%d], found %q", i, c))
					}
				}
			} else {
				s.val, err = s.jsonValue(s.val[:0])
				if err != nil {
					return fail(err)
				}
				if len(header) > 1 {
					header = append(header, ',')
				}
				header = append(append(append(header, rawKey...), ':'), s.val...)
			}
			c, err = s.skipSpace()
			if err != nil {
				return fail(err)
			}
			s.readByte()
			if c == '}' {
				break
			}
			if c != ',' {
				return fail(fmt.Errorf("expected ',' or '}' after field %q, found %q", key, c))
			}
		}
	}
	if items != nil {
		var tm struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(append(header, '}'), &tm); err == nil && strings.HasSuffix(tm.Kind, "List") {
			s.objs.Merge(items)
			s.errs = append(s.errs, itemErrs...)
			s.notes.Write(itemNotes.Bytes())
			return nil
		}
		// Not a List: its items field is decoded (and rejected, or the
		// object ignored) like any other field.
		if len(header) > 1 {
			header = append(header, ',')
		}
		header = append(header, `"items":[]`...)
	}
	header = append(header, '}')
	s.errs = append(s.errs, decodeObject(src, header, s.objs, s.notes)...)
	return nil
}

// inputError is a problem reading an input (too large, NUL bytes, I/O,
// interrupted), as opposed to a problem with what it says.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }
