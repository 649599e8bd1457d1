package tui

import (
	"context"

	"github.com/charmbracelet/bubbles/list"
	tea "github.com/charmbracelet/bubbletea"
)

// screen is what the app shows.
type screen int

const (
	screenPicker screen = iota
	screenLesson
)

// app is the root model: it owns the screens and routes messages to the
// one showing. Going back from a lesson to the picker cancels the lesson's
// context, which stops its watchers.
type app struct {
	ctx     context.Context
	lessons Lessons
	st      *styles

	width, height int
	screen        screen
	picker        pickerModel
	lesson        lessonModel
	cancel        context.CancelFunc // the lesson's context
	nextID        int
	autostart     string // Options.Lab
}

func newApp(ctx context.Context, lessons Lessons, st *styles, lab string) app {
	return app{ctx: ctx, lessons: lessons, st: st, picker: newPicker(st), width: 80, height: 24, autostart: lab}
}

// loadLabs reads the lab list.
func loadLabs(ctx context.Context, lessons Lessons) tea.Cmd {
	return func() tea.Msg {
		labs, err := lessons.Labs(ctx)
		return labsMsg{labs: labs, err: err}
	}
}

func (a app) Init() tea.Cmd {
	return tea.Batch(a.picker.Init(), loadLabs(a.ctx, a.lessons))
}

// startLesson switches to a new lesson screen for lab.
func (a app) startLesson(lab LabInfo) (app, tea.Cmd) {
	if a.cancel != nil {
		a.cancel()
	}
	ctx, cancel := context.WithCancel(a.ctx)
	a.cancel = cancel
	a.nextID++
	a.lesson = newLesson(a.st, a.nextID, lab, ctx)
	a.lesson, _ = a.lesson.Update(tea.WindowSizeMsg{Width: a.width, Height: a.height})
	a.screen = screenLesson
	var cmd tea.Cmd
	a.lesson, cmd = a.lesson.init(a.lessons)
	return a, cmd
}

func (a app) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		a.width, a.height = msg.Width, msg.Height
		a.picker = a.picker.setSize(msg.Width, msg.Height)
		if a.nextID == 0 {
			return a, nil // no lesson yet
		}
		var cmd tea.Cmd
		a.lesson, cmd = a.lesson.Update(msg)
		return a, cmd

	case tea.KeyMsg:
		if keys := splitKeys(msg); keys != nil && !(a.screen == screenPicker && a.picker.list.FilterState() == list.Filtering) {
			// Keys that arrived together (typed fast, key repeat) come
			// as one message "jj": each is a key press of its own.
			var m tea.Model = a
			cmds := make([]tea.Cmd, 0, len(keys))
			for _, k := range keys {
				var cmd tea.Cmd
				m, cmd = m.Update(k)
				cmds = append(cmds, cmd)
			}
			return m, tea.Batch(cmds...)
		}
		if msg.String() == "ctrl+c" {
			return a.quit()
		}
		if a.screen == screenLesson && msg.String() == "q" {
			return a.quit()
		}

	case labsMsg:
		var cmd tea.Cmd
		a.picker, cmd = a.picker.Update(msg)
		if a.autostart != "" && msg.err == nil {
			name := a.autostart
			a.autostart = ""
			for _, l := range msg.labs {
				if l.Name == name {
					a, c2 := a.startLesson(l)
					return a, tea.Batch(cmd, c2)
				}
			}
			a.picker.notice = "no lab called " + name
			a.picker = a.picker.setSize(a.width, a.height)
		}
		return a, cmd

	case labChosenMsg:
		return a.startLesson(msg.lab)

	case backToPickerMsg:
		if a.cancel != nil {
			a.cancel()
			a.cancel = nil
		}
		a.screen = screenPicker
		a.picker.notice = msg.notice
		a.picker = a.picker.setSize(a.width, a.height)
		// Progress changed while the lesson ran: read the labs again.
		return a, loadLabs(a.ctx, a.lessons)
	}

	var cmd tea.Cmd
	switch a.screen {
	case screenPicker:
		// Answers to a lesson left behind (a probe that was running)
		// still arrive; they are dropped here, and its spinner stops.
		a.picker, cmd = a.picker.Update(msg)
	case screenLesson:
		a.lesson, cmd = a.lesson.Update(msg)
	}
	return a, cmd
}

// splitKeys returns the key presses of a message that holds several
// typed runes (bubbletea reads what arrived together as one message), or
// nil for a single key or a paste.
func splitKeys(msg tea.KeyMsg) []tea.KeyMsg {
	if msg.Type != tea.KeyRunes || len(msg.Runes) < 2 || msg.Paste {
		return nil
	}
	out := make([]tea.KeyMsg, len(msg.Runes))
	for i, r := range msg.Runes {
		out[i] = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}
	}
	return out
}

// quit cancels the lesson and ends the program.
func (a app) quit() (tea.Model, tea.Cmd) {
	if a.cancel != nil {
		a.cancel()
	}
	return a, tea.Quit
}

func (a app) View() string {
	if a.screen == screenLesson {
		return a.lesson.View()
	}
	return a.picker.View()
}
