package tui

import (
	"strings"

	"github.com/charmbracelet/glamour"
	glamourstyles "github.com/charmbracelet/glamour/styles"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// styles are the lipgloss styles of every screen. They are built once per
// program from the colour decision (Options.NoColor / NO_COLOR), so no
// View ever asks the terminal anything.
type styles struct {
	noColor bool
	dark    bool // the terminal background is dark (glamour's style)

	title     lipgloss.Style // the top bar
	section   lipgloss.Style // a section rule ("── Brief ──")
	focused   lipgloss.Style // the rule of the focused section
	dim       lipgloss.Style
	allowed   lipgloss.Style // ✓
	blocked   lipgloss.Style // ✗
	wrong     lipgloss.Style // a cell the last check found wrong
	ok        lipgloss.Style // status line: success
	bad       lipgloss.Style // status line: failure / error
	bold      lipgloss.Style
	hint      lipgloss.Style
	spinner   lipgloss.Style
	eventDrop lipgloss.Style
	eventPass lipgloss.Style
}

// newStyles returns the styles. With noColor every style is colourless
// (bold and reverse stay: NO_COLOR is about colour).
func newStyles(noColor, dark bool) *styles {
	s := &styles{noColor: noColor, dark: dark}
	c := func(col string) lipgloss.TerminalColor {
		if noColor {
			return lipgloss.NoColor{}
		}
		return lipgloss.Color(col)
	}
	s.title = lipgloss.NewStyle().Bold(true).Foreground(c("230")).Background(c("62")).Padding(0, 1)
	if noColor {
		s.title = lipgloss.NewStyle().Bold(true).Reverse(true).Padding(0, 1)
	}
	s.section = lipgloss.NewStyle().Foreground(c("241"))
	s.focused = lipgloss.NewStyle().Bold(true).Foreground(c("69"))
	s.dim = lipgloss.NewStyle().Foreground(c("243"))
	s.allowed = lipgloss.NewStyle().Foreground(c("42"))
	s.blocked = lipgloss.NewStyle().Foreground(c("203"))
	s.wrong = lipgloss.NewStyle().Bold(true).Reverse(true).Foreground(c("214"))
	s.ok = lipgloss.NewStyle().Bold(true).Foreground(c("42"))
	s.bad = lipgloss.NewStyle().Bold(true).Foreground(c("203"))
	s.bold = lipgloss.NewStyle().Bold(true)
	s.hint = lipgloss.NewStyle().Foreground(c("179"))
	s.spinner = lipgloss.NewStyle().Foreground(c("69"))
	s.eventDrop = lipgloss.NewStyle().Foreground(c("203"))
	s.eventPass = lipgloss.NewStyle().Foreground(c("42"))
	return s
}

// markdown renders a brief or an explanation for the given width with
// glamour. It runs offline (glamour fetches nothing) and never queries the
// terminal: the style is chosen from s, not WithAutoStyle. Without colour
// it uses the dark style under the Ascii profile, which keeps bold and
// layout and drops every colour, with inline code in backquotes (the notty
// style would print **bold** markers literally).
func (s *styles) markdown(md string, width int) string {
	width = max(width, 20)
	cfg := glamourstyles.DarkStyleConfig
	if !s.dark {
		cfg = glamourstyles.LightStyleConfig
	}
	zero := uint(0)
	cfg.Document.Margin = &zero
	profile := termenv.ANSI256
	if s.noColor {
		profile = termenv.Ascii
		cfg.Code.Prefix, cfg.Code.Suffix = "`", "`"
	}
	r, err := glamour.NewTermRenderer(
		glamour.WithStyles(cfg),
		glamour.WithColorProfile(profile),
		glamour.WithWordWrap(width),
	)
	if err != nil {
		return md
	}
	out, err := r.Render(md)
	if err != nil {
		return md
	}
	return trimBlankLines(out)
}

// trimBlankLines drops the blank lines glamour puts around a document and
// the trailing spaces it pads lines with.
func trimBlankLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	for len(lines) > 0 && isBlank(lines[0]) {
		lines = lines[1:]
	}
	for len(lines) > 0 && isBlank(lines[len(lines)-1]) {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// isBlank reports whether a rendered line shows nothing (it may still hold
// escape sequences).
func isBlank(l string) bool {
	return strings.TrimSpace(stripANSI(l)) == ""
}
