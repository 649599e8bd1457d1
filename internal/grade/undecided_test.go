package grade

import "testing"

// A cell without a verdict (a pod without an address met an ipBlock) is
// neither a pass nor a fail: before, its Allowed=false silently matched
// every expected "blocked" and the task passed.
func TestUndecidedCellIsNeverAPass(t *testing.T) {
	task := dbTask(t)
	solved := task.SolvedWorld()
	m := task.Predict(solved)
	marked := ""
	for i, c := range m.Results {
		if !c.Allowed {
			m.Results[i].Detail, m.Results[i].Reason = "undecided", "x has no address (no status.podIP)"
			marked = c.Key().String()
			break
		}
	}
	if marked == "" {
		t.Fatal("test bug: the solved task blocks nothing")
	}
	r := Task(task, solved, m, Options{Source: SourceEngine})
	if r.Passed || r.Verdict != Incomplete || len(r.Unmeasured) != 1 || r.Unmeasured[0].Cell != marked {
		t.Fatalf("verdict %s passed %v unmeasured %+v; want incomplete with %s unmeasured", r.Verdict, r.Passed, r.Unmeasured, marked)
	}
	if u := r.Unmeasured[0]; u.Got != "not decidable" || u.Why == "" {
		t.Errorf("unmeasured cell %+v, want got \"not decidable\" and the reason", u)
	}
}
