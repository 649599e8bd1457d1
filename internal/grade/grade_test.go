package grade

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/junit"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/labs"
)

// submit builds the world a learner would have: the task's world with the
// given policy manifests applied.
func submit(t *testing.T, task *labs.Task, manifests string) *world.World {
	t.Helper()
	w := task.World()
	if manifests != "" {
		objs, err := world.Parse("submission.yaml", []byte(manifests), nil)
		if err != nil {
			t.Fatal(err)
		}
		w.Policies = append(w.Policies, objs.PolicyList()...)
	}
	return w
}

func dbTask(t *testing.T) *labs.Task {
	l, err := labs.Get("db-isolation")
	if err != nil {
		t.Fatal(err)
	}
	return l.Tasks[0]
}

func TestOverPermissive(t *testing.T) {
	task := dbTask(t)
	// Admits the whole backend tier: api and worker.
	w := submit(t, task, `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - podSelector: {matchLabels: {tier: backend}}
    ports:
    - port: 5432
`)
	r := Offline(task, w, Options{})
	if r.Verdict != OverPermissive || r.Passed {
		t.Fatalf("verdict %s, want over-permissive", r.Verdict)
	}
	if len(r.Missing) != 0 || len(r.Leaked) != 1 || r.Leaked[0].Cell != "shop/worker -> shop/db:5432/TCP" {
		t.Fatalf("missing %v leaked %v", r.Missing, r.Leaked)
	}
	c := r.Leaked[0]
	if c.Status != Leaked || c.Expected != "blocked" || c.Got != "allowed" ||
		!strings.Contains(c.Why, "shop/db admits it via ingress rule 0") ||
		!strings.Contains(c.Hint, "narrow policy shop/db ingress rule 0 (peer 0, port 0)") ||
		!strings.Contains(c.Hint, "it must still admit what the task needs: shop/api on 5432/TCP") {
		t.Errorf("leaked cell = %+v", c)
	}
	// The cells that count: those the task changes from the open start
	// (every cell into shop/db except api->db:5432); one of them is wrong.
	changed := 0
	for _, e := range task.Expected().Results {
		if !e.Allowed {
			changed++
		}
	}
	want := float64(int(10*float64(changed-1)/float64(changed)*10+0.5)) / 10
	if r.Points != want || r.MaxPoints != 10 {
		t.Errorf("points %v/%d, want %v/10 (%d cells count)", r.Points, r.MaxPoints, want, changed)
	}
	if r.Hint != task.Hints[0] || r.HintNumber != 1 {
		t.Errorf("hint %d %q", r.HintNumber, r.Hint)
	}
	if r2 := Offline(task, w, Options{HintsShown: 99}); r2.HintNumber != len(task.Hints) {
		t.Errorf("after every hint, hint number %d, want the last (%d)", r2.HintNumber, len(task.Hints))
	}
}

func TestTooStrictAndStart(t *testing.T) {
	task := dbTask(t)
	// Forgot the port's protocol? No: forgot the API entirely.
	w := submit(t, task, `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
`)
	r := Offline(task, w, Options{})
	if r.Verdict != TooStrict || len(r.Missing) != 1 || r.Missing[0].Cell != "shop/api -> shop/db:5432/TCP" {
		t.Fatalf("verdict %s missing %v", r.Verdict, r.Missing)
	}
	if h := r.Missing[0].Hint; !strings.Contains(h, "an ingress rule in a policy selecting shop/db that allows shop/api on 5432/TCP") {
		t.Errorf("hint %q", h)
	}
	// The untouched start scores 0 and fails.
	start := Offline(task, task.StartWorld(), Options{})
	if start.Passed || start.Points != 0 || start.Verdict != OverPermissive {
		t.Errorf("start: verdict %s points %v", start.Verdict, start.Points)
	}
	// The reference solution passes with full points and the explanation.
	ref := Offline(task, task.SolvedWorld(), Options{})
	if !ref.Passed || ref.Points != 10 || ref.Explanation == "" || ref.Hint != "" {
		t.Errorf("reference: %+v", ref)
	}
}

// TestMeasuredDisagrees: a probe result that contradicts the policies is
// flagged as a dataplane problem, not blamed on the learner's policy.
func TestMeasuredDisagrees(t *testing.T) {
	task := dbTask(t)
	solved := task.SolvedWorld()
	m := task.Predict(solved)
	for i := range m.Results {
		if m.Results[i].From == "shop/web" && m.Results[i].To == "shop/db" && m.Results[i].Port == 5432 {
			m.Results[i].Allowed = true
		}
	}
	m.Results = m.Results[1:] // and one cell never measured
	r := Task(task, solved, m, Options{})
	if r.Verdict != OverPermissive || len(r.Leaked) != 1 || len(r.Unmeasured) != 1 {
		t.Fatalf("verdict %s leaked %v unmeasured %v", r.Verdict, r.Leaked, r.Unmeasured)
	}
	if !strings.Contains(r.Leaked[0].Why, "but the dataplane measured allowed") {
		t.Errorf("why %q", r.Leaked[0].Why)
	}
}

func TestEnforcerNone(t *testing.T) {
	l, err := labs.Get("enforcer")
	if err != nil {
		t.Fatal(err)
	}
	task := l.Tasks[1]
	// Offline with the policies present: no enforcer, so all open: passes.
	if r := Offline(task, task.StartWorld(), Options{}); !r.Passed {
		t.Errorf("observe task without enforcer: %s", r.Verdict)
	}
	// A measurement that blocked the backend contradicts "no enforcer".
	m := l.Tasks[0].Predict(task.StartWorld())
	r := Task(task, task.StartWorld(), m, Options{})
	if r.Passed || len(r.Missing) != 3 || !strings.Contains(r.Missing[0].Why, "no enforcer") {
		t.Errorf("verdict %s missing %v", r.Verdict, r.Missing)
	}
}

func TestRenderers(t *testing.T) {
	task := dbTask(t)
	r := Offline(task, task.StartWorld(), Options{})
	var text bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Task 1/1 db-isolation/only-api", "✗ over-permissive", "— 0/10 points",
		"Extra flows that are allowed (over-permissive):", "13 cells allowed at ingress of shop/db, expected blocked:",
		"Hint 1/3: "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, text.String())
		}
	}
	var rep Report
	rep.Add(r)
	rep.Add(Offline(task, task.SolvedWorld(), Options{}))
	if rep.Points != 10 || rep.MaxPoints != 20 || rep.Passed != 1 {
		t.Errorf("report totals %v/%d passed %d", rep.Points, rep.MaxPoints, rep.Passed)
	}
	var x bytes.Buffer
	if err := WriteJUnit(&x, "netlab", rep.Results...); err != nil {
		t.Fatal(err)
	}
	var suites junit.Suites
	if err := xml.Unmarshal(x.Bytes(), &suites); err != nil {
		t.Fatal(err)
	}
	if suites.Failures != len(r.Leaked) || suites.Tests != len(r.Leaked)+2 || len(suites.Suites) != 2 {
		t.Errorf("junit: %d tests %d failures %d suites", suites.Tests, suites.Failures, len(suites.Suites))
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, r); err != nil || !strings.Contains(js.String(), `"verdict": "over-permissive"`) {
		t.Errorf("json: %v %s", err, js.String())
	}
}
