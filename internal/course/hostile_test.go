package course_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/course"
	"github.com/netlab/netlab/internal/testenv"
	"github.com/netlab/netlab/labs"
)

// Hostile submissions: a teacher grades students' directories as root,
// so nothing a submission holds may make grading read outside it, hang,
// exhaust memory or print what it likes.

func mustLab(t *testing.T, name string) *labs.Lab {
	t.Helper()
	l, err := labs.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// secret is a file outside every submission whose content must never
// appear in what grading says.
func secret(t *testing.T) (path, content string) {
	t.Helper()
	content = "root:$6$SECRETHASH:19000:0:99999:7:::"
	path = filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(path, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, "SECRETHASH"
}

// TestSubmissionSymlinksOutside: a task directory, a manifest or
// remove.txt that is a symlink leading outside the submission is refused
// with an error naming the path, and nothing of the target is quoted.
// Before os.Root, the task directory was graded from where it pointed and
// remove.txt's first line was echoed.
func TestSubmissionSymlinksOutside(t *testing.T) {
	lab := mustLab(t, "default-deny")
	shadow, leak := secret(t)
	outside := writeTree(t, map[string]string{"p.yaml": lab.Tasks[0].SolutionYAML})
	cases := []struct {
		name string
		make func(dir string)
		task int    // the task whose answer must be refused
		path string // named in the error
	}{
		{"task directory -> a directory outside", func(dir string) {
			symlink(t, outside, filepath.Join(dir, "deny-ingress"))
		}, 0, "deny-ingress"},
		{"task directory by number -> .. ", func(dir string) {
			symlink(t, "..", filepath.Join(dir, "1"))
		}, 0, "1"},
		{"manifest -> a file outside", func(dir string) {
			os.Mkdir(filepath.Join(dir, "deny-ingress"), 0o755)
			symlink(t, filepath.Join(outside, "p.yaml"), filepath.Join(dir, "deny-ingress", "p.yaml"))
		}, 0, filepath.Join("deny-ingress", "p.yaml")},
		{"remove.txt -> a shadow file", func(dir string) {
			os.Mkdir(filepath.Join(dir, "deny-all"), 0o755)
			symlink(t, shadow, filepath.Join(dir, "deny-all", "remove.txt"))
		}, 1, filepath.Join("deny-all", "remove.txt")},
		{"remove.txt -> /etc/shadow", func(dir string) {
			os.Mkdir(filepath.Join(dir, "deny-all"), 0o755)
			symlink(t, "/etc/shadow", filepath.Join(dir, "deny-all", "remove.txt"))
		}, 1, filepath.Join("deny-all", "remove.txt")},
		{"remove.txt -> relative, out through ..", func(dir string) {
			os.Mkdir(filepath.Join(dir, "deny-all"), 0o755)
			rel, err := filepath.Rel(filepath.Join(dir, "deny-all"), shadow)
			if err != nil {
				t.Fatal(err)
			}
			symlink(t, rel, filepath.Join(dir, "deny-all", "remove.txt"))
		}, 1, filepath.Join("deny-all", "remove.txt")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.make(dir)
			answers, err := course.ReadSubmission(dir, lab)
			if err != nil {
				t.Fatal(err)
			}
			e := answers[tc.task].Err
			if e == nil {
				t.Fatalf("task %s: accepted from %s", answers[tc.task].Task.Name, answers[tc.task].Dir)
			}
			if msg := e.Error(); !strings.Contains(msg, filepath.Join(dir, tc.path)) || !strings.Contains(msg, "outside the submission") {
				t.Errorf("error %q does not name %s as leading outside the submission", msg, filepath.Join(dir, tc.path))
			}
			if strings.Contains(e.Error(), leak) || strings.Contains(e.Error(), "root:") {
				t.Errorf("error leaks the target: %q", e)
			}
		})
	}
}

// TestSubmissionSymlinksInside: links that stay inside the submission
// are followed like the files they name.
func TestSubmissionSymlinksInside(t *testing.T) {
	lab := mustLab(t, "default-deny")
	dir := writeTree(t, map[string]string{
		"shared/ingress.yaml": lab.Tasks[0].SolutionYAML,
		"shared/all.yaml":     lab.Tasks[1].SolutionYAML,
	})
	symlink(t, "shared", filepath.Join(dir, "1"))
	os.Mkdir(filepath.Join(dir, "deny-all"), 0o755)
	symlink(t, "../shared/all.yaml", filepath.Join(dir, "deny-all", "p.yaml"))
	answers, err := course.ReadSubmission(dir, lab)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range answers {
		if a.Err != nil || len(a.Policies) == 0 {
			t.Errorf("task %s: %d policies, error %v", a.Task.Name, len(a.Policies), a.Err)
		}
	}
}

// TestSubmissionLimits: each file, the whole submission and the number of
// files are capped; exceeding a cap fails that task with an error naming
// the file and the flag that raises the cap. Before the caps, any size
// was read whole (500 MB of comments took 3-4 GB).
func TestSubmissionLimits(t *testing.T) {
	lab := mustLab(t, "default-deny")
	pad := func(n int) string { return "# " + strings.Repeat("x", n-3) + "\n" }
	t.Run("default per-file cap", func(t *testing.T) {
		dir := writeTree(t, map[string]string{"deny-ingress/p.yaml": lab.Tasks[0].SolutionYAML + pad(1<<20)})
		answers, _ := course.ReadSubmission(dir, lab)
		if e := answers[0].Err; e == nil || !strings.Contains(e.Error(), "--max-file-size") || !strings.Contains(e.Error(), "p.yaml") {
			t.Errorf("a file over 1Mi: %v", e)
		}
	})
	small := course.Limits{MaxFileSize: 2 << 10, MaxSubmissionSize: 3 << 10, MaxFiles: 4}
	t.Run("per-submission cap", func(t *testing.T) {
		dir := writeTree(t, map[string]string{
			"deny-ingress/p.yaml": lab.Tasks[0].SolutionYAML + pad(1800),
			"deny-all/p.yaml":     lab.Tasks[1].SolutionYAML + pad(1800),
		})
		answers, _ := course.ReadSubmissionLimits(dir, lab, small)
		if answers[0].Err != nil {
			t.Errorf("first task within the caps: %v", answers[0].Err)
		}
		if e := answers[1].Err; e == nil || !strings.Contains(e.Error(), "--max-submission-size") || !strings.Contains(e.Error(), filepath.Join("deny-all", "p.yaml")) {
			t.Errorf("second task over the submission cap: %v", e)
		}
	})
	t.Run("file count", func(t *testing.T) {
		files := map[string]string{}
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			files["deny-ingress/"+n+".yaml"] = "# empty\n"
		}
		answers, _ := course.ReadSubmissionLimits(writeTree(t, files), lab, small)
		if e := answers[0].Err; e == nil || !strings.Contains(e.Error(), "--max-files") {
			t.Errorf("5 files with --max-files 4: %v", e)
		}
	})
	t.Run("directory entries", func(t *testing.T) {
		files := map[string]string{}
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			files["deny-ingress/"+n+".txt"] = ""
		}
		answers, _ := course.ReadSubmissionLimits(writeTree(t, files), lab, small)
		if e := answers[0].Err; e == nil || !strings.Contains(e.Error(), "more than 4 entries") {
			t.Errorf("a directory of 5 entries with --max-files 4: %v", e)
		}
	})
}

// TestSubmissionErrorsAreExcerpts: what a submission's files say reaches
// error messages only as a short excerpt without control or bidi
// characters. Before, a remove.txt line was quoted whole, and an ignored
// kind, a policy's name or a field's value (YAML's "\e" and "\u202e"
// escapes) reached the terminal raw.
func TestSubmissionErrorsAreExcerpts(t *testing.T) {
	lab := mustLab(t, "default-deny")
	long := strings.Repeat("A", 10000)
	policy := "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	cases := map[string]string{
		"long remove.txt line": "deny-ingress/remove.txt:" + "\x1b[2J\u202eevil/" + long + "\n",
		"kind":                 "p.yaml:" + `kind: "Net\e[2J\u202eworkPolicy` + long + `"` + "\napiVersion: v1\n",
		"name":                 "p.yaml:" + policy + `metadata: {name: "x\e[31m\u202e", namespace: netpol-lab}` + "\nspec: {podSelector: {}}\n",
		"field value":          "p.yaml:" + policy + "metadata: {name: x, namespace: netpol-lab}\n" + `spec: {podSelector: {}, policyTypes: ["In\e[2J\u202e"]}` + "\n",
	}
	for name, file := range cases {
		t.Run(name, func(t *testing.T) {
			path, content, _ := strings.Cut(file, ":")
			answers, _ := course.ReadSubmission(writeTree(t, map[string]string{path: content}), lab)
			a := answers[0]
			if a.Err == nil {
				t.Fatalf("task %s: accepted", a.Task.Name)
			}
			msg := a.Err.Error()
			if strings.ContainsAny(msg, "\x1b\u202e") || len(msg) > 4000 {
				t.Errorf("task %s: unsafe or unbounded error (%d bytes): %.300q", a.Task.Name, len(msg), msg)
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain: text\n\tindented", "plain: text\n\tindented"},
		{"esc \x1b[31mred\x1b[0m", `esc \x1b[31mred\x1b[0m`},
		{"cr\rbell\a del\x7f", `cr\x0dbell\x07 del\x7f`},
		{"bidi \u202eevil\u202c \u2066x\u2069 zw\u200b", `bidi \u202eevil\u202c \u2066x\u2069 zw\u200b`},
		{"c1 \u0085 ls \u2028", `c1 \u0085 ls \u2028`},
		{"bad utf8 \xff\xfe", `bad utf8 \xff\xfe`},
		{"ünïcödé ✓", "ünïcödé ✓"},
		{strings.Repeat("é", 500), strings.Repeat("é", 400) + "… (200 more bytes)"},
		{strings.Repeat("l\n", 30), strings.Repeat("l\n", 19) + "l\n… 11 more lines"},
	}
	for _, tc := range cases {
		if got := course.Excerpt(tc.in); got != tc.want {
			t.Errorf("Excerpt(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// TestRemoveListedTwice: a policy listed twice in remove.txt is removed
// once, with a note (before, the second deletion failed with "not found"
// and the task scored 0).
func TestRemoveListedTwice(t *testing.T) {
	lab := mustLab(t, "rollback")
	dir := writeTree(t, map[string]string{
		"restore/p.yaml":     lab.Tasks[0].SolutionYAML,
		"restore/remove.txt": "shop/freeze\n# again:\nshop/freeze\n",
	})
	answers, err := course.ReadSubmission(dir, lab)
	if err != nil {
		t.Fatal(err)
	}
	a := answers[0]
	if a.Err != nil || strings.Join(a.Remove, ",") != "shop/freeze" {
		t.Fatalf("remove %v, error %v", a.Remove, a.Err)
	}
	if len(a.Notes) != 1 || !strings.Contains(a.Notes[0], "remove.txt:3") || !strings.Contains(a.Notes[0], "line 1") {
		t.Errorf("notes %q: want one saying line 3 repeats line 1", a.Notes)
	}
}

// TestGradeRemoveListedTwice grades it for real: the task passes (before,
// it scored 0: networkpolicy "shop/freeze" not found).
func TestGradeRemoveListedTwice(t *testing.T) {
	testenv.RequireRoot(t)
	lab := mustLab(t, "rollback")
	dir := writeTree(t, map[string]string{
		"restore/p.yaml":     lab.Tasks[0].SolutionYAML,
		"restore/remove.txt": "shop/freeze\nshop/freeze\n",
	})
	answers, err := course.ReadSubmission(dir, lab)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("t%d-rm2", os.Getpid()%10000)
	rep, errs, err := course.Grade(context.Background(), lab, answers, course.GradeOptions{Instance: name, Self: self, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed != len(lab.Tasks) || len(errs) > 0 {
		t.Errorf("%d of %d tasks passed, errors %v", rep.Passed, len(lab.Tasks), errs)
	}
}

// TestPolicyInUnknownNamespace: the API server refuses a policy in a
// namespace that does not exist; so does reading a submission, naming the
// file (before, it was applied silently, creating the namespace).
func TestPolicyInUnknownNamespace(t *testing.T) {
	lab := mustLab(t, "default-deny")
	dir := writeTree(t, map[string]string{"deny-ingress/p.yaml": lab.Tasks[0].SolutionYAML + `
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: x, namespace: evil}
spec: {podSelector: {}}`})
	answers, _ := course.ReadSubmission(dir, lab)
	e := answers[0].Err
	if e == nil || !strings.Contains(e.Error(), `namespaces "evil" not found`) || !strings.Contains(e.Error(), "p.yaml") {
		t.Errorf("got %v", e)
	}
}
