package tui

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/netlab/netlab/internal/matrix"
)

// fakeLessons is the Lessons the tests drive: one lab on the netpol-lab
// world (coredns, backend, client, frontend), whose "dataplane" is a matrix
// the test sets with apply, as a learner's `netlab apply -f` would.
type fakeLessons struct {
	labs     []LabInfo
	lesson   *fakeLesson
	startErr error
	// gate, when set, holds Start until it is closed (the start screen).
	gate chan struct{}
	mu   sync.Mutex
	// starts counts Start calls.
	starts int
}

func (f *fakeLessons) Labs(context.Context) ([]LabInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]LabInfo(nil), f.labs...), nil
}

func (f *fakeLessons) Start(ctx context.Context, lab string, progress func(string)) (Lesson, error) {
	f.mu.Lock()
	f.starts++
	f.mu.Unlock()
	if progress != nil {
		progress("creating pod network namespaces")
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.startErr != nil {
		return nil, f.startErr
	}
	if lab != f.lesson.lab {
		return nil, fmt.Errorf("no lab %q", lab)
	}
	return f.lesson, nil
}

// fakeTask is a task with its expected matrix.
type fakeTask struct {
	info     TaskInfo
	hints    []string
	expected map[matrix.Key]bool
	explain  string
}

// fakeLesson is a running lab.
type fakeLesson struct {
	lab   string
	title string

	mu       sync.Mutex
	tasks    []fakeTask
	index    int
	shown    int // hints revealed for the current task
	grid     *matrix.Matrix
	policy   string // the name of the policy in force, for the events
	probes   int
	changes  chan struct{}
	events   chan Event
	noEvents bool
	// verdict words the check's Summary as package grade does (the real
	// adapter passes it); group makes the leaks into each pod one group.
	verdict, group bool
}

// Cell keys of the fake world.
var (
	kDNSBackend      = matrix.Key{From: "kube-system/coredns", To: "netpol-lab/backend", Port: 8080, Protocol: "TCP"}
	kDNSFrontend     = matrix.Key{From: "kube-system/coredns", To: "netpol-lab/frontend", Port: 80, Protocol: "TCP"}
	kBackendDNSTCP   = matrix.Key{From: "netpol-lab/backend", To: "kube-system/coredns", Port: 53, Protocol: "TCP"}
	kBackendDNSUDP   = matrix.Key{From: "netpol-lab/backend", To: "kube-system/coredns", Port: 53, Protocol: "UDP"}
	kBackendFrontend = matrix.Key{From: "netpol-lab/backend", To: "netpol-lab/frontend", Port: 80, Protocol: "TCP"}
	kClientDNSTCP    = matrix.Key{From: "netpol-lab/client", To: "kube-system/coredns", Port: 53, Protocol: "TCP"}
	kClientDNSUDP    = matrix.Key{From: "netpol-lab/client", To: "kube-system/coredns", Port: 53, Protocol: "UDP"}
	kClientBackend   = matrix.Key{From: "netpol-lab/client", To: "netpol-lab/backend", Port: 8080, Protocol: "TCP"}
	kClientFrontend  = matrix.Key{From: "netpol-lab/client", To: "netpol-lab/frontend", Port: 80, Protocol: "TCP"}
	kFrontendDNSTCP  = matrix.Key{From: "netpol-lab/frontend", To: "kube-system/coredns", Port: 53, Protocol: "TCP"}
	kFrontendDNSUDP  = matrix.Key{From: "netpol-lab/frontend", To: "kube-system/coredns", Port: 53, Protocol: "UDP"}
	kFrontendBackend = matrix.Key{From: "netpol-lab/frontend", To: "netpol-lab/backend", Port: 8080, Protocol: "TCP"}
	allKeys          = []matrix.Key{kDNSBackend, kDNSFrontend, kBackendDNSTCP, kBackendDNSUDP, kBackendFrontend,
		kClientDNSTCP, kClientDNSUDP, kClientBackend, kClientFrontend, kFrontendDNSTCP, kFrontendDNSUDP, kFrontendBackend}
)

// gridWith is the matrix where every cell is allowed except blocked.
func gridWith(blocked ...matrix.Key) *matrix.Matrix {
	no := map[matrix.Key]bool{}
	for _, k := range blocked {
		no[k] = true
	}
	m := &matrix.Matrix{}
	for _, k := range allKeys {
		c := matrix.Cell{From: k.From, To: k.To, Port: k.Port, Protocol: k.Protocol, Allowed: !no[k]}
		if no[k] {
			c.Detail = matrix.DetailTimeout
		}
		m.Results = append(m.Results, c)
	}
	m.Sort()
	return m
}

// expectAllBut is an expectation: every cell allowed except blocked.
func expectAllBut(blocked ...matrix.Key) map[matrix.Key]bool {
	out := map[matrix.Key]bool{}
	for _, k := range allKeys {
		out[k] = true
	}
	for _, k := range blocked {
		out[k] = false
	}
	return out
}

const briefOne = "**Only the frontend may reach the backend on port 8080.** " +
	"Block everything else that goes to the backend, and keep DNS working.\n\n" +
	"- write a policy that selects `app: backend`\n" +
	"- apply it with `netlab apply -f FILE` in another terminal\n" +
	"- press **c** to check"

// newFake returns the lab "backend-ingress" with two tasks, every cell
// allowed (no policy yet).
func newFake() *fakeLessons {
	l := &fakeLesson{
		lab:     "backend-ingress",
		title:   "Protect the backend",
		grid:    gridWith(),
		changes: make(chan struct{}, 4),
		events:  make(chan Event, 64),
		tasks: []fakeTask{{
			info: TaskInfo{Name: "frontend-only", Title: "Only the frontend reaches the backend", Brief: briefOne, Points: 10},
			hints: []string{"A policy whose podSelector is app=backend isolates the backend for ingress.",
				"Add one ingress rule: from podSelector app=frontend, port 8080."},
			expected: expectAllBut(kClientBackend, kDNSBackend),
			explain:  "Selecting the backend **isolates** it; the rule lets the frontend back in.",
		}, {
			info:     TaskInfo{Name: "egress", Title: "The backend talks only to DNS", Brief: "Now restrict the backend's **egress** to DNS.", Points: 10},
			hints:    []string{"Egress rules need policyTypes: [Egress]."},
			expected: expectAllBut(kClientBackend, kDNSBackend, kBackendFrontend),
		}},
	}
	return &fakeLessons{
		labs: []LabInfo{
			{Name: "backend-ingress", Title: "Protect the backend", Summary: "ingress isolation", Tasks: 2, Passed: 0, Running: false},
			{Name: "default-deny", Title: "Default deny, then open up", Tasks: 3, Passed: 3, Running: true},
			{Name: "egress-dns", Title: "Egress and DNS", Tasks: 4, Passed: 1},
		},
		lesson: l,
	}
}

// apply plays a learner applying a policy: the dataplane now gives grid,
// verdict events come out and Changes fires.
func (l *fakeLesson) apply(policy string, grid *matrix.Matrix, events ...Event) {
	l.mu.Lock()
	l.grid, l.policy = grid, policy
	l.mu.Unlock()
	for _, e := range events {
		l.events <- e
	}
	l.changes <- struct{}{}
}

func (l *fakeLesson) info() TaskInfo {
	t := l.tasks[l.index].info
	t.Lab, t.LabTitle, t.Index, t.Total = l.lab, l.title, l.index, len(l.tasks)
	t.Hints = len(l.tasks[l.index].hints)
	t.Revealed = append([]string(nil), l.tasks[l.index].hints[:l.shown]...)
	return t
}

func (l *fakeLesson) Task() TaskInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info()
}

func (l *fakeLesson) Grid(ctx context.Context) (*matrix.Matrix, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.probes++
	return &matrix.Matrix{Results: append([]matrix.Cell(nil), l.grid.Results...)}, nil
}

func (l *fakeLesson) Changes(ctx context.Context) (<-chan struct{}, error) { return l.changes, nil }

func (l *fakeLesson) Events(ctx context.Context) (<-chan Event, error) {
	if l.noEvents {
		return nil, nil
	}
	return l.events, nil
}

func (l *fakeLesson) Check(ctx context.Context) (*CheckResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tasks[l.index]
	res := &CheckResult{MaxPoints: t.info.Points, Grid: &matrix.Matrix{Results: append([]matrix.Cell(nil), l.grid.Results...)}}
	var missing, leaked []WrongCell
	for _, c := range l.grid.Results {
		want, ok := t.expected[c.Key()]
		if !ok {
			continue
		}
		res.Cells++
		if want == c.Allowed {
			res.Correct++
			continue
		}
		w := WrongCell{From: c.From, To: c.To, Port: c.Port, Protocol: c.Protocol, Allowed: c.Allowed, Detail: c.Detail}
		if c.Allowed {
			w.Status = Leaked
			w.Why = fmt.Sprintf("%s is not isolated for ingress: no policy selects it", c.To)
			w.Hint = "select " + c.To + " with a policy that has no rule admitting " + c.From
			leaked = append(leaked, w)
		} else {
			w.Status = Missing
			w.Why = fmt.Sprintf("%s selects %s and none of its ingress rules admits %s", l.policy, c.To, c.From)
			w.Hint = "add an ingress rule from " + c.From + " on port " + fmt.Sprint(c.Port)
			missing = append(missing, w)
		}
	}
	if l.group && len(leaked) > 1 {
		byTo := map[string]int{}
		for i, w := range leaked {
			g, ok := byTo[w.To]
			if !ok {
				res.Groups = append(res.Groups, WrongGroup{Side: "ingress of " + w.To,
					Why: "no policy isolates ingress of " + w.To, Hint: "isolate ingress of " + w.To + ", allowing only what the task needs"})
				g = len(res.Groups)
				byTo[w.To] = g
			}
			grp := &res.Groups[g-1]
			grp.Cells++
			grp.Flows = []string{fmt.Sprintf("%d sources -> %s:%d/%s", grp.Cells, w.To, w.Port, w.Protocol)}
			leaked[i].Group = g
		}
	}
	res.Wrong = append(missing, leaked...)
	res.Passed = len(res.Wrong) == 0
	if l.verdict && !res.Passed {
		res.Summary = fmt.Sprintf("over-permissive: every required flow works, but %d extra flows are allowed", len(leaked))
	}
	res.Points = float64(t.info.Points) * float64(res.Correct) / float64(res.Cells)
	if res.Passed {
		res.Points = float64(t.info.Points)
		res.Explanation = t.explain
	}
	return res, nil
}

func (l *fakeLesson) Hint(ctx context.Context) (string, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.tasks[l.index].hints
	if l.shown >= len(h) {
		return "", false, nil
	}
	l.shown++
	return h[l.shown-1], true, nil
}

func (l *fakeLesson) Next(ctx context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.index+1 >= len(l.tasks) {
		return false, nil
	}
	l.index++
	l.shown = 0
	return true, nil
}

var errBoom = errors.New("sandbox: need root")

// at is a fixed event time, so screens do not depend on the clock.
var at = time.Date(2025, 1, 2, 10, 30, 0, 0, time.UTC)
