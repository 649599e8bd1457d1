package classroom

import (
	"sort"

	"github.com/netlab/netlab/internal/grade"
)

// Mistake is one wrong cell of a task and how many students got it wrong
// the same way.
type Mistake struct {
	Cell string `json:"cell"`
	// Status is grade.Leaked (over-permissive: allowed, should be
	// blocked), grade.Missing (blocked, should be allowed) or
	// grade.Unmeasured.
	Status   grade.Status `json:"status"`
	Expected string       `json:"expected"`
	Got      string       `json:"got"`
	// Why is the engine's explanation most of those students got (the
	// policies differ from student to student, so may the reason), and
	// Hint the matching hint.
	Why  string `json:"why"`
	Hint string `json:"hint"`
	// Students is how many students made this mistake; Names are they.
	Students int      `json:"students"`
	Names    []string `json:"names"`
}

// Mistakes are, for every task of the class (by index), its wrong cells
// over all graded students, the most common first (ties: by cell), at
// most limit per task (0: all).
func Mistakes(c *Class, limit int) [][]Mistake {
	out := make([][]Mistake, len(c.Tasks))
	for i := range c.Tasks {
		type key struct {
			cell   string
			status grade.Status
		}
		byKey := map[key]*Mistake{}
		whys := map[key]map[[2]string]int{}
		for _, s := range c.Students {
			if s.Report == nil || i >= len(s.Report.Results) {
				continue
			}
			r := s.Report.Results[i]
			for _, cell := range append(append(append([]grade.Cell(nil), r.Missing...), r.Leaked...), r.Unmeasured...) {
				k := key{cell.Cell, cell.Status}
				m := byKey[k]
				if m == nil {
					m = &Mistake{Cell: cell.Cell, Status: cell.Status, Expected: cell.Expected, Got: cell.Got}
					byKey[k] = m
					whys[k] = map[[2]string]int{}
				}
				m.Students++
				m.Names = append(m.Names, s.Name)
				whys[k][[2]string{cell.Why, cell.Hint}]++
			}
		}
		var ms []Mistake
		for k, m := range byKey {
			best, n := [2]string{}, -1
			for wh, count := range whys[k] {
				if count > n || count == n && (wh[0] < best[0] || wh[0] == best[0] && wh[1] < best[1]) {
					best, n = wh, count
				}
			}
			m.Why, m.Hint = best[0], best[1]
			sort.Strings(m.Names)
			ms = append(ms, *m)
		}
		sort.Slice(ms, func(a, b int) bool {
			if ms[a].Students != ms[b].Students {
				return ms[a].Students > ms[b].Students
			}
			if ms[a].Cell != ms[b].Cell {
				return ms[a].Cell < ms[b].Cell
			}
			return ms[a].Status < ms[b].Status
		})
		if limit > 0 && len(ms) > limit {
			ms = ms[:limit]
		}
		out[i] = ms
	}
	return out
}
