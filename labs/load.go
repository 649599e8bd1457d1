package labs

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/scenarios"
	networkingv1 "k8s.io/api/networking/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Error is one problem in a lab file. It names the file, the lab, the task
// and the field, like the API server names an object and a field path.
type Error struct {
	File  string
	Lab   string
	Task  string // "" for lab-level fields
	Field string // e.g. "expect.rules[2]"
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Lab != "" {
		fmt.Fprintf(&b, ": lab %s", e.Lab)
	}
	if e.Task != "" {
		fmt.Fprintf(&b, ": task %s", e.Task)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem of one load.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// The file format, as decoded (strictly: unknown fields are errors).
type labFile struct {
	Name     string     `json:"name"`
	Title    string     `json:"title"`
	Summary  string     `json:"summary"`
	Scenario string     `json:"scenario"`
	Internet bool       `json:"internet"`
	Tasks    []taskFile `json:"tasks"`
}

type taskFile struct {
	Name        string            `json:"name"`
	Title       string            `json:"title"`
	Points      *int              `json:"points"`
	Brief       string            `json:"brief"`
	Start       *string           `json:"start"`
	Labels      []LabelChange     `json:"labels"`
	Enforcer    Enforcer          `json:"enforcer"`
	Observe     bool              `json:"observe"`
	Expect      expectFile        `json:"expect"`
	Hints       []string          `json:"hints"`
	Solution    string            `json:"solution"`
	Remove      []string          `json:"remove"`
	Explanation string            `json:"explanation"`
	Files       map[string]string `json:"files"`
}

type expectFile struct {
	Inherit      bool     `json:"inherit"`
	FromSolution bool     `json:"fromSolution"`
	Rules        []string `json:"rules"`
}

var fileName = regexp.MustCompile(`^[0-9]+-([a-z0-9-]+)\.yaml$`)

// Parse reads one lab file; file is the name used in errors and must be
// NN-NAME.yaml with NAME the lab's name.
func Parse(file string, data []byte) (*Lab, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, Errors{{File: file, Err: fmt.Errorf("malformed YAML: %v", err)}}
	}
	var lf labFile
	strictErrs, err := sigsjson.UnmarshalStrict(js, &lf)
	if err != nil {
		return nil, Errors{{File: file, Err: err}}
	}
	if len(strictErrs) > 0 {
		var errs Errors
		for _, se := range strictErrs {
			errs = append(errs, &Error{File: file, Lab: lf.Name, Err: se})
		}
		return nil, errs
	}
	p := &parser{file: file, lab: lf.Name}
	l := p.lab1(&lf)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return l, nil
}

type parser struct {
	file, lab string
	errs      Errors
}

func (p *parser) add(task, fld string, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Lab: p.lab, Task: task, Field: fld, Err: fmt.Errorf(format, args...)})
}

func (p *parser) lab1(lf *labFile) *Lab {
	l := &Lab{Name: lf.Name, Title: lf.Title, Summary: strings.TrimSpace(lf.Summary), Scenario: lf.Scenario, Internet: lf.Internet, File: p.file}
	switch {
	case lf.Name == "":
		p.add("", "name", "required")
	default:
		for _, msg := range validation.IsDNS1123Label(lf.Name) {
			p.add("", "name", "%q: %s", lf.Name, msg)
		}
		if m := fileName.FindStringSubmatch(path.Base(p.file)); m == nil || m[1] != lf.Name {
			p.add("", "name", "%q does not match the file name (want NN-%s.yaml)", lf.Name, lf.Name)
		}
	}
	if lf.Title == "" {
		p.add("", "title", "required")
	}
	if len(lf.Tasks) == 0 {
		p.add("", "tasks", "a lab needs at least one task")
	}
	if lf.Scenario == "" {
		p.add("", "scenario", "required (scenarios: %s)", strings.Join(scenarios.Names(), ", "))
		return l
	}
	sfile, sdata, err := scenarios.Get(lf.Scenario)
	if err != nil {
		p.add("", "scenario", "%v", err)
		return l
	}
	objs, err := world.Parse(sfile, sdata, nil)
	if err == nil {
		l.world, err = world.Build(objs, nil)
	}
	if err == nil {
		// A lab's pods have the addresses the sandbox gives them (kind's
		// pod network is the same 10.244.0.0/16); ipBlock tasks count on it.
		err = world.AssignPodIPs(l.world, world.DefaultPodCIDR, nil, nil)
	}
	if err != nil {
		p.add("", "scenario", "%v", err)
		return l
	}
	if len(l.world.Policies) > 0 {
		p.add("", "scenario", "scenario %s holds policies; a lab's policies come from its tasks", lf.Scenario)
	}
	cur := l.world.Clone()
	var prevEnd []*networkingv1.NetworkPolicy
	names := map[string]bool{}
	for i := range lf.Tasks {
		t := p.task(l, i, &lf.Tasks[i], cur, prevEnd)
		if names[t.Name] {
			p.add(t.Name, "name", "duplicate task name")
		}
		names[t.Name] = true
		l.Tasks = append(l.Tasks, t)
		cur = t.world
		prevEnd = t.End()
	}
	return l
}

func (p *parser) task(l *Lab, i int, tf *taskFile, prev *world.World, prevEnd []*networkingv1.NetworkPolicy) *Task {
	t := &Task{Lab: l, Index: i, Name: tf.Name, Title: tf.Title, Brief: strings.TrimSpace(tf.Brief), Hints: tf.Hints,
		Explanation: strings.TrimSpace(tf.Explanation), Points: 10, Enforcer: tf.Enforcer, Observe: tf.Observe,
		Remove: tf.Remove, Labels: tf.Labels, Files: tf.Files, SolutionYAML: tf.Solution,
		Expect: Expect{Inherit: tf.Expect.Inherit, FromSolution: tf.Expect.FromSolution, RuleText: tf.Expect.Rules}}
	id := tf.Name
	if id == "" {
		id = fmt.Sprintf("tasks[%d]", i)
		p.add(id, "name", "required")
	} else {
		for _, msg := range validation.IsDNS1123Label(tf.Name) {
			p.add(id, "name", "%q: %s", tf.Name, msg)
		}
	}
	req := func(fld, v string) {
		if strings.TrimSpace(v) == "" {
			p.add(id, fld, "required")
		}
	}
	req("title", tf.Title)
	req("brief", tf.Brief)
	req("explanation", tf.Explanation)
	if len(tf.Hints) == 0 {
		p.add(id, "hints", "give at least one hint")
	}
	for j, h := range tf.Hints {
		req(fmt.Sprintf("hints[%d]", j), h)
	}
	if tf.Points != nil {
		if *tf.Points < 1 {
			p.add(id, "points", "must be at least 1, got %d", *tf.Points)
		}
		t.Points = *tf.Points
	}
	switch tf.Enforcer {
	case "":
		t.Enforcer = EnforcerEBPF
	case EnforcerEBPF, EnforcerNone:
	default:
		p.add(id, "enforcer", "unsupported value %q: supported values: \"ebpf\", \"none\"", tf.Enforcer)
	}
	for f := range tf.Files {
		if f != path.Base(f) || strings.HasPrefix(f, ".") {
			p.add(id, "files", "file name %q: must be a plain file name", f)
		}
	}

	// The world during the task: earlier label changes plus this task's.
	t.world = prev.Clone()
	for j, lc := range tf.Labels {
		p.label(id, j, t.world, lc)
	}

	// Policies: the start set, the solution and what it removes.
	if tf.Start != nil {
		t.StartYAML = *tf.Start
		t.Start = p.policies(id, "start", *tf.Start, t.world)
	} else {
		t.Start = applyPolicies(prevEnd, nil, nil)
	}
	if strings.TrimSpace(tf.Solution) == "" && len(tf.Remove) == 0 && !tf.Observe {
		p.add(id, "solution", "required (only an observe task may have no solution)")
	}
	if strings.TrimSpace(tf.Solution) != "" {
		t.Solution = p.policies(id, "solution", tf.Solution, t.world)
	}
	have := map[string]bool{}
	for _, np := range t.Start {
		have[np.Namespace+"/"+np.Name] = true
	}
	for j, k := range tf.Remove {
		if !have[k] {
			p.add(id, fmt.Sprintf("remove[%d]", j), "policy %q is not in the task's starting policies", k)
		}
	}

	// Expectations.
	for j, s := range tf.Expect.Rules {
		r, err := ParseRule(s)
		if err != nil {
			p.add(id, fmt.Sprintf("expect.rules[%d]", j), "%v", err)
			continue
		}
		if err := checkRule(r, t.world, l.Internet); err != nil {
			p.add(id, fmt.Sprintf("expect.rules[%d]", j), "%q: %v", s, err)
			continue
		}
		t.Expect.Rules = append(t.Expect.Rules, r)
	}
	if len(tf.Expect.Rules) == 0 && !tf.Expect.FromSolution {
		p.add(id, "expect", "give rules, or fromSolution: true")
	}
	if tf.Expect.Inherit && tf.Expect.FromSolution {
		p.add(id, "expect", "inherit and fromSolution exclude each other")
	}
	if tf.Expect.Inherit && i == 0 {
		p.add(id, "expect.inherit", "the first task has no previous task to inherit from")
	}
	if len(p.errs) == 0 {
		m, err := t.buildExpected()
		if err != nil {
			p.add(id, "expect", "%v", err)
		}
		t.expected = m
	}
	return t
}

func (p *parser) label(id string, j int, w *world.World, lc LabelChange) {
	fld := fmt.Sprintf("labels[%d]", j)
	var labels map[string]string
	switch {
	case (lc.Pod == "") == (lc.Namespace == ""):
		p.add(id, fld, "set exactly one of pod and namespace")
		return
	case lc.Pod != "":
		pod := w.Pod(lc.Pod)
		if pod == nil {
			p.add(id, fld+".pod", "no pod %q in the scenario", lc.Pod)
			return
		}
		labels = pod.Labels
	default:
		ns := w.Namespace(lc.Namespace)
		if ns == nil {
			p.add(id, fld+".namespace", "no namespace %q in the scenario", lc.Namespace)
			return
		}
		labels = ns.Labels
	}
	set := map[string]string{}
	for k, v := range lc.Set {
		if v != "" {
			set[k] = v
		}
	}
	if errs := metavalidation.ValidateLabels(set, field.NewPath(fld, "set")); len(errs) > 0 {
		p.add(id, fld+".set", "%v", errs.ToAggregate())
		return
	}
	for k, v := range lc.Set {
		if k == world.NamespaceNameLabel {
			p.add(id, fld+".set", "label %s is set by the API server", k)
			continue
		}
		if v == "" {
			delete(labels, k)
		} else {
			labels[k] = v
		}
	}
}

// policies decodes NetworkPolicy manifests written inside a lab file.
func (p *parser) policies(id, fld, text string, w *world.World) []*networkingv1.NetworkPolicy {
	objs, err := world.Parse(fmt.Sprintf("%s: task %s: %s", p.file, id, fld), []byte(text), nil)
	if err != nil {
		p.errs = append(p.errs, &Error{File: p.file, Lab: p.lab, Task: id, Field: fld, Err: err})
		return nil
	}
	if n := len(objs.Pods) + len(objs.Namespaces) + len(objs.Services); n > 0 {
		p.add(id, fld, "%d objects are not NetworkPolicies; pods and namespaces come from the scenario", n)
	}
	seen := map[string]bool{}
	var out []*networkingv1.NetworkPolicy
	for _, o := range objs.Policies {
		np := o.Obj
		k := np.Namespace + "/" + np.Name
		if w.Namespace(np.Namespace) == nil {
			p.add(id, fld, "%s: NetworkPolicy %s: namespace %q is not in the scenario", o.Source, k, np.Namespace)
		}
		if seen[k] {
			p.add(id, fld, "%s: NetworkPolicy %s is given twice", o.Source, k)
		}
		seen[k] = true
		out = append(out, np)
	}
	return out
}

// checkRule makes sure every name in a rule exists and that the rule
// decides at least one cell, so a typo cannot silently expect nothing.
func checkRule(r Rule, w *world.World, internet bool) error {
	for _, s := range []Selector{r.From, r.To} {
		if s.Internet && !internet {
			return errors.New("the lab has no internet host (set internet: true)")
		}
		if s.Namespace != "" && w.Namespace(s.Namespace) == nil {
			return fmt.Errorf("no namespace %q in the scenario", s.Namespace)
		}
		if s.Pod != "" && w.Pod(s.Namespace+"/"+s.Pod) == nil {
			return fmt.Errorf("no pod %s/%s in the scenario", s.Namespace, s.Pod)
		}
	}
	for _, c := range cells(w, internet) {
		if r.Matches(c.Key(), w.Pod(c.To)) {
			return nil
		}
	}
	return errors.New("matches no cell of the matrix (no such port on those pods?)")
}

// cells lists the task's cells without verdicts: every ordered pair of
// distinct pods times the destination's ports, plus every pod to the
// internet host's ports.
func cells(w *world.World, internet bool) []matrix.Cell {
	var out []matrix.Cell
	for _, src := range w.Pods {
		for _, dst := range w.Pods {
			if dst == src {
				continue
			}
			for _, p := range dst.Ports {
				out = append(out, matrix.Cell{From: src.Key(), To: dst.Key(), Port: p.Port, Protocol: string(p.Protocol)})
			}
		}
		if internet {
			for _, port := range InternetPorts {
				out = append(out, matrix.Cell{From: src.Key(), To: InternetIP, Port: port, Protocol: "TCP"})
			}
		}
	}
	m := &matrix.Matrix{Results: out}
	m.Sort()
	return m.Results
}

// buildExpected decides every cell from the solution (if asked) and the
// rules, last match wins.
func (t *Task) buildExpected() (*matrix.Matrix, error) {
	w := t.world
	all := cells(w, t.Lab.Internet)
	var base map[matrix.Key]matrix.Cell
	switch {
	case t.Expect.FromSolution:
		base = t.Predict(t.SolvedWorld()).Index()
	case t.Expect.Inherit:
		base = t.Lab.Tasks[t.Index-1].expected.Index()
	}
	var undecided []string
	for i := range all {
		c := &all[i]
		k := c.Key()
		decided := false
		if b, ok := base[k]; ok {
			c.Allowed, decided = b.Allowed, true
		}
		dst := w.Pod(c.To)
		for _, r := range t.Expect.Rules {
			if r.Matches(k, dst) {
				c.Allowed, decided = r.Allow, true
			}
		}
		if !decided {
			undecided = append(undecided, k.String())
		}
	}
	if len(undecided) > 0 {
		sort.Strings(undecided)
		more := ""
		if len(undecided) > 5 {
			more = fmt.Sprintf(" and %d more", len(undecided)-5)
			undecided = undecided[:5]
		}
		return nil, fmt.Errorf("no rule decides %s%s (start the rules with \"* -> * allow\" or \"* -> * deny\")", strings.Join(undecided, ", "), more)
	}
	return &matrix.Matrix{Results: all}, nil
}

// describe renders a list of policies as "ns/a, ns/b" (for messages).
func describe(pols []*networkingv1.NetworkPolicy) string {
	if len(pols) == 0 {
		return "no policies"
	}
	var b bytes.Buffer
	for i, np := range pols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(np.Namespace + "/" + np.Name)
	}
	return b.String()
}
