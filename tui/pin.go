package tui

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// The instruction is the sentence of the brief a task is graded on, the one
// in bold. On a short terminal the brief pane shows a few lines and the
// instruction can be below the fold, so it is pinned under the title bar,
// over the brief and the check result alike.

var boldSpan = regexp.MustCompile(`(?s)\*\*(.+?)\*\*`)

// maxPinLines is the most the instruction takes; a longer one ends in "…"
// (the brief below has it whole).
const maxPinLines = 3

// instruction returns the brief's instruction as plain text: its longest
// bold span, without markdown, on one line, its first letter capitalised
// unless it is code ("" if it has none).
func instruction(brief string) string {
	best := ""
	for _, m := range boldSpan.FindAllStringSubmatch(brief, -1) {
		if len(m[1]) > len(best) {
			best = m[1]
		}
	}
	code := strings.HasPrefix(best, "`") // a name: keep its case
	best = strings.Join(strings.Fields(strings.ReplaceAll(best, "`", "")), " ")
	if r, size := utf8.DecodeRuneInString(best); size > 0 && !code {
		best = string(unicode.ToUpper(r)) + best[size:]
	}
	return best
}

// pinLines are the pinned instruction's lines at the current width.
func (m lessonModel) pinLines() []string {
	if !m.haveTask || m.done {
		return nil
	}
	text := instruction(m.task.Brief)
	if text == "" {
		return nil
	}
	w := max(m.width-3, 10)
	lines := strings.Split(ansi.Wordwrap("▸ "+text, w, " "), "\n")
	if len(lines) > maxPinLines {
		lines = lines[:maxPinLines]
		lines[maxPinLines-1] = ansi.Truncate(lines[maxPinLines-1]+" …", w, "…")
	}
	for i, l := range lines {
		if i > 0 {
			l = "  " + l
		}
		lines[i] = " " + m.st.bold.Render(ansi.Truncate(l, w, "…"))
	}
	return lines
}
