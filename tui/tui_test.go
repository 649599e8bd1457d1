package tui

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"
	"github.com/netlab/netlab/internal/matrix"
)

// Golden screens live in testdata/<TestName>.golden; regenerate them with
//
//	go test ./tui/ -update
//
// and read every changed one before committing: they are what a learner
// sees in an 80x24 terminal.

// spy wraps the app so a test can read the screen at any moment while the
// real bubbletea program runs it (teatest only hands out the final model).
type spy struct {
	app  tea.Model
	mu   *sync.Mutex
	view *string
}

func (s spy) Init() tea.Cmd { return s.app.Init() }

func (s spy) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, cmd := s.app.Update(msg)
	s.app = m
	v := m.View()
	s.mu.Lock()
	*s.view = v
	s.mu.Unlock()
	return s, cmd
}

func (s spy) View() string { return s.app.View() }

// harness runs the TUI on a fake in a real bubbletea program at w x h.
type harness struct {
	t    *testing.T
	tm   *teatest.TestModel
	mu   sync.Mutex
	view string
	fake *fakeLessons
}

type runOpts struct {
	w, h     int
	noColor  bool
	profile  termenv.Profile
	autolab  string
	setupEnv bool // decide colour like Run does (NO_COLOR)
}

func start(t *testing.T, fake *fakeLessons, o runOpts) *harness {
	t.Helper()
	if o.w == 0 {
		o.w, o.h = 80, 24
	}
	var buf bytes.Buffer
	noColor := o.noColor
	if o.setupEnv {
		noColor = noColor || lookupNoColor()
	}
	// Tests print to a buffer, which termenv would call Ascii: set the
	// profile a terminal would have, then let setupColor decide.
	dark := setupColor(&buf, noColor)
	if !noColor {
		lipgloss.SetColorProfile(o.profile)
	}
	h := &harness{t: t, fake: fake}
	a := newApp(context.Background(), fake, newStyles(noColor, dark), o.autolab)
	h.tm = teatest.NewTestModel(t, spy{app: a, mu: &h.mu, view: &h.view}, teatest.WithInitialTermSize(o.w, o.h))
	t.Cleanup(func() {
		// Wait for the program to end: the next test changes lipgloss's
		// default renderer, which this one's View reads.
		_ = h.tm.Quit()
		h.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	})
	return h
}

// screen is the current view.
func (h *harness) screen() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.view
}

// waitFor waits until the plain-text screen contains every one of want.
func (h *harness) waitFor(want ...string) string {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := plain(h.screen())
		ok := true
		for _, w := range want {
			if !strings.Contains(s, w) {
				ok = false
			}
		}
		if ok {
			return s
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("screen never showed %q; last screen:\n%s", want, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// idle waits until no spinner shows and the screen contains want, then
// returns the plain screen.
func (h *harness) idle(want ...string) string {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := h.waitFor(want...)
		busy := false
		for _, op := range []op{opTask, opProbe, opCheck, opHint, opNext} {
			if strings.Contains(s, op.label()) {
				busy = true
			}
		}
		if !busy && !strings.Contains(s, "Starting lab") {
			time.Sleep(30 * time.Millisecond) // let queued messages land
			if s2 := plain(h.screen()); s2 == s {
				return s
			}
			continue
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("screen stayed busy:\n%s", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// plain is the screen as text: no escapes, no trailing spaces.
func plain(screen string) string {
	lines := strings.Split(ansi.Strip(screen), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

func (h *harness) key(k string) {
	switch k {
	case "enter":
		h.tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	case "esc":
		h.tm.Send(tea.KeyMsg{Type: tea.KeyEsc})
	case "tab":
		h.tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	case "down":
		h.tm.Send(tea.KeyMsg{Type: tea.KeyDown})
	default:
		h.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
	}
}

// output quits and returns every byte the program wrote to the terminal.
func (h *harness) output() []byte {
	h.t.Helper()
	if err := h.tm.Quit(); err != nil {
		h.t.Fatal(err)
	}
	b, err := io.ReadAll(h.tm.FinalOutput(h.t, teatest.WithFinalTimeout(5*time.Second)))
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// requireScreen checks the screen fits w x h and matches the golden file
// (trailing spaces trimmed, so the goldens read well).
func requireScreen(t *testing.T, screen string, w, h int) {
	t.Helper()
	requireFits(t, screen, w, h)
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	golden.RequireEqual(t, []byte(strings.Join(lines, "\n")+"\n"))
}

// requireFits fails when a line is wider than w or there are more than h.
func requireFits(t *testing.T, screen string, w, h int) {
	t.Helper()
	lines := strings.Split(screen, "\n")
	if len(lines) > h {
		t.Errorf("screen has %d lines, the terminal %d:\n%s", len(lines), h, screen)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d columns wide, the terminal %d: %q", i+1, n, w, ansi.Strip(l))
		}
	}
}

// row returns the grid row of a source pod.
func row(t *testing.T, screen, pod string) string {
	t.Helper()
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, pod+" ") {
			return l
		}
	}
	t.Fatalf("no grid row for %s in:\n%s", pod, screen)
	return ""
}

// cellAt returns the symbol, with its wrong mark if any, that the grid
// shows for a source pod under the port column named port ("8080",
// "53/UDP"). Header and names are ASCII and symbols one column wide, so
// byte offsets in the header are rune offsets in the row.
func cellAt(t *testing.T, screen, pod, port string) string {
	t.Helper()
	lines := strings.Split(screen, "\n")
	col := -1
	for i, l := range lines {
		if strings.HasPrefix(l, `from \ to`) && i+1 < len(lines) {
			hdr := lines[i+1]
			for j := 0; j < len(hdr); j++ {
				if hdr[j] == ' ' || (j > 0 && hdr[j-1] != ' ') {
					continue
				}
				end := strings.IndexByte(hdr[j:], ' ')
				if end < 0 {
					end = len(hdr) - j
				}
				if hdr[j:j+end] == port {
					col = j
				}
			}
		}
	}
	if col < 0 {
		t.Fatalf("no port column %s in:\n%s", port, screen)
	}
	r := []rune(row(t, screen, pod))
	if col >= len(r) {
		return ""
	}
	return strings.TrimSpace(string(r[col:min(col+2, len(r))]))
}

func TestPickerScreen(t *testing.T) {
	h := start(t, newFake(), runOpts{noColor: true})
	s := h.idle("Protect the backend", "Egress and DNS")
	requireScreen(t, s, 80, 24)
	if !strings.Contains(s, "▰▰▰ 3/3 tasks · running") {
		t.Errorf("progress of a finished, running lab missing:\n%s", s)
	}
}

func TestLessonScreen(t *testing.T) {
	h := start(t, newFake(), runOpts{noColor: true})
	h.idle("Protect the backend")
	h.key("enter")
	s := h.idle("Task 1/2", "12 allowed, 0 blocked")
	requireScreen(t, s, 80, 24)
}

func TestStartScreenShowsProgress(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	h := start(t, f, runOpts{noColor: true, autolab: "backend-ingress"})
	s := h.waitFor("Starting lab backend-ingress", "creating pod network namespaces", "esc: cancel")
	requireFits(t, s, 80, 24)
	close(f.gate)
	h.idle("Task 1/2")
}

func TestStartFailureGoesBackToPicker(t *testing.T) {
	f := newFake()
	f.startErr = errBoom
	h := start(t, f, runOpts{noColor: true})
	h.idle("Protect the backend")
	h.key("enter")
	s := h.waitFor("starting backend-ingress failed: sandbox: need root")
	requireFits(t, s, 80, 24)
}

func TestGridFollowsAppliedPolicies(t *testing.T) {
	f := newFake()
	h := start(t, f, runOpts{noColor: true, autolab: "backend-ingress"})
	s := h.idle("12 allowed, 0 blocked")
	if got := cellAt(t, s, "client", "8080"); got != "✓" {
		t.Fatalf("client -> backend:8080 before any policy = %q, want ✓\n%s", got, s)
	}
	// The learner denies all ingress to the backend from another terminal.
	f.lesson.apply("backend-deny", gridWith(kClientBackend, kDNSBackend, kFrontendBackend))
	s = h.idle("9 allowed, 3 blocked")
	if got := cellAt(t, s, "client", "8080"); got != "✗" {
		t.Fatalf("client -> backend:8080 after the deny = %q, want ✗\n%s", got, s)
	}
	if got := cellAt(t, s, "client", "80"); got != "✓" {
		t.Fatalf("client -> frontend:80 after the deny = %q, want ✓\n%s", got, s)
	}
	f.lesson.mu.Lock()
	probes := f.lesson.probes
	f.lesson.mu.Unlock()
	if probes < 2 {
		t.Errorf("the grid was probed %d times, want a probe after the change", probes)
	}
}

func TestCheckShowsWrongCells(t *testing.T) {
	f := newFake()
	h := start(t, f, runOpts{noColor: true, autolab: "backend-ingress"})
	h.idle("12 allowed, 0 blocked")
	// A wrong policy: the backend is closed to everyone, the frontend too.
	f.lesson.apply("backend-deny", gridWith(kClientBackend, kDNSBackend, kFrontendBackend))
	h.idle("9 allowed, 3 blocked")
	h.key("c")
	s := h.idle("Required flows that are blocked")
	requireScreen(t, s, 80, 24)
	if !strings.Contains(s, "! frontend -> backend:8080  blocked (timeout), expected allowed") {
		t.Errorf("the wrong cell is not explained:\n%s", s)
	}
	if got := cellAt(t, s, "frontend", "8080"); got != "✗!" {
		t.Errorf("frontend -> backend:8080 in the grid = %q, want the wrong mark ✗!\n%s", got, s)
	}
	if got := cellAt(t, s, "client", "8080"); got != "✗" {
		t.Errorf("client -> backend:8080 is right and must not be marked, got %q", got)
	}
	if strings.Contains(s, "n next") {
		t.Errorf("n is offered before the task passed:\n%s", s)
	}
	// Fixing the cell clears its mark without another check.
	f.lesson.apply("backend-allow", gridWith(kClientBackend, kDNSBackend))
	s = h.idle("10 allowed, 2 blocked")
	if got := cellAt(t, s, "frontend", "8080"); got != "✓" {
		t.Errorf("frontend -> backend:8080 after the fix = %q, want ✓ without mark", got)
	}
}

func TestCheckOverPermissive(t *testing.T) {
	f := newFake()
	h := start(t, f, runOpts{noColor: true, autolab: "backend-ingress"})
	h.idle("12 allowed, 0 blocked")
	h.key("c")
	s := h.idle("Extra flows that are allowed (over-permissive)")
	if !strings.Contains(s, "2 extra flows are allowed") || !strings.Contains(s, "2 wrong") {
		t.Errorf("over-permissive check not shown:\n%s", s)
	}
	if got := cellAt(t, s, "client", "8080"); got != "✓!" {
		t.Errorf("client -> backend:8080 = %q, want ✓!", got)
	}
}

func TestPassNextAndComplete(t *testing.T) {
	f := newFake()
	h := start(t, f, runOpts{noColor: true, autolab: "backend-ingress"})
	h.idle("12 allowed, 0 blocked")
	h.key("n") // not passed yet: nothing happens
	f.lesson.apply("backend-allow", gridWith(kClientBackend, kDNSBackend))
	h.idle("10 allowed, 2 blocked")
	h.key("c")
	s := h.idle("✓ passed")
	requireScreen(t, s, 80, 24)
	if !strings.Contains(s, "isolates") {
		t.Errorf("the explanation is not shown after passing:\n%s", s)
	}
	h.key("n")
	s = h.idle("Task 2/2", "The backend talks only to DNS")
	if strings.Contains(s, "!") {
		t.Errorf("wrong marks of task 1 survived into task 2:\n%s", s)
	}
	f.lesson.apply("backend-egress", gridWith(kClientBackend, kDNSBackend, kBackendFrontend))
	h.idle("9 allowed, 3 blocked")
	h.key("c")
	h.idle("✓ passed")
	h.key("n")
	s = h.idle("Lab backend-ingress complete!")
	requireFits(t, s, 80, 24)
}

func TestHints(t *testing.T) {
	f := newFake()
	h := start(t, f, runOpts{noColor: true, autolab: "backend-ingress"})
	h.idle("12 allowed, 0 blocked")
	h.key("h")
	s := h.idle("Hint 1/2:")
	requireScreen(t, s, 80, 24)
	h.key("h")
	h.idle("Hint 2/2:")
	h.key("h")
	s = h.idle("No more hints for this task.")
	if !strings.Contains(s, "Hint 2/2") {
		t.Errorf("revealed hints disappeared:\n%s", s)
	}
}

func TestEventsPanel(t *testing.T) {
	f := newFake()
	h := start(t, f, runOpts{noColor: true, autolab: "backend-ingress"})
	h.idle("no verdicts yet")
	f.lesson.apply("backend-allow", gridWith(kClientBackend, kDNSBackend),
		Event{Time: at, Allowed: true, Text: "ALLOW netpol-lab/frontend -> backend:8080 (backend-allow ingress rule 0)"},
		Event{Time: at, Allowed: false, Text: "DROP netpol-lab/client -> backend:8080 (no ingress rule of backend-allow matches)"},
	)
	s := h.idle("DROP netpol-lab/client -> backend:8080", "10 allowed")
	requireScreen(t, s, 80, 24)
	if !strings.Contains(s, "(no ingress rule of backend-allow\n   matches)") {
		t.Errorf("the reason of a drop must stay readable (wrapped, not cut):\n%s", s)
	}
}

func TestNoEnforcerHidesEvents(t *testing.T) {
	f := newFake()
	f.lesson.noEvents = true
	h := start(t, f, runOpts{noColor: true, autolab: "backend-ingress"})
	s := h.idle("12 allowed, 0 blocked")
	if strings.Contains(s, "Enforcer verdicts") {
		t.Errorf("events panel shown without an enforcer:\n%s", s)
	}
	requireFits(t, s, 80, 24)
}

func TestEscBackToPicker(t *testing.T) {
	f := newFake()
	h := start(t, f, runOpts{noColor: true, autolab: "backend-ingress"})
	h.idle("12 allowed, 0 blocked")
	h.key("c")
	h.idle("Extra flows")
	h.key("esc") // closes the check
	h.idle("Task 1/2")
	h.key("esc") // back to the labs
	h.idle("Default deny, then open up")
	h.key("enter")
	h.idle("Task 1/2")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.starts != 2 {
		t.Errorf("Start called %d times, want 2", f.starts)
	}
}

func TestResize(t *testing.T) {
	f := newFake()
	h := start(t, f, runOpts{noColor: true, autolab: "backend-ingress"})
	h.idle("12 allowed, 0 blocked")
	h.key("c")
	h.idle("Extra flows")
	for _, size := range [][2]int{{120, 40}, {60, 20}, {80, 24}, {40, 12}} {
		h.tm.Send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		time.Sleep(50 * time.Millisecond)
		s := h.idle("Reachability")
		t.Logf("%dx%d:\n%s", size[0], size[1], s)
		requireFits(t, h.screen(), size[0], size[1])
		if size[0] >= 60 && !strings.Contains(s, "client") {
			t.Errorf("at %dx%d the grid is gone:\n%s", size[0], size[1], s)
		}
	}
	h.tm.Send(tea.WindowSizeMsg{Width: 120, Height: 40})
	s := h.idle("Extra flows")
	if n := len(strings.Split(s, "\n")); n != 40 {
		t.Errorf("at 120x40 the screen has %d lines, want it to use all 40", n)
	}
}

// sgrColor matches SGR sequences; colorParams says whether one sets a colour.
var sgr = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

func colorSequences(out []byte) []string {
	var found []string
	for _, m := range sgr.FindAllSubmatch(out, -1) {
		for _, p := range strings.FieldsFunc(string(m[1]), func(r rune) bool { return r == ';' || r == ':' }) {
			n, err := strconv.Atoi(p)
			if err != nil {
				continue
			}
			if (n >= 30 && n <= 38) || (n >= 40 && n <= 48) || (n >= 90 && n <= 97) || (n >= 100 && n <= 107) {
				found = append(found, strconv.Quote(string(m[0])))
				break
			}
		}
	}
	return found
}

// drive walks every screen: picker, lesson, a failed check, a hint.
func drive(h *harness) {
	h.idle("Protect the backend")
	h.key("enter")
	h.idle("12 allowed, 0 blocked")
	h.fake.lesson.apply("backend-deny", gridWith(kClientBackend, kDNSBackend, kFrontendBackend),
		Event{Time: at, Allowed: false, Text: "DROP netpol-lab/frontend -> backend:8080 (no ingress rule of backend-deny matches)"})
	h.idle("9 allowed, 3 blocked", "DROP")
	h.key("c")
	h.idle("Required flows")
	h.key("h")
	h.idle("Hint 1/2")
	h.fake.lesson.apply("backend-allow", gridWith(kClientBackend, kDNSBackend))
	h.idle("10 allowed")
	h.key("c")
	h.idle("✓ passed")
}

func TestNoColor(t *testing.T) {
	// A terminal that could show colours, NO_COLOR in the environment.
	t.Setenv("NO_COLOR", "1")
	h := start(t, newFake(), runOpts{profile: termenv.TrueColor, setupEnv: true})
	drive(h)
	out := h.output()
	if c := colorSequences(out); len(c) > 0 {
		t.Fatalf("NO_COLOR output has %d colour sequences, e.g. %s", len(c), c[0])
	}
	if !bytes.Contains(out, []byte("passed")) {
		t.Fatalf("the output is not the TUI's:\n%q", out)
	}
}

func TestColorWhenAllowed(t *testing.T) {
	// The same run with colour allowed must colour, or TestNoColor proves
	// nothing.
	t.Setenv("NO_COLOR", "")
	h := start(t, newFake(), runOpts{profile: termenv.TrueColor, setupEnv: true})
	drive(h)
	if c := colorSequences(h.output()); len(c) == 0 {
		t.Fatal("no colour at all with a true-colour terminal")
	}
}

func TestColorSequencesDetector(t *testing.T) {
	for in, want := range map[string]int{
		"\x1b[31mred\x1b[0m":       1,
		"\x1b[38;5;203mx":          1,
		"\x1b[1;48;2;1;2;3mx":      1,
		"\x1b[1mbold\x1b[0m":       0,
		"\x1b[3Aup three, \x1b[7m": 0,
	} {
		if got := len(colorSequences([]byte(in))); got != want {
			t.Errorf("colorSequences(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestGridRender(t *testing.T) {
	st := newStyles(true, true)
	g := renderGrid(st, gridWith(kClientBackend), map[matrix.Key]WrongCell{
		kClientBackend:   {From: kClientBackend.From, To: kClientBackend.To, Port: 8080, Protocol: "TCP", Status: Missing, Allowed: false},
		kFrontendBackend: {From: kFrontendBackend.From, To: kFrontendBackend.To, Port: 8080, Protocol: "TCP", Status: Leaked, Allowed: false}, // fixed since
	})
	got := ansi.Strip(strings.Join(g.lines(80), "\n"))
	want := strings.Join([]string{
		`from \ to  coredns     backend  frontend`,
		`           53  53/UDP  8080     80`,
		`coredns    ·   ·       ✓        ✓`,
		`backend    ✓   ✓       ·        ✓`,
		`client     ✓   ✓       ✗!       ✓`,
		`frontend   ✓   ✓       ✓        ·`,
		`11 allowed, 1 blocked, 1 wrong  ! wrong (see check)`,
	}, "\n")
	if got != want {
		t.Errorf("grid:\n%s\nwant:\n%s", got, want)
	}
}

func lookupNoColor() bool { return envNoColor() }

func TestFullHelpFits(t *testing.T) {
	h := start(t, newFake(), runOpts{noColor: true, autolab: "backend-ingress"})
	h.idle("12 allowed, 0 blocked")
	h.key("?")
	s := h.idle("scroll up", "scroll down")
	requireFits(t, s, 80, 24)
	if !strings.Contains(s, "client") {
		t.Errorf("the full help pushed the grid off the screen:\n%s", s)
	}
}

func TestEventsFollowAfterCheck(t *testing.T) {
	// Verdicts that arrive while the check result hides the events panel
	// must be in view when it comes back.
	f := newFake()
	h := start(t, f, runOpts{noColor: true, autolab: "backend-ingress"})
	h.idle("12 allowed, 0 blocked")
	h.key("c")
	h.idle("Extra flows")
	for i := 0; i < 6; i++ {
		f.lesson.events <- Event{Time: at, Text: "DROP old verdict " + strconv.Itoa(i)}
	}
	f.lesson.apply("backend-deny", gridWith(kClientBackend, kDNSBackend, kFrontendBackend),
		Event{Time: at, Text: "DROP newest verdict"})
	h.idle("9 allowed, 3 blocked")
	h.key("esc")
	s := h.idle("DROP newest verdict")
	if strings.Contains(s, "old verdict 0") {
		t.Errorf("the events panel does not follow the newest verdicts:\n%s", s)
	}
}

// TestCheckHeadline: the verdict is said once, the score is never cut
// (before, the adapter's headline already held the cells and points, so
// the check pane said them twice and the status line was cut at "poin"),
// and leaks one change fixes are one entry.
func TestCheckHeadline(t *testing.T) {
	f := newFake()
	f.lesson.verdict, f.lesson.group = true, true
	h := start(t, f, runOpts{noColor: true, autolab: "backend-ingress"})
	h.idle("12 allowed, 0 blocked")
	h.key("c")
	s := h.idle("Extra flows that are allowed (over-permissive)")
	requireScreen(t, s, 80, 24)
	if n := strings.Count(s, "cells right"); n != 1 {
		t.Errorf("%q said %d times:\n%s", "cells right", n, s)
	}
	lines := strings.Split(s, "\n")
	status := lines[len(lines)-2]
	if !strings.Contains(status, "/10 points") {
		t.Errorf("the status line cuts the score: %q", status)
	}
	if !strings.Contains(s, "! 2 cells allowed at ingress of netpol-lab/backend, expected blocked:") {
		t.Errorf("the two leaks into the backend are not one entry:\n%s", s)
	}
}

// TestInstructionPinned: a long brief at 80x24 still shows the sentence
// the task is graded on, over the brief and over the check result.
func TestInstructionPinned(t *testing.T) {
	f := newFake()
	long := strings.Repeat("Some context about the cluster that a learner reads once, and then scrolls past.\n\n", 6)
	f.lesson.tasks[0].info.Brief = long + "Make **only the frontend reach the backend, on port 8080**, nothing else."
	h := start(t, f, runOpts{noColor: true, autolab: "backend-ingress"})
	s := h.idle("12 allowed, 0 blocked")
	requireScreen(t, s, 80, 24)
	if !strings.Contains(s, "▸ Only the frontend reach the backend, on port 8080") {
		t.Errorf("the instruction is not on the screen:\n%s", s)
	}
	h.key("c")
	s = h.idle("Extra flows that are allowed")
	requireFits(t, s, 80, 24)
	if !strings.Contains(s, "▸ Only the frontend reach the backend, on port 8080") {
		t.Errorf("the check result hides the instruction:\n%s", s)
	}
}

// TestGridRefused: a refused cell (nothing listens: a dead agent) has its
// own mark and the footer says what to do, instead of a policy's ✗.
func TestGridRefused(t *testing.T) {
	st := newStyles(true, true)
	m := gridWith(kClientBackend)
	for i, c := range m.Results {
		if c.Key() == kClientBackend {
			m.Results[i].Detail = matrix.DetailRefused
		}
	}
	got := ansi.Strip(strings.Join(renderGrid(st, m, nil).lines(80), "\n"))
	if !strings.Contains(got, "client     ✓   ✓       R        ✓") ||
		!strings.Contains(got, "11 allowed, 0 blocked, 1 refused  R: nothing listens (agent down?)") {
		t.Errorf("grid:\n%s", got)
	}
}

// TestPickerKeysTogether: keys that reach the program in one read ("jj",
// key repeat) each move the selection (before, "jj" was one unknown key
// and the picker did not move).
func TestPickerKeysTogether(t *testing.T) {
	f := newFake()
	f.gate = make(chan struct{})
	t.Cleanup(func() { close(f.gate) })
	h := start(t, f, runOpts{noColor: true})
	h.idle("Protect the backend", "Egress and DNS")
	h.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("jj")})
	time.Sleep(50 * time.Millisecond)
	h.key("enter")
	h.waitFor("Starting lab egress-dns")
}

func TestInstruction(t *testing.T) {
	for brief, want := range map[string]string{
		"Make **`shop/db` accept connections only from `shop/api`**, and so on.": "shop/db accept connections only from shop/api",
		"Make **every pod in `netpol-lab`\nrefuse all incoming connections**.":   "Every pod in netpol-lab refuse all incoming connections",
		"**DNS** and **the API on port 8000, nothing else**":                     "The API on port 8000, nothing else",
		"no bold here": "",
	} {
		if got := instruction(brief); got != want {
			t.Errorf("instruction(%q) = %q, want %q", brief, got, want)
		}
	}
}
