package course

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of a message about a submission: what a student wrote may end up
// quoted in a CI log, a terminal or a JUnit report, so it is cut short.
const (
	maxExcerptRunes = 400 // per line
	maxExcerptLines = 20  // in all
)

// Excerpt makes s safe to print: control characters other than newline
// and tab, Unicode bidi and other invisible format characters and invalid
// UTF-8 are escaped (\x1b, \u202e), each line is cut at maxExcerptRunes
// runes and the whole at maxExcerptLines lines, each cut said so.
func Excerpt(s string) string {
	lines := strings.Split(s, "\n")
	var b strings.Builder
	for i, line := range lines {
		if i == maxExcerptLines {
			fmt.Fprintf(&b, "\n… %d more lines", len(lines)-i)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		runes := 0
		for j, w := 0, 0; j < len(line); j += w {
			r, size := utf8.DecodeRuneInString(line[j:])
			w = size
			if runes == maxExcerptRunes {
				fmt.Fprintf(&b, "… (%d more bytes)", len(line)-j)
				break
			}
			runes++
			switch {
			case r == utf8.RuneError && size == 1:
				fmt.Fprintf(&b, `\x%02x`, line[j])
			case r == '\t':
				b.WriteRune(r)
			case r < 0x80 && unicode.IsControl(r):
				fmt.Fprintf(&b, `\x%02x`, r)
			case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// excerptError is an error whose message went through Excerpt; it keeps
// the original for errors.Is and errors.As.
type excerptError struct {
	msg string
	err error
}

func (e *excerptError) Error() string { return e.msg }
func (e *excerptError) Unwrap() error { return e.err }

// safeError returns err with its message made safe to print (nil for nil).
func safeError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*excerptError); ok {
		return err
	}
	return &excerptError{msg: Excerpt(err.Error()), err: err}
}
