package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/list"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// labItem is a lab in the picker's list.
type labItem struct{ info LabInfo }

func (i labItem) FilterValue() string { return i.info.Name + " " + i.info.Title }
func (i labItem) Title() string       { return i.info.Title }

// Description is the line under the title: name, progress, running.
func (i labItem) Description() string {
	parts := []string{i.info.Name, progressBar(i.info.Passed, i.info.Tasks)}
	if i.info.Running {
		parts = append(parts, "running")
	}
	return strings.Join(parts, " · ")
}

// progressBar renders "▰▰▱ 2/3 tasks" (text, no colour needed).
func progressBar(done, total int) string {
	if total <= 0 {
		return "no tasks"
	}
	done = min(max(done, 0), total)
	unit := "tasks"
	if total == 1 {
		unit = "task"
	}
	return fmt.Sprintf("%s%s %d/%d %s", strings.Repeat("▰", done), strings.Repeat("▱", total-done), done, total, unit)
}

// labChosenMsg asks the app to start the lab.
type labChosenMsg struct{ lab LabInfo }

// labsMsg carries the lab list (or why it could not be read).
type labsMsg struct {
	labs []LabInfo
	err  error
}

// pickerModel is the first screen: the list of labs.
type pickerModel struct {
	st     *styles
	list   list.Model
	loaded bool
	err    error  // reading the labs failed
	notice string // e.g. why the last start failed
}

func newPicker(st *styles) pickerModel {
	d := list.NewDefaultDelegate()
	if st.noColor {
		// The default delegate's colours, replaced by a bar and bold.
		d.Styles.NormalTitle = lipgloss.NewStyle().Padding(0, 0, 0, 2)
		d.Styles.NormalDesc = d.Styles.NormalTitle
		d.Styles.SelectedTitle = lipgloss.NewStyle().Bold(true).
			Border(lipgloss.NormalBorder(), false, false, false, true).Padding(0, 0, 0, 1)
		d.Styles.SelectedDesc = lipgloss.NewStyle().
			Border(lipgloss.NormalBorder(), false, false, false, true).Padding(0, 0, 0, 1)
		d.Styles.DimmedTitle = d.Styles.NormalTitle
		d.Styles.DimmedDesc = d.Styles.NormalTitle
		d.Styles.FilterMatch = lipgloss.NewStyle().Underline(true)
	}
	l := list.New(nil, d, 80, 20)
	l.Title = "netlab · NetworkPolicy labs"
	l.SetStatusBarItemName("lab", "labs")
	l.SetShowStatusBar(true)
	if st.noColor {
		l.Styles.Title = lipgloss.NewStyle().Bold(true).Reverse(true).Padding(0, 1)
		l.Styles.FilterPrompt = lipgloss.NewStyle()
		l.Styles.FilterCursor = lipgloss.NewStyle()
		l.Styles.StatusBar = lipgloss.NewStyle().Padding(0, 0, 1, 2)
		l.Styles.StatusEmpty = lipgloss.NewStyle()
		l.Styles.StatusBarActiveFilter = lipgloss.NewStyle()
		l.Styles.StatusBarFilterCount = lipgloss.NewStyle()
		l.Styles.NoItems = lipgloss.NewStyle()
		l.Styles.PaginationStyle = lipgloss.NewStyle().PaddingLeft(2)
		l.Styles.HelpStyle = lipgloss.NewStyle().Padding(1, 0, 0, 2)
		l.Styles.ActivePaginationDot = lipgloss.NewStyle().SetString("•")
		l.Styles.InactivePaginationDot = lipgloss.NewStyle().SetString("·")
		l.Styles.DividerDot = lipgloss.NewStyle().SetString(" • ")
		l.Help.Styles.ShortKey = lipgloss.NewStyle()
		l.Help.Styles.ShortDesc = lipgloss.NewStyle()
		l.Help.Styles.ShortSeparator = lipgloss.NewStyle()
		l.Help.Styles.FullKey = lipgloss.NewStyle()
		l.Help.Styles.FullDesc = lipgloss.NewStyle()
		l.Help.Styles.FullSeparator = lipgloss.NewStyle()
		l.Help.Styles.Ellipsis = lipgloss.NewStyle()
	}
	l.SetSpinner(spinnerKind)
	l.AdditionalShortHelpKeys = func() []key.Binding {
		return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "start"))}
	}
	return pickerModel{st: st, list: l}
}

func (m pickerModel) Init() tea.Cmd { return m.list.StartSpinner() }

func (m pickerModel) setSize(w, h int) pickerModel {
	extra := 0
	if m.notice != "" || m.err != nil {
		extra = 1
	}
	m.list.SetSize(w, max(h-extra, 3))
	return m
}

// Update handles the picker's keys; enter on a lab emits labChosenMsg.
func (m pickerModel) Update(msg tea.Msg) (pickerModel, tea.Cmd) {
	switch msg := msg.(type) {
	case labsMsg:
		m.list.StopSpinner()
		m.loaded = true
		m.err = msg.err
		items := make([]list.Item, len(msg.labs))
		for i, l := range msg.labs {
			items[i] = labItem{l}
		}
		return m, m.list.SetItems(items)
	case tea.KeyMsg:
		if m.list.FilterState() == list.Filtering {
			break // typing a filter: every key is text
		}
		switch msg.String() {
		case "enter":
			if it, ok := m.list.SelectedItem().(labItem); ok {
				m.notice = ""
				lab := it.info
				return m, func() tea.Msg { return labChosenMsg{lab} }
			}
			return m, nil
		}
	}
	var cmd tea.Cmd
	m.list, cmd = m.list.Update(msg)
	return m, cmd
}

func (m pickerModel) View() string {
	v := m.list.View()
	switch {
	case m.err != nil:
		v += "\n" + m.st.bad.Render("  cannot list labs: "+m.err.Error())
	case m.notice != "":
		v += "\n" + m.st.bad.Render("  "+m.notice)
	}
	return v
}
