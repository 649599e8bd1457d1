package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/labs"
)

// TestRefusedCells: a cell refused because nothing listens (a dead
// agent) is not a policy's drop: the table marks it R and says what to do,
// verify and grading count it as not measured instead of "blocked" (before
// it was a ✗ and passed for a blocked expectation).
func TestRefusedCells(t *testing.T) {
	l, err := labs.Get("default-deny")
	if err != nil {
		t.Fatal(err)
	}
	task := l.Tasks[0]
	w := task.SolvedWorld()
	m := task.Predict(w)
	for i, c := range m.Results {
		if c.To == "netpol-lab/backend" && !c.Allowed {
			m.Results[i].Detail = matrix.DetailRefused
		}
	}
	var b bytes.Buffer
	if err := m.WriteTable(&b, matrix.TableOptions{}); err != nil {
		t.Fatal(err)
	}
	writeRefused(&b, m, "course")
	out := b.String()
	for _, want := range []string{"3 refused", "R refused: nothing listens",
		"R: refused, not blocked by a policy: nothing listens on netpol-lab/backend", "netlab status --name course"} {
		if !strings.Contains(out, want) {
			t.Errorf("probe output lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "netpol-lab/client") && !strings.Contains(l, " R ") {
			t.Errorf("client's row has no R for the backend: %q", l)
		}
	}

	rep := compare("course", w, m)
	refused := 0
	for _, f := range rep.Findings {
		if f.Measured == "refused" {
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("verify: %d refused findings, want 3: %+v", refused, rep.Findings)
	}

	r := grade.Task(task, w, m, grade.Options{})
	if r.Passed || len(r.Unmeasured) != 3 || !strings.Contains(r.Unmeasured[0].Why, "nothing listens") {
		t.Errorf("grade: passed %v, unmeasured %+v; want the 3 refused cells not measured", r.Passed, r.Unmeasured)
	}
}
