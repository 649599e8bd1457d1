// Package tui is netlab's terminal UI (`netlab` with no arguments, or
// `netlab tui`): a lab picker, then the lesson screen with the task's
// brief, a reachability grid that is measured again whenever the learner
// applies policies from another terminal, a check key with the wrong cells
// explained, hints, and a live panel of the enforcer's verdicts.
//
// It is built the way the bubbletea examples are: one model per screen,
// Update never blocks nor touches the outside world (every call into the
// lab is a tea.Cmd), lipgloss for style, bubbles for the list, viewports,
// spinner and help, glamour for markdown.
//
// The TUI knows nothing of backends, lab files or grading: it consumes the
// small Lessons/Lesson interface of this package, which internal/cli
// implements on top of the real lab code.
package tui

import (
	"context"
	"errors"
	"io"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Options configure Run.
type Options struct {
	// In and Out are the terminal (default os.Stdin and os.Stdout).
	In  io.Reader
	Out io.Writer
	// NoColor turns every colour off. Run also turns colours off when the
	// NO_COLOR environment variable is set (https://no-color.org).
	NoColor bool
	// AltScreen runs in the terminal's alternate screen, leaving the
	// scrollback as it was on exit.
	AltScreen bool
	// Lab, when set, starts that lab at once instead of showing the
	// picker first (esc still goes back to the picker).
	Lab string
}

// Run shows the TUI until the learner quits or ctx is done. Leaving the
// TUI does not stop a running lab: Start resumes it next time.
func Run(ctx context.Context, lessons Lessons, opts Options) error {
	if opts.In == nil {
		opts.In = os.Stdin
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	noColor := opts.NoColor || envNoColor()
	dark := setupColor(opts.Out, noColor)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	popts := []tea.ProgramOption{
		tea.WithContext(ctx),
		tea.WithInput(opts.In),
		tea.WithOutput(opts.Out),
	}
	if opts.AltScreen {
		popts = append(popts, tea.WithAltScreen())
	}
	p := tea.NewProgram(newApp(ctx, lessons, newStyles(noColor, dark), opts.Lab), popts...)
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// setupColor points lipgloss's default renderer (the one bubbles'
// components use) at out, turns colour off when asked, and returns whether
// the background is dark. The terminal is asked about its background here,
// before the program reads the keyboard: asked later, its answer would
// arrive as key presses.
func setupColor(out io.Writer, noColor bool) (dark bool) {
	r := lipgloss.NewRenderer(out)
	if noColor {
		r.SetColorProfile(termenv.Ascii)
		r.SetHasDarkBackground(true)
	}
	dark = r.HasDarkBackground()
	lipgloss.SetDefaultRenderer(r)
	return dark
}

// envNoColor reports whether NO_COLOR asks for no colour: set and not
// empty (https://no-color.org).
func envNoColor() bool { return os.Getenv("NO_COLOR") != "" }
