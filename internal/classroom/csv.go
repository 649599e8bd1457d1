package classroom

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"

	"github.com/netlab/netlab/internal/grade"
)

// CSVHeader is the CSV report's first row.
var CSVHeader = []string{"student", "task", "points", "max_points", "passed", "error"}

// WriteCSV writes one row per student and task: the student, the task,
// its points, its maximum, whether it passed, and the error when the
// task's answer could not be used or the submission could not be graded
// (then every task of that student has 0 points and the same error).
func WriteCSV(w io.Writer, c *Class) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, s := range c.Students {
		for i, t := range c.Tasks {
			row := []string{s.Name, t.Name, "0", strconv.Itoa(t.MaxPoints), "false", s.Error}
			if s.Report != nil && i < len(s.Report.Results) {
				r := s.Report.Results[i]
				row[2], row[4], row[5] = grade.FormatPoints(r.Points), strconv.FormatBool(r.Passed), r.Error
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the class as indented JSON: the lab, its tasks, and
// every student's full report.
func WriteJSON(w io.Writer, c *Class) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}
