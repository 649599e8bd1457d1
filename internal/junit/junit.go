// Package junit writes JUnit XML, the test report format CI systems
// (GitHub Actions, GitLab, Jenkins) show per test case. netlab writes one
// test case per matrix cell, so a failed check reads like a failed test.
package junit

import (
	"encoding/xml"
	"fmt"
	"io"
)

// Suites is a report of several suites (e.g. one per task of a lab).
type Suites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []Suite  `xml:"testsuite"`
}

// Suite is one group of cases.
type Suite struct {
	XMLName  xml.Name `xml:"testsuite"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Cases    []Case   `xml:"testcase"`
}

// Case is one test case; Failure is nil when it passed.
type Case struct {
	Name    string   `xml:"name,attr"`
	Class   string   `xml:"classname,attr"`
	Failure *Failure `xml:"failure,omitempty"`
}

// Failure says why a case failed: a one-line message and details.
type Failure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// Add appends a case and keeps the counts right.
func (s *Suite) Add(c Case) {
	s.Cases = append(s.Cases, c)
	s.Tests++
	if c.Failure != nil {
		s.Failures++
	}
}

// Write writes v (a Suite or Suites) with the XML header.
func Write(w io.Writer, v any) error {
	if _, err := fmt.Fprint(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w)
	return err
}
