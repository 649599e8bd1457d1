package tui

import (
	"context"
	"time"

	"github.com/netlab/netlab/internal/matrix"
)

// Lessons is everything the TUI needs from the rest of netlab: the list of
// labs and a way to start one. The TUI knows nothing about backends, lab
// files or grading; an adapter (internal/cli) implements this on top of
// them, and the tests implement it with a fake.
type Lessons interface {
	// Labs lists the labs for the picker, in course order.
	Labs(ctx context.Context) ([]LabInfo, error)
	// Start brings the lab up, or resumes it when it is already running,
	// and returns it at its current task. It may take seconds: the TUI
	// shows a spinner, and progress (which may be nil) receives one line
	// per step ("creating namespaces") to show under it. Start must stop
	// early when ctx is cancelled (the learner pressed esc).
	Start(ctx context.Context, lab string, progress func(step string)) (Lesson, error)
}

// Lesson is one running lab, positioned on one task. The TUI calls it only
// from tea.Cmds (never from Update or View), so calls may block, and it
// makes one call at a time, with one exception: Changes and Events are
// called once, right after Start, possibly while Task or Grid runs. All
// calls get the lesson's context, cancelled when the learner leaves it.
type Lesson interface {
	// Task describes the current task.
	Task() TaskInfo
	// Grid measures reachability now (a real probe of every cell).
	Grid(ctx context.Context) (*matrix.Matrix, error)
	// Changes fires whenever something that can change the grid happened
	// (policies applied or deleted, labels changed) until ctx is done;
	// the TUI then measures the grid again. The channel may be closed when
	// watching stops; a nil channel means the lab cannot be watched (the
	// learner refreshes with r).
	Changes(ctx context.Context) (<-chan struct{}, error)
	// Events streams the enforcer's verdicts until ctx is done. A nil
	// channel means there is no enforcer to listen to.
	Events(ctx context.Context) (<-chan Event, error)
	// Check grades the current task against what the dataplane does now.
	Check(ctx context.Context) (*CheckResult, error)
	// Hint reveals the current task's next hint; ok is false when every
	// hint has been shown.
	Hint(ctx context.Context) (hint string, ok bool, err error)
	// Next moves to the next task once the current one has passed (it may
	// apply the next task's starting policies and labels, so it may take
	// seconds). advanced is false when the current task was the last one.
	Next(ctx context.Context) (advanced bool, err error)
}

// LabInfo is one row of the lab picker.
type LabInfo struct {
	Name    string // "db-isolation": what Start takes
	Title   string // "Only the API reaches the database"
	Summary string // one line, may be empty
	Tasks   int    // how many tasks the lab has
	Passed  int    // how many of them the learner has passed
	Running bool   // the lab is up (Start resumes it)
}

// TaskInfo describes the current task of a lesson.
type TaskInfo struct {
	Lab      string // lab name
	LabTitle string
	Index    int // 0-based
	Total    int // tasks in the lab
	Name     string
	Title    string
	Brief    string // markdown
	Hints    int    // how many hints the task has in all
	// Revealed are the hints already shown (a resumed lab shows them
	// again); Hint reveals the one after them.
	Revealed []string
	Points   int
	Passed   bool // the task was already passed (resumed labs): n works
	// Apply is how the learner applies policies here ("netlab apply -f
	// FILE", or kubectl on a cluster); empty means the former.
	Apply string
}

// Event is one verdict of the enforcer, already in words, e.g. Text
// "DROP netpol-lab/client -> backend:8080 (no ingress rule of backend-allow
// matches)".
type Event struct {
	Time    time.Time
	Allowed bool
	Text    string
}

// CellStatus says how a graded cell fared.
type CellStatus string

// Statuses of a wrong cell (the names of package grade).
const (
	// Missing: the task expects the flow allowed, it was blocked.
	Missing CellStatus = "missing"
	// Leaked: the task expects the flow blocked, it was allowed (an
	// over-permissive extra).
	Leaked CellStatus = "leaked"
	// Unmeasured: the probe has no verdict for the cell.
	Unmeasured CellStatus = "unmeasured"
)

// CheckResult is the grade of the current task.
type CheckResult struct {
	Passed bool
	// Summary is the verdict in words ("too strict: 1 required flow is
	// blocked"); empty means the TUI words it from the counts.
	Summary   string
	Correct   int // cells right
	Cells     int // cells that count
	Points    float64
	MaxPoints int
	// Wrong lists every wrong cell, required flows first.
	Wrong []WrongCell
	// Groups are wrong cells that one change fixes, shown as one entry
	// (WrongCell.Group points here).
	Groups []WrongGroup
	// Note is said under the score (e.g. why a pass earned 0 points).
	Note string
	// Explanation is markdown shown once the task passes.
	Explanation string
	// Grid is the matrix that was graded, if the check measured one; the
	// grid panel then shows it with the wrong cells marked.
	Grid *matrix.Matrix
}

// WrongCell is one cell the check got wrong, explained.
type WrongCell struct {
	From, To string // "ns/pod"
	Port     int32
	Protocol string
	Status   CellStatus
	// Allowed is what was measured (for Unmeasured, meaningless).
	Allowed bool
	Detail  string // "timeout", "refused", ... may be empty
	Why     string // the engine's explanation under the policies in force
	Hint    string // what to change for this cell
	// Group is 1 + the index in CheckResult.Groups of the cell's group,
	// or 0 when the cell stands alone.
	Group int
}

// WrongGroup is wrong cells of one status that one change fixes.
type WrongGroup struct {
	Side  string   // "ingress of shop/db"
	Flows []string // the cells in short, "a, b -> shop/db:5432/TCP"
	Cells int
	Why   string
	Hint  string
}

// Key is the matrix key of the cell.
func (c WrongCell) Key() matrix.Key {
	return matrix.Key{From: c.From, To: c.To, Port: c.Port, Protocol: c.Protocol}
}
