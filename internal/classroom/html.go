package classroom

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/netlab/netlab/internal/grade"
)

//go:embed report.html.tmpl
var reportTemplate string

// MistakesPerTask is how many of a task's most common mistakes the HTML
// report lists.
const MistakesPerTask = 10

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"points":   grade.FormatPoints,
	"headline": grade.Headline,
	"id":       anchor,
	"heat":     heat,
	"cells": func(r *grade.Result) []grade.Cell {
		return append(append(append([]grade.Cell(nil), r.Missing...), r.Leaked...), r.Unmeasured...)
	},
	"kind": func(s grade.Status) string {
		switch s {
		case grade.Leaked:
			return "over-permissive"
		case grade.Missing:
			return "missing"
		}
		return string(s)
	},
	"join": strings.Join,
}).Parse(reportTemplate))

type reportData struct {
	*Class
	Mistakes [][]Mistake
	Average  string
}

// WriteHTML writes the class report: one self-contained page (inline
// style, no script, nothing fetched) with a heatmap of students × tasks,
// each task's most common mistakes (over-permissive or missing flows,
// with the engine's explanation and how many students made them), and a
// section per student, shown when the student is clicked, with their
// wrong cells.
func WriteHTML(w io.Writer, c *Class) error {
	d := reportData{Class: c, Mistakes: Mistakes(c, MistakesPerTask)}
	sum, n := 0.0, 0
	for _, s := range c.Students {
		if s.Error == "" {
			sum += s.Points()
			n++
		}
	}
	if n > 0 {
		d.Average = grade.FormatPoints(math.Round(sum/float64(n)*10) / 10)
	}
	return reportTmpl.Execute(w, d)
}

// anchor makes a student's name an element id (names are directory
// names: anything but '/').
func anchor(name string) string {
	var b strings.Builder
	b.WriteString("s-")
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, ".%x", r)
		}
	}
	return b.String()
}

// heat is a heatmap cell's background: red (0) through yellow to green
// (full points).
func heat(r *grade.Result) template.CSS {
	f := 0.0
	if r.MaxPoints > 0 {
		f = r.Points / float64(r.MaxPoints)
	}
	return template.CSS(fmt.Sprintf("background: hsl(%d, 70%%, 55%%)", int(f*120+0.5)))
}
