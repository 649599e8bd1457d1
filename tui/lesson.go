package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/netlab/netlab/internal/matrix"
)

// spinnerKind is the spinner of every long operation.
var spinnerKind = spinner.Dot

// maxEvents is how many verdict events the panel keeps.
const maxEvents = 500

// op is a call into the Lesson. The lesson screen runs one at a time (the
// adapter need not be safe for concurrent calls) and queues the rest.
type op int

const (
	opNone  op = iota
	opTask     // read Task()
	opProbe    // Grid
	opCheck    // Check
	opHint     // Hint
	opNext     // Next
)

// label is what the status line says while the op runs.
func (o op) label() string {
	switch o {
	case opProbe:
		return "probing every cell…"
	case opCheck:
		return "checking: probing and grading…"
	case opHint:
		return "revealing a hint…"
	case opNext:
		return "setting up the next task…"
	case opTask:
		return "reading the task…"
	}
	return ""
}

// focus is the panel that scroll keys move.
type focus int

const (
	focusBrief focus = iota // the brief, or the check result over it
	focusEvents
)

// Messages of the lesson screen. Each carries the id of the lesson that
// asked, so the answers of a lesson the learner already left are dropped.
type (
	progressMsg struct {
		id   int
		step string
	}
	startedMsg struct {
		id     int
		lesson Lesson
		err    error
	}
	taskMsg struct {
		id   int
		task TaskInfo
	}
	gridMsg struct {
		id   int
		grid *matrix.Matrix
		err  error
	}
	checkMsg struct {
		id  int
		res *CheckResult
		err error
	}
	hintMsg struct {
		id   int
		hint string
		ok   bool
		err  error
	}
	nextMsg struct {
		id       int
		advanced bool
		err      error
	}
	subscribedMsg struct {
		id      int
		changes <-chan struct{}
		events  <-chan Event
		err     error
	}
	changeMsg struct {
		id     int
		closed bool
	}
	eventsMsg struct {
		id     int
		events []Event
		closed bool
	}
	// backToPickerMsg asks the app to show the picker again.
	backToPickerMsg struct{ notice string }
)

// lessonModel is the lesson screen: the brief, the live grid, the events
// panel, checks and hints. Before the lesson is up it is the start screen
// (a spinner and the start's progress).
type lessonModel struct {
	st      *styles
	keys    lessonKeys
	help    help.Model
	spinner spinner.Model
	width   int
	height  int

	id       int
	lab      LabInfo
	ctx      context.Context // cancelled when the learner leaves the lesson
	lesson   Lesson          // nil while starting
	step     string          // the start's last progress line
	started  time.Time       // when the start or the running op began
	elapsed  time.Duration   // since started, updated by spinner ticks
	progress chan string

	task     TaskInfo
	haveTask bool
	hints    []string
	noHints  bool // Hint said there are no more

	grid    *matrix.Matrix
	probed  bool // grid holds a measurement
	result  *CheckResult
	wrong   map[matrix.Key]WrongCell
	showRes bool // the check result covers the brief
	passed  bool // the current task passed: n works
	done    bool // the lab is complete

	events    []Event
	evFollow  bool // the events panel shows the newest verdicts
	watched   bool // Changes gave a channel
	hasEv     bool // Events gave a channel
	changesCh <-chan struct{}
	eventsCh  <-chan Event

	running op
	queue   []op
	gridMax int // lines the grid may take (0: all), set by layout

	focus    focus
	brief    viewport.Model
	check    viewport.Model
	eventsVP viewport.Model
	status   string
	statusOK bool // status is good news (else neutral or bad)
	errText  string
}

// newLesson returns the start screen of lab; Init starts it.
func newLesson(st *styles, id int, lab LabInfo, ctx context.Context) lessonModel {
	h := help.New()
	if st.noColor {
		h.Styles = help.Styles{
			ShortKey: lipgloss.NewStyle().Bold(true), ShortDesc: lipgloss.NewStyle(),
			ShortSeparator: lipgloss.NewStyle(), Ellipsis: lipgloss.NewStyle(),
			FullKey: lipgloss.NewStyle().Bold(true), FullDesc: lipgloss.NewStyle(),
			FullSeparator: lipgloss.NewStyle(),
		}
	}
	sp := spinner.New(spinner.WithSpinner(spinnerKind), spinner.WithStyle(st.spinner))
	m := lessonModel{
		st: st, keys: newLessonKeys(), help: h, spinner: sp,
		id: id, lab: lab, ctx: ctx,
		progress: make(chan string, 16),
		brief:    viewport.New(80, 5),
		check:    viewport.New(80, 5),
		eventsVP: viewport.New(80, 3),
		width:    80, height: 24,
	}
	m.keys.Next.SetEnabled(false)
	m.evFollow = true
	return m
}

// startCmd brings the lab up; progress lines go to m.progress.
func startCmd(ctx context.Context, lessons Lessons, id int, lab string, progress chan string) tea.Cmd {
	return func() tea.Msg {
		l, err := lessons.Start(ctx, lab, func(step string) {
			select {
			case progress <- step:
			default: // the screen shows the latest step; dropping is fine
			}
		})
		close(progress)
		return startedMsg{id: id, lesson: l, err: err}
	}
}

// waitProgress delivers the start's next progress line.
func waitProgress(id int, ch <-chan string) tea.Cmd {
	return func() tea.Msg {
		s, ok := <-ch
		if !ok {
			return nil
		}
		return progressMsg{id: id, step: s}
	}
}

// init starts the lab.
func (m lessonModel) init(lessons Lessons) (lessonModel, tea.Cmd) {
	m.started = time.Time{}
	return m, tea.Batch(
		startCmd(m.ctx, lessons, m.id, m.lab.Name, m.progress),
		waitProgress(m.id, m.progress),
		m.spinner.Tick,
	)
}

// subscribe opens the Changes and Events streams.
func subscribe(ctx context.Context, l Lesson, id int) tea.Cmd {
	return func() tea.Msg {
		ch, err := l.Changes(ctx)
		if err != nil {
			return subscribedMsg{id: id, err: fmt.Errorf("watching the lab: %w", err)}
		}
		ev, err := l.Events(ctx)
		if err != nil {
			return subscribedMsg{id: id, changes: ch, err: fmt.Errorf("listening to the enforcer: %w", err)}
		}
		return subscribedMsg{id: id, changes: ch, events: ev}
	}
}

// waitChange delivers the next change, coalescing a burst into one.
func waitChange(id int, ch <-chan struct{}) tea.Cmd {
	return func() tea.Msg {
		if _, ok := <-ch; !ok {
			return changeMsg{id: id, closed: true}
		}
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					return changeMsg{id: id}
				}
			case <-time.After(100 * time.Millisecond):
				return changeMsg{id: id}
			}
		}
	}
}

// waitEvents delivers the next events: one, plus whatever else is already
// queued (a probe makes dozens at once).
func waitEvents(id int, ch <-chan Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsMsg{id: id, closed: true}
		}
		evs := []Event{ev}
		for len(evs) < 100 {
			select {
			case ev, ok := <-ch:
				if !ok {
					return eventsMsg{id: id, events: evs}
				}
				evs = append(evs, ev)
			default:
				return eventsMsg{id: id, events: evs}
			}
		}
		return eventsMsg{id: id, events: evs}
	}
}

// run returns the Cmd of o.
func (m lessonModel) run(o op) tea.Cmd {
	l, ctx, id := m.lesson, m.ctx, m.id
	switch o {
	case opTask:
		return func() tea.Msg { return taskMsg{id: id, task: l.Task()} }
	case opProbe:
		return func() tea.Msg {
			g, err := l.Grid(ctx)
			return gridMsg{id: id, grid: g, err: err}
		}
	case opCheck:
		return func() tea.Msg {
			r, err := l.Check(ctx)
			return checkMsg{id: id, res: r, err: err}
		}
	case opHint:
		return func() tea.Msg {
			h, ok, err := l.Hint(ctx)
			return hintMsg{id: id, hint: h, ok: ok, err: err}
		}
	case opNext:
		return func() tea.Msg {
			ok, err := l.Next(ctx)
			return nextMsg{id: id, advanced: ok, err: err}
		}
	}
	return nil
}

// enqueue schedules o: at once when nothing runs, else after the rest.
// A probe asked for while one runs runs again afterwards (the lab changed
// since it began); any other op is not queued twice.
func (m lessonModel) enqueue(o op) (lessonModel, tea.Cmd) {
	for _, q := range m.queue {
		if q == o {
			return m, nil
		}
	}
	if m.running == o && o != opProbe {
		return m, nil
	}
	m.queue = append(m.queue, o)
	return m.dispatch()
}

// dispatch starts the next queued op if none runs.
func (m lessonModel) dispatch() (lessonModel, tea.Cmd) {
	if m.running != opNone || len(m.queue) == 0 || m.lesson == nil {
		return m, nil
	}
	o := m.queue[0]
	m.queue = m.queue[1:]
	m.running = o
	m.started = time.Time{}
	m.elapsed = 0
	return m, tea.Batch(m.run(o), m.spinner.Tick)
}

// finish marks the running op done and starts the next one.
func (m lessonModel) finish() (lessonModel, tea.Cmd) {
	m.running = opNone
	return m.dispatch()
}

// busy reports whether a spinner is showing.
func (m lessonModel) busy() bool { return m.lesson == nil || m.running != opNone }

// Update is the lesson screen's state machine; every call into the
// Lesson happens in the Cmds it returns.
func (m lessonModel) Update(msg tea.Msg) (lessonModel, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m.layout(true), nil

	case spinner.TickMsg:
		if !m.busy() {
			return m, nil // let the spinner stop
		}
		if m.started.IsZero() {
			m.started = msg.Time
		}
		m.elapsed = msg.Time.Sub(m.started)
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd

	case progressMsg:
		if msg.id != m.id {
			return m, nil
		}
		m.step = msg.step
		return m, waitProgress(m.id, m.progress)

	case startedMsg:
		if msg.id != m.id {
			return m, nil
		}
		if msg.err != nil {
			notice := fmt.Sprintf("starting %s failed: %v", m.lab.Name, msg.err)
			return m, func() tea.Msg { return backToPickerMsg{notice: notice} }
		}
		m.lesson = msg.lesson
		m.queue = []op{opTask, opProbe}
		m, cmd := m.dispatch()
		return m, tea.Batch(cmd, subscribe(m.ctx, m.lesson, m.id))

	case subscribedMsg:
		if msg.id != m.id {
			return m, nil
		}
		var cmds []tea.Cmd
		if msg.err != nil {
			m.errText = msg.err.Error()
		}
		if msg.changes != nil {
			m.watched = true
			cmds = append(cmds, waitChange(m.id, msg.changes))
		}
		if msg.events != nil {
			m.hasEv = true
			cmds = append(cmds, waitEvents(m.id, msg.events))
		}
		m.changesCh, m.eventsCh = msg.changes, msg.events
		return m.layout(false), tea.Batch(cmds...)

	case changeMsg:
		if msg.id != m.id {
			return m, nil
		}
		if msg.closed {
			m.watched = false
			return m, nil
		}
		if m.result != nil && !m.done {
			m.status, m.statusOK = "The policies changed since the last check: c checks again.", false
		}
		m, cmd := m.enqueue(opProbe)
		return m, tea.Batch(cmd, waitChange(m.id, m.changesCh))

	case eventsMsg:
		if msg.id != m.id {
			return m, nil
		}
		if msg.closed {
			m.hasEv = false
			return m.layout(false), nil
		}
		m.events = append(m.events, msg.events...)
		if over := len(m.events) - maxEvents; over > 0 {
			m.events = append([]Event(nil), m.events[over:]...)
		}
		m = m.layout(false).refreshEvents()
		return m, waitEvents(m.id, m.eventsCh)

	case taskMsg:
		if msg.id != m.id {
			return m, nil
		}
		m.task, m.haveTask = msg.task, true
		m.noHints = false
		m.passed = msg.task.Passed
		m.keys.Next.SetEnabled(m.passed)
		m.hints = append([]string(nil), msg.task.Revealed...)
		m = m.refreshBrief(true)
		m, cmd := m.finish()
		return m.layout(false), cmd

	case gridMsg:
		if msg.id != m.id {
			return m, nil
		}
		if msg.err != nil {
			m.errText = "probe failed: " + msg.err.Error()
		} else {
			m.grid, m.probed, m.errText = msg.grid, true, ""
		}
		m = m.layout(false)
		return m.finish()

	case checkMsg:
		if msg.id != m.id {
			return m, nil
		}
		if msg.err != nil {
			m.errText = "check failed: " + msg.err.Error()
			return m.finish()
		}
		m.errText = ""
		m.result = msg.res
		if msg.res.Grid != nil {
			m.grid, m.probed = msg.res.Grid, true
		}
		m.wrong = map[matrix.Key]WrongCell{}
		for _, c := range msg.res.Wrong {
			m.wrong[c.Key()] = c
		}
		if msg.res.Passed {
			m.passed = true
		}
		m.keys.Next.SetEnabled(m.passed)
		m.status, m.statusOK = summary(msg.res, m.width-1), msg.res.Passed
		m.showRes, m.focus = true, focusBrief
		m = m.layout(false).refreshCheck()
		m.check.GotoTop()
		return m.finish()

	case hintMsg:
		if msg.id != m.id {
			return m, nil
		}
		switch {
		case msg.err != nil:
			m.errText = "hint: " + msg.err.Error()
		case !msg.ok:
			m.noHints = true
			m.status, m.statusOK = "No more hints for this task.", false
		default:
			m.hints = append(m.hints, msg.hint)
			m.status, m.statusOK = fmt.Sprintf("Hint %d/%d revealed (end of the brief).", len(m.hints), max(m.task.Hints, len(m.hints))), false
			m.showRes, m.focus = false, focusBrief
			m = m.refreshBrief(false)
			m.brief.GotoBottom()
		}
		return m.finish()

	case nextMsg:
		if msg.id != m.id {
			return m, nil
		}
		if msg.err != nil {
			m.errText = "next task: " + msg.err.Error()
			return m.finish()
		}
		if !msg.advanced {
			m.done = true
			m.showRes = false
			m.status, m.statusOK = fmt.Sprintf("Lab complete: all %d tasks passed.", m.task.Total), true
			m = m.refreshBrief(true)
			return m.finish()
		}
		m.result, m.wrong, m.showRes, m.passed = nil, nil, false, false
		m.status, m.statusOK = "", false
		m.keys.Next.SetEnabled(false)
		m, cmd := m.finish()
		m, c2 := m.enqueue(opTask)
		m, c3 := m.enqueue(opProbe)
		return m, tea.Batch(cmd, c2, c3)

	case tea.KeyMsg:
		return m.handleKey(msg)

	case tea.MouseMsg:
		return m.scroll(msg)
	}
	return m, nil
}

// handleKey maps a key to an op, a view change or a scroll.
func (m lessonModel) handleKey(msg tea.KeyMsg) (lessonModel, tea.Cmd) {
	if m.lesson == nil { // starting: only leaving works
		if key.Matches(msg, m.keys.Back) {
			return m, func() tea.Msg { return backToPickerMsg{notice: "start of " + m.lab.Name + " cancelled"} }
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, m.keys.Check):
		if m.done {
			return m, nil
		}
		return m.enqueue(opCheck)
	case key.Matches(msg, m.keys.Hint):
		if m.done {
			return m, nil
		}
		if m.noHints {
			m.status, m.statusOK = "No more hints for this task.", false
			return m, nil
		}
		return m.enqueue(opHint)
	case key.Matches(msg, m.keys.Next):
		if !m.passed || m.done {
			return m, nil
		}
		return m.enqueue(opNext)
	case key.Matches(msg, m.keys.Refresh):
		return m.enqueue(opProbe)
	case key.Matches(msg, m.keys.Focus):
		if m.focus == focusBrief && m.hasEv {
			m.focus = focusEvents
		} else {
			m.focus = focusBrief
		}
		return m, nil
	case key.Matches(msg, m.keys.Help):
		m.help.ShowAll = !m.help.ShowAll
		return m.layout(false), nil
	case key.Matches(msg, m.keys.Back):
		if m.showRes {
			m.showRes = false
			return m.layout(false), nil
		}
		return m, func() tea.Msg { return backToPickerMsg{} }
	}
	return m.scroll(msg)
}

// scroll hands scroll keys and the mouse wheel to the focused panel.
func (m lessonModel) scroll(msg tea.Msg) (lessonModel, tea.Cmd) {
	var cmd tea.Cmd
	switch {
	case m.focus == focusEvents:
		m.eventsVP, cmd = m.eventsVP.Update(msg)
		// Scrolled up, the panel stays put; back at the bottom, it
		// follows new verdicts again.
		m.evFollow = m.eventsVP.AtBottom()
	case m.showRes:
		m.check, cmd = m.check.Update(msg)
	default:
		m.brief, cmd = m.brief.Update(msg)
	}
	return m, cmd
}

// Heights of the parts of the lesson screen.
const (
	titleLines  = 1
	statusLines = 1
	eventsLines = 3 // the events panel at most, when there is room
	minBody     = 3 // the brief or check result at least, when there is room
	roomyHeight = 30
)

// gridLines are the grid's lines at the current width, at most max lines
// (rows beyond are summed up in one line).
func (m lessonModel) gridLines(maxLines int) []string {
	if !m.probed {
		return []string{" " + m.st.dim.Render("not measured yet")}
	}
	lines := renderGrid(m.st, m.grid, m.wrong).lines(m.width)
	if maxLines > 0 && len(lines) > maxLines {
		keep := max(maxLines-1, 0)
		cut := len(lines) - keep
		lines = append(lines[:keep:keep], m.st.dim.Render(fmt.Sprintf("… %d more lines (a taller terminal shows them)", cut)))
	}
	return lines
}

// showEvents reports whether the events panel has a place: there is an
// enforcer, and the check result (which needs the room more) is not up on
// a short terminal.
func (m lessonModel) showEvents() bool {
	if !m.hasEv && len(m.events) == 0 {
		return false
	}
	return !(m.showRes && m.height < roomyHeight)
}

// layout sizes the panels for the window. The grid takes what it needs,
// the events panel up to three lines, the brief (or check result) the
// rest; on a short terminal the events panel shrinks first, then the
// grid. resized says the width changed, so text must be wrapped again.
func (m lessonModel) layout(resized bool) lessonModel {
	m.help.Width = m.width
	helpLines := lipgloss.Height(m.help.View(m.keys))
	grid := len(m.gridLines(0))
	ev := 0
	if m.showEvents() {
		ev = eventsLines
		if len(m.events) == 0 {
			ev = 1
		}
	}
	avail := m.height - titleLines - len(m.pinLines()) - statusLines - helpLines - 1 /* brief rule */ - 1 /* grid rule */
	body := avail - grid - ev
	if ev > 0 {
		body-- // its rule
	}
	for body < minBody && ev > 1 {
		ev--
		body++
	}
	if body < minBody && ev == 1 {
		ev = 0
		body += 2
	}
	m.gridMax = 0
	if body < minBody && grid > 3 {
		give := min(minBody-body, grid-3)
		m.gridMax = grid - give
		body += give
	}
	body = max(body, 1)
	w := max(m.width, 10)
	m.brief.Width, m.brief.Height = w, body
	m.check.Width, m.check.Height = w, body
	m.eventsVP.Width, m.eventsVP.Height = w, ev
	if m.evFollow {
		m.eventsVP.GotoBottom()
	}
	if resized {
		m = m.refreshBrief(false).refreshCheck().refreshEvents()
	}
	return m
}

// refreshBrief renders the brief and the revealed hints into the brief
// viewport; top scrolls back to the start.
func (m lessonModel) refreshBrief(top bool) lessonModel {
	w := max(m.width-2, 20)
	var b strings.Builder
	switch {
	case m.done:
		fmt.Fprintf(&b, "%s\n\n%s", m.st.ok.Render(fmt.Sprintf("Lab %s complete!", m.task.Lab)),
			"Every task passed. esc goes back to the labs, q quits.")
	case m.haveTask:
		b.WriteString(m.st.markdown(m.task.Brief, w))
		for i, h := range m.hints {
			label := fmt.Sprintf("Hint %d/%d: ", i+1, max(m.task.Hints, len(m.hints)))
			b.WriteString("\n\n" + m.st.hint.Width(w).Render(label+h))
		}
	}
	m.brief.SetContent(indent(b.String(), 1))
	if top {
		m.brief.GotoTop()
	}
	return m
}

// refreshCheck renders the last check result into its viewport.
func (m lessonModel) refreshCheck() lessonModel {
	if m.result == nil {
		return m
	}
	m.check.SetContent(indent(renderCheck(m.st, m.result, m.grid, max(m.width-2, 20)), 1))
	return m
}

// refreshEvents renders the events panel, following the newest event
// unless the learner scrolled up.
func (m lessonModel) refreshEvents() lessonModel {
	w := max(m.width-2, 20)
	lines := make([]string, 0, len(m.events))
	for _, e := range m.events {
		style := m.st.eventDrop
		if e.Allowed {
			style = m.st.eventPass
		}
		text := e.Text
		if m.width >= 100 && !e.Time.IsZero() {
			text = e.Time.Format("15:04:05 ") + text
		}
		// Long lines wrap with a hanging indent: the reason at the end is
		// the point of the line.
		wrapped := strings.Split(ansi.Wordwrap(text, w, " "), "\n")
		for i, l := range wrapped {
			if i > 0 {
				l = "  " + l
			}
			lines = append(lines, style.Render(ansi.Truncate(l, w, "…")))
		}
	}
	m.eventsVP.SetContent(indent(strings.Join(lines, "\n"), 1))
	if m.evFollow {
		m.eventsVP.GotoBottom()
	}
	return m
}

// indent prefixes every line with n spaces.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}

// rule draws a section title across the width: "── Brief ─────── 40%".
func (m lessonModel) rule(title, right string, focused bool) string {
	style := m.st.section
	if focused {
		style = m.st.focused
	}
	left := "── " + title + " "
	tail := ""
	if right != "" {
		tail = " " + right + " ──"
	}
	fill := m.width - ansi.StringWidth(left) - ansi.StringWidth(tail)
	if fill < 1 {
		return style.Render(ansi.Truncate(left, m.width, "…"))
	}
	return style.Render(left + strings.Repeat("─", fill) + tail)
}

// scrollInfo is "40%" for a viewport with more than it shows, else "".
func scrollInfo(v viewport.Model) string {
	if v.TotalLineCount() <= v.Height {
		return ""
	}
	return fmt.Sprintf("%3.0f%%", v.ScrollPercent()*100)
}

// View draws the start screen or the lesson.
func (m lessonModel) View() string {
	if m.lesson == nil {
		return m.startView()
	}
	var b strings.Builder
	b.WriteString(m.titleBar() + "\n")
	for _, l := range m.pinLines() {
		b.WriteString(l + "\n")
	}

	if m.showRes && m.result != nil {
		title := "Check"
		b.WriteString(m.rule(title, scrollInfo(m.check)+" esc: brief", m.focus == focusBrief) + "\n")
		b.WriteString(fill(m.check.View(), m.check.Height) + "\n")
	} else {
		title := "Brief"
		if m.haveTask {
			title = fmt.Sprintf("Task %d/%d · %s", m.task.Index+1, m.task.Total, m.task.Title)
		}
		b.WriteString(m.rule(title, scrollInfo(m.brief), m.focus == focusBrief) + "\n")
		b.WriteString(fill(m.brief.View(), m.brief.Height) + "\n")
	}

	gridTitle := "Reachability (measured)"
	if !m.watched {
		gridTitle += " · r to re-probe"
	}
	b.WriteString(m.rule(gridTitle, "", false) + "\n")
	b.WriteString(strings.Join(m.gridLines(m.gridMax), "\n") + "\n")

	if m.eventsVP.Height > 0 && m.showEvents() {
		b.WriteString(m.rule("Enforcer verdicts (live)", scrollInfo(m.eventsVP), m.focus == focusEvents) + "\n")
		content := m.eventsVP.View()
		if len(m.events) == 0 {
			content = " " + m.st.dim.Render("no verdicts yet: they appear as pods talk")
		}
		b.WriteString(fill(content, m.eventsVP.Height) + "\n")
	}

	b.WriteString(m.statusLine() + "\n")
	b.WriteString(m.help.View(m.keys))
	return clamp(b.String(), m.width, m.height)
}

// clamp cuts s to w columns and h lines, so that nothing ever scrolls the
// terminal (bubbles/help, for one, can overflow a very narrow window).
func clamp(s string, w, h int) string {
	if w <= 0 || h <= 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "…")
		}
	}
	return strings.Join(lines, "\n")
}

// titleBar is the top line: lab and task.
func (m lessonModel) titleBar() string {
	text := "netlab · " + m.lab.Title
	if m.haveTask && m.task.LabTitle != "" {
		text = "netlab · " + m.task.LabTitle
	}
	if m.haveTask {
		text += fmt.Sprintf(" · task %d/%d", m.task.Index+1, m.task.Total)
		if m.passed {
			text += " ✓"
		}
	}
	w := max(m.width, 10)
	return m.st.title.Width(w).MaxWidth(w).Render(ansi.Truncate(text, w-2, "…"))
}

// statusLine is the spinner while an op runs, else the last outcome or
// error.
func (m lessonModel) statusLine() string {
	var s string
	switch {
	case m.running != opNone:
		s = m.spinner.View() + " " + m.running.label()
		if m.elapsed >= time.Second {
			s += fmt.Sprintf(" %ds", int(m.elapsed.Seconds()))
		}
	case m.errText != "":
		s = m.st.bad.Render("✗ " + m.errText)
	case m.status != "":
		if m.statusOK {
			s = m.st.ok.Render(m.status)
		} else {
			s = m.status
		}
	default:
		apply := "netlab apply -f FILE"
		if m.lesson != nil && m.lesson.Task().Apply != "" {
			apply = m.lesson.Task().Apply
		}
		s = m.st.dim.Render("Apply from another terminal: " + apply + " · c checks")
	}
	return " " + ansi.Truncate(s, max(m.width-1, 1), "…")
}

// startView is the screen while the lab comes up.
func (m lessonModel) startView() string {
	var b strings.Builder
	b.WriteString(m.st.title.Width(max(m.width, 10)).Render("netlab · "+m.lab.Title) + "\n\n")
	line := fmt.Sprintf(" %s Starting lab %s…", m.spinner.View(), m.lab.Name)
	if m.elapsed >= time.Second {
		line += fmt.Sprintf(" %ds", int(m.elapsed.Seconds()))
	}
	b.WriteString(line + "\n")
	if m.step != "" {
		b.WriteString("   " + m.st.dim.Render(ansi.Truncate(m.step, max(m.width-3, 1), "…")) + "\n")
	}
	b.WriteString("\n " + m.st.dim.Render("esc: cancel and go back to the labs"))
	return b.String()
}

// fill pads s with empty lines to n lines.
func fill(s string, n int) string {
	if k := lipgloss.Height(s); k < n {
		s += strings.Repeat("\n", n-k)
	}
	return s
}
