package classroom

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/netlab/netlab/labs"
	"sigs.k8s.io/yaml"
)

const templateDir = "../../assets/classroom"

type workflow struct {
	Name        string            `json:"name"`
	On          []string          `json:"on"`
	Permissions map[string]string `json:"permissions"`
	Jobs        map[string]struct {
		RunsOn  string `json:"runs-on"`
		Timeout int    `json:"timeout-minutes"`
		If      string `json:"if"`
		Steps   []step `json:"steps"`
	} `json:"jobs"`
}

type step struct {
	Name string            `json:"name"`
	ID   string            `json:"id"`
	If   string            `json:"if"`
	Uses string            `json:"uses"`
	Run  string            `json:"run"`
	Env  map[string]string `json:"env"`
	With map[string]any    `json:"with"`
}

// assignmentEnv reads .github/classroom/netlab.env: NAME=value lines.
func assignmentEnv(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(templateDir, ".github/classroom/netlab.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !regexp.MustCompile(`^NETLAB_[A-Z]+$`).MatchString(k) {
			t.Fatalf("netlab.env: %q is not NETLAB_NAME=value (the workflow only reads those)", line)
		}
		env[k] = v
	}
	return env
}

// TestTemplateWorkflow checks the assignment template's workflow has the
// shape Classroom and its reporter expect: the job Classroom's own
// template has, a grade step with an id whose result output the reporter
// gets as <ID>_RESULTS, and netlab installed at the pinned release.
func TestTemplateWorkflow(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(templateDir, ".github/workflows/classroom.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	if err := yaml.UnmarshalStrict(data, &w); err != nil {
		t.Fatalf("classroom.yml: %v", err)
	}
	if !strings.Contains(strings.Join(w.On, ","), "push") || !strings.Contains(strings.Join(w.On, ","), "repository_dispatch") {
		t.Errorf("on: %v, want push and repository_dispatch (Classroom's runs)", w.On)
	}
	if w.Permissions["checks"] != "write" || w.Permissions["actions"] != "read" || w.Permissions["contents"] != "read" {
		t.Errorf("permissions: %v", w.Permissions)
	}
	job, ok := w.Jobs["run-autograding-tests"]
	if !ok || len(w.Jobs) != 1 {
		t.Fatalf("jobs: want the one Classroom's template has, run-autograding-tests: %v", w.Jobs)
	}
	if job.If != "github.actor != 'github-classroom[bot]'" || job.RunsOn != "ubuntu-latest" {
		t.Errorf("job: if %q, runs-on %q", job.If, job.RunsOn)
	}
	find := func(pred func(step) bool) int {
		for i, s := range job.Steps {
			if pred(s) {
				return i
			}
		}
		return -1
	}
	env := find(func(s step) bool {
		return strings.Contains(s.Run, ".github/classroom/netlab.env") && strings.Contains(s.Run, "$GITHUB_ENV")
	})
	install := find(func(s step) bool {
		return strings.Contains(s.Run, `go install "github.com/netlab/netlab/cmd/netlab@${NETLAB_VERSION}"`)
	})
	gradeAt := find(func(s step) bool { return strings.Contains(s.Run, "netlab\" grade") })
	reporter := find(func(s step) bool { return s.Uses == "classroom-resources/autograding-grading-reporter@v1" })
	if env < 0 || install < 0 || gradeAt < 0 || reporter < 0 || !(env < install && install < gradeAt && gradeAt < reporter) {
		t.Fatalf("steps: read netlab.env %d, install %d, grade %d, reporter %d: want all, in that order", env, install, gradeAt, reporter)
	}
	g, r := job.Steps[gradeAt], job.Steps[reporter]
	for _, arg := range []string{`--lab "$NETLAB_LAB"`, "--submission submission", `--pass "$NETLAB_PASS"`, "-o classroom", `GITHUB_OUTPUT="$GITHUB_OUTPUT"`} {
		if !strings.Contains(g.Run, arg) {
			t.Errorf("grade step: no %s in %q", arg, g.Run)
		}
	}
	// The reporter's main.js: runners is a comma-separated list of step
	// ids (its error message wants [a-zA-Z0-9]+), each read from the env
	// var <ID upper-cased>_RESULTS.
	if !regexp.MustCompile(`^[a-zA-Z0-9]+$`).MatchString(g.ID) || r.With["runners"] != g.ID {
		t.Errorf("grade step id %q, reporter runners %q: want the same plain id", g.ID, r.With["runners"])
	}
	if want := "${{ steps." + g.ID + ".outputs." + Output + " }}"; len(r.Env) != 1 || r.Env[strings.ToUpper(g.ID)+"_RESULTS"] != want {
		t.Errorf("reporter env %v, want %s_RESULTS: %q", r.Env, strings.ToUpper(g.ID), want)
	}
	if r.If != "${{ !cancelled() }}" {
		t.Errorf("reporter if %q: it must run when the grade step fails below the pass mark", r.If)
	}

	a := assignmentEnv(t)
	if _, err := labs.Get(a["NETLAB_LAB"]); err != nil {
		t.Errorf("NETLAB_LAB: %v", err)
	}
	if p, err := strconv.ParseFloat(a["NETLAB_PASS"], 64); err != nil || p < 0 || p > 100 {
		t.Errorf("NETLAB_PASS=%q: want a percentage", a["NETLAB_PASS"])
	}
	if !regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(a["NETLAB_VERSION"]) {
		t.Errorf("NETLAB_VERSION=%q: want a pinned release tag vX.Y.Z", a["NETLAB_VERSION"])
	}
	if fi, err := os.Stat(filepath.Join(templateDir, SubmissionDir)); err != nil || !fi.IsDir() {
		t.Errorf("the template has no %s/ directory", SubmissionDir)
	}
	readme, err := os.ReadFile(filepath.Join(templateDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"netlab lab check", "NETLAB_LAB", "NETLAB_PASS", "NETLAB_VERSION", "go install github.com/netlab/netlab/cmd/netlab@", "--class"} {
		if !strings.Contains(string(readme), s) {
			t.Errorf("README.md does not mention %s", s)
		}
	}
}
