// Package labs is netlab's course: hands-on NetworkPolicy labs embedded in
// the binary. A lab runs in one scenario (a world from package scenarios)
// and is a list of tasks; each task has a short markdown brief, the
// reachability it expects (readable rules, see Rule, or derived from its
// reference solution through the engine), hints revealed one at a time, a
// reference solution and the explanation shown after success.
//
// The expectations live only here, in the binary: grading compares what a
// learner's policies do with Task.Expected, never with anything the learner
// submits.
//
// Lab files are YAML, one per lab, named NN-NAME.yaml (NN orders the
// course):
//
//	name: db-isolation               # must match the file name
//	title: Only the API reaches the database
//	scenario: shop                   # a scenario of package scenarios
//	internet: false                  # add cells to the internet host
//	summary: one line for lists
//	tasks:
//	- name: only-api
//	  title: Lock the database port
//	  points: 10                     # default 10
//	  brief: |                       # markdown
//	  start: |                       # optional: the policies in force when
//	                                 # the task starts; default: the end
//	                                 # state of the previous task
//	  labels:                        # optional label changes at task start
//	  - {pod: shop/web, set: {app: storefront}}
//	  enforcer: none                 # optional: none = no enforcer (default ebpf)
//	  observe: true                  # optional: nothing to change, look
//	  expect:
//	    fromSolution: false          # start from the reference solution's matrix
//	    rules:                       # then these rules, last match wins
//	    - "* -> * allow"
//	    - "* -> shop/db:5432 deny"
//	    - "shop/api -> shop/db:5432 allow"
//	  hints: [first, second]
//	  solution: |                    # NetworkPolicy manifests, applied like
//	                                 # kubectl apply on top of the start
//	  remove: [shop/bad-policy]      # policies the solution deletes
//	  explanation: |                 # markdown, shown after success
//	  files: {last-good.yaml: "..."} # optional files handed to the learner
package labs

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/world"
	networkingv1 "k8s.io/api/networking/v1"
)

//go:embed *.yaml
var catalogue embed.FS

// InternetIP and InternetPorts are the internet host every backend offers
// (the sandbox's is sandbox.InternetIP); a lab with Internet set has cells
// from every pod to these ports.
const InternetIP = "203.0.113.10"

// InternetPorts are the internet host's TCP ports.
var InternetPorts = []int32{80, 443}

// Enforcer says what enforces policies while a task runs.
type Enforcer string

const (
	// EnforcerEBPF is netlab's enforcer (the default).
	EnforcerEBPF Enforcer = "ebpf"
	// EnforcerNone is a cluster whose network plugin ignores policies:
	// they are stored, and nothing is blocked.
	EnforcerNone Enforcer = "none"
)

// Lab is one lab of the catalogue.
type Lab struct {
	Name     string  `json:"name"`
	Title    string  `json:"title"`
	Summary  string  `json:"summary"`
	Scenario string  `json:"scenario"`
	Internet bool    `json:"internet,omitempty"`
	Tasks    []*Task `json:"tasks"`
	// File is where the lab came from ("labs/03-db-isolation.yaml").
	File string `json:"file"`

	world *world.World // the scenario, without policies
}

// Task is one step of a lab.
type Task struct {
	Lab   *Lab   `json:"-"`
	Index int    `json:"index"` // 0-based position in the lab
	Name  string `json:"name"`
	Title string `json:"title"`
	// Brief is markdown: what to achieve.
	Brief string `json:"brief"`
	// Hints are revealed one at a time.
	Hints []string `json:"hints"`
	// Explanation is markdown shown once the task passes.
	Explanation string `json:"explanation"`
	// Points is what the task is worth (default 10).
	Points   int      `json:"points"`
	Enforcer Enforcer `json:"enforcer"`
	// Observe tasks need no change: the starting state already is the
	// expected one and the lesson is in looking at it.
	Observe bool `json:"observe,omitempty"`
	// Start is the policy set in force when the task starts.
	Start []*networkingv1.NetworkPolicy `json:"start"`
	// Solution is the reference solution: policies applied (created or
	// replaced by namespace/name) on top of Start, after deleting Remove.
	Solution []*networkingv1.NetworkPolicy `json:"solution"`
	// Remove lists "ns/name" policies the reference solution deletes.
	Remove []string `json:"remove,omitempty"`
	// Labels are this task's label changes, made when it starts (the
	// changes of earlier tasks stay).
	Labels []LabelChange `json:"labels,omitempty"`
	// Expect is how the expected matrix is made.
	Expect Expect `json:"expect"`
	// Files are handed to the learner (e.g. the last good policy set of a
	// rollback drill): file name -> content.
	Files map[string]string `json:"files,omitempty"`
	// SolutionYAML and StartYAML are the manifests as written in the lab,
	// for showing to a learner.
	SolutionYAML string `json:"solutionYAML"`
	StartYAML    string `json:"startYAML,omitempty"`

	world    *world.World // the scenario with labels up to this task
	expected *matrix.Matrix
}

// Expect says how a task's expected matrix is made.
type Expect struct {
	// Inherit starts from the previous task's expected matrix; Rules then
	// say what this task changes.
	Inherit bool `json:"inherit,omitempty"`
	// FromSolution starts from the engine's matrix for the reference
	// solution; Rules then override cells.
	FromSolution bool `json:"fromSolution,omitempty"`
	// Rules decide cells, last match wins.
	Rules []Rule `json:"-"`
	// RuleText is Rules as written.
	RuleText []string `json:"rules,omitempty"`
}

// LabelChange sets (or, with an empty value, removes) labels of one pod or
// one namespace when a task starts.
type LabelChange struct {
	// Pod is "ns/name"; Namespace is a namespace name. Exactly one is set.
	Pod       string            `json:"pod,omitempty"`
	Namespace string            `json:"namespace,omitempty"`
	Set       map[string]string `json:"set"`
}

var (
	loadOnce sync.Once
	loaded   []*Lab
	loadErr  error
)

// List returns the embedded catalogue in course order. An error means the
// binary was built with a broken lab (the tests catch that).
func List() ([]*Lab, error) {
	loadOnce.Do(func() { loaded, loadErr = LoadFS(catalogue, "labs") })
	return loaded, loadErr
}

// Get returns the lab called name.
func Get(name string) (*Lab, error) {
	all, err := List()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range all {
		if l.Name == name {
			return l, nil
		}
		names = append(names, l.Name)
	}
	return nil, fmt.Errorf("unknown lab %q (labs: %s)", name, strings.Join(names, ", "))
}

// Task returns the task called name, or with a number "1".."N" the task at
// that (1-based) position.
func (l *Lab) Task(name string) (*Task, error) {
	var names []string
	for _, t := range l.Tasks {
		if t.Name == name || fmt.Sprint(t.Index+1) == name {
			return t, nil
		}
		names = append(names, t.Name)
	}
	return nil, fmt.Errorf("lab %s has no task %q (tasks: %s)", l.Name, name, strings.Join(names, ", "))
}

// World returns a copy of the lab's scenario world, without policies.
func (l *Lab) World() *world.World { return l.world.Clone() }

// Points is what the whole lab is worth.
func (l *Lab) Points() int {
	n := 0
	for _, t := range l.Tasks {
		n += t.Points
	}
	return n
}

// Next returns the task after t, or nil for the last one.
func (t *Task) Next() *Task {
	if t.Index+1 < len(t.Lab.Tasks) {
		return t.Lab.Tasks[t.Index+1]
	}
	return nil
}

// ID is "lab/task".
func (t *Task) ID() string { return t.Lab.Name + "/" + t.Name }

// World returns a copy of the scenario as it is during the task (labels
// changed by this and earlier tasks), without policies.
func (t *Task) World() *world.World { return t.world.Clone() }

// StartWorld is World with the task's starting policies.
func (t *Task) StartWorld() *world.World { return t.with(t.Start) }

// SolvedWorld is World with the reference end state: Start, minus Remove,
// plus Solution.
func (t *Task) SolvedWorld() *world.World { return t.with(t.End()) }

func (t *Task) with(pols []*networkingv1.NetworkPolicy) *world.World {
	w := t.World()
	for _, np := range pols {
		w.Policies = append(w.Policies, np.DeepCopy())
	}
	w.Sort()
	return w
}

// End is the policy set after the reference solution: Start, minus
// Remove, with Solution applied (created or replaced by namespace/name).
func (t *Task) End() []*networkingv1.NetworkPolicy {
	return applyPolicies(t.Start, t.Remove, t.Solution)
}

// Expected is the matrix the task expects. It is built from the lab alone.
func (t *Task) Expected() *matrix.Matrix {
	return &matrix.Matrix{Results: append([]matrix.Cell(nil), t.expected.Results...)}
}

// Predict is the engine's matrix for w under the task's enforcer, over the
// task's cells (every pod pair and port, plus the internet host when the
// lab has it).
func (t *Task) Predict(w *world.World) *matrix.Matrix {
	return Predict(w, t.Lab.Internet, t.Enforcer)
}

// applyPolicies returns base minus the remove keys, with add created or
// replaced by namespace/name, sorted.
func applyPolicies(base []*networkingv1.NetworkPolicy, remove []string, add []*networkingv1.NetworkPolicy) []*networkingv1.NetworkPolicy {
	out := []*networkingv1.NetworkPolicy{}
	gone := map[string]bool{}
	for _, k := range remove {
		gone[k] = true
	}
	for _, np := range add {
		gone[np.Namespace+"/"+np.Name] = true
	}
	for _, np := range base {
		if !gone[np.Namespace+"/"+np.Name] {
			out = append(out, np.DeepCopy())
		}
	}
	for _, np := range add {
		out = append(out, np.DeepCopy())
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	return out
}

// LoadFS reads every NN-NAME.yaml lab in the root of fsys; dir is how the
// directory is named in errors.
func LoadFS(fsys fs.FS, dir string) ([]*Lab, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []*Lab
	var errs Errors
	seen := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		l, err := Parse(dir+"/"+e.Name(), data)
		if err != nil {
			if es, ok := err.(Errors); ok {
				errs = append(errs, es...)
				continue
			}
			return nil, err
		}
		if first, dup := seen[l.Name]; dup {
			errs = append(errs, &Error{File: l.File, Lab: l.Name, Field: "name", Err: fmt.Errorf("duplicate lab name, also in %s", first)})
			continue
		}
		seen[l.Name] = l.File
		out = append(out, l)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}
