package tui

import "github.com/charmbracelet/bubbles/key"

// lessonKeys are the lesson screen's keys; they double as its help line
// (bubbles/help renders ShortHelp and FullHelp).
type lessonKeys struct {
	Check   key.Binding
	Hint    key.Binding
	Next    key.Binding
	Refresh key.Binding
	Focus   key.Binding
	Up      key.Binding
	Down    key.Binding
	Back    key.Binding
	Help    key.Binding
	Quit    key.Binding
}

func newLessonKeys() lessonKeys {
	return lessonKeys{
		Check:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "check")),
		Hint:    key.NewBinding(key.WithKeys("h"), key.WithHelp("h", "hint")),
		Next:    key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "probe")),
		Focus:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "focus")),
		Up:      key.NewBinding(key.WithKeys("up", "k", "pgup"), key.WithHelp("↑/pgup", "scroll up")),
		Down:    key.NewBinding(key.WithKeys("down", "j", "pgdown"), key.WithHelp("↓/pgdn", "scroll down")),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "keys")),
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the one-line help under the lesson.
func (k lessonKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Check, k.Hint, k.Next, k.Refresh, k.Focus, k.Back, k.Help, k.Quit}
}

// FullHelp is the help shown with ?.
func (k lessonKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Check, k.Hint, k.Next},
		{k.Refresh, k.Focus, k.Up, k.Down},
		{k.Back, k.Help, k.Quit},
	}
}
