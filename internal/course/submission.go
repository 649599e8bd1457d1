package course

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/backend"
	"github.com/netlab/netlab/internal/grade"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/labs"
	networkingv1 "k8s.io/api/networking/v1"
)

// RemoveFile lists, one "namespace/name" per line, starting policies a
// submission deletes (e.g. the bad policy of a rollback drill).
const RemoveFile = "remove.txt"

// Answer is what a submission says for one task: policies created or
// replaced (by namespace/name) on top of the task's starting policies, and
// starting policies removed — the same shape as a lab's reference solution.
type Answer struct {
	Task     *labs.Task
	Dir      string // where it was read from
	Policies []*networkingv1.NetworkPolicy
	Remove   []string
	// Err is why the answer could not be read; the task then scores 0.
	Err error
}

// ReadSubmission reads a submission directory for lab l. Each task's
// answer is the directory DIR/<task name>/ (or DIR/<task number>/) when it
// exists, else the files directly in DIR. Only NetworkPolicy objects are
// accepted: expectations come from netlab itself, never from a
// submission, so any other object is an error that names its file.
func ReadSubmission(dir string, l *labs.Lab) ([]Answer, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("submission: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("submission %s: not a directory", dir)
	}
	var out []Answer
	for _, t := range l.Tasks {
		a := Answer{Task: t, Dir: dir}
		for _, d := range []string{t.Name, fmt.Sprint(t.Index + 1)} {
			p := filepath.Join(dir, d)
			if fi, err := os.Stat(p); err == nil && fi.IsDir() {
				a.Dir = p
				break
			}
		}
		a.Policies, a.Remove, a.Err = readAnswer(a.Dir, t)
		out = append(out, a)
	}
	return out, nil
}

// readAnswer reads the manifests directly in dir (not its subdirectories,
// which are other tasks' answers) and its remove list.
func readAnswer(dir string, t *labs.Task) ([]*networkingv1.NetworkPolicy, []string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
			if e.Type().IsRegular() {
				files = append(files, filepath.Join(dir, e.Name()))
			} else if !e.IsDir() {
				return nil, nil, fmt.Errorf("%s: not a regular file", filepath.Join(dir, e.Name()))
			}
		}
	}
	var pols []*networkingv1.NetworkPolicy
	if len(files) > 0 {
		var notes strings.Builder
		objs, err := world.Read(files, &notes)
		if err != nil {
			return nil, nil, err
		}
		var bad []string
		for _, n := range strings.Split(strings.TrimSpace(notes.String()), "\n") {
			if n != "" {
				bad = append(bad, strings.TrimPrefix(n, "note: "))
			}
		}
		for _, o := range objs.Namespaces {
			bad = append(bad, fmt.Sprintf("%s: Namespace %s", o.Source, o.Obj.Name))
		}
		for _, o := range objs.Pods {
			bad = append(bad, fmt.Sprintf("%s: Pod %s/%s", o.Source, o.Obj.Namespace, o.Obj.Name))
		}
		for _, o := range objs.Services {
			bad = append(bad, fmt.Sprintf("%s: Service %s/%s", o.Source, o.Obj.Namespace, o.Obj.Name))
		}
		if len(bad) > 0 {
			return nil, nil, fmt.Errorf("a submission may only contain NetworkPolicies; the lab's pods, namespaces and services are fixed:\n  %s", strings.Join(bad, "\n  "))
		}
		pols = objs.PolicyList()
		// The same checks the lab applies when it starts (references to
		// namespaces, duplicate names) — before anything is applied.
		if _, err := world.Build(objs, nil); err != nil {
			return nil, nil, err
		}
	}
	remove, err := readRemove(filepath.Join(dir, RemoveFile), t)
	return pols, remove, err
}

func readRemove(path string, t *labs.Task) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	starting := map[string]bool{}
	for _, np := range t.Start {
		starting[np.Namespace+"/"+np.Name] = true
	}
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !starting[line] {
			return nil, fmt.Errorf("%s:%d: %q is not a starting policy of task %s (want namespace/name)", path, n, line, t.ID())
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

// GradeOptions shape a classroom grading run.
type GradeOptions struct {
	// Backend is backend.Sandbox (default) or backend.Kind.
	Backend string
	// Instance is the lab name (default: one unique to this run).
	Instance string
	Self     string
	Timeout  time.Duration
	Progress io.Writer
}

// Grade brings lab l up fresh, and for every task enters its starting
// state, applies the submission's answer on top, probes and grades. An
// answer that cannot be read or applied scores 0 for its task, with the
// error in the result; grading goes on with the next task. The lab is
// torn down at the end.
func Grade(ctx context.Context, l *labs.Lab, answers []Answer, o GradeOptions) (rep *grade.Report, errs map[string]error, err error) {
	rep = &grade.Report{}
	errs = map[string]error{}
	readable := 0
	for _, a := range answers {
		if a.Err == nil {
			readable++
		}
	}
	if readable == 0 {
		// Nothing to apply: no need for a lab to say every task scores 0.
		for _, a := range answers {
			errs[a.Task.Name] = a.Err
			rep.Add(invalid(a.Task, a.Err))
		}
		return rep, errs, nil
	}
	name := o.Instance
	if name == "" {
		name = fmt.Sprintf("grade-%d", os.Getpid()%1000000)
	}
	rt, err := backend.New(o.Backend, name, o.Self)
	if err != nil {
		return nil, nil, err
	}
	if l.Internet && rt.Backend() != backend.Sandbox {
		return nil, nil, fmt.Errorf("lab %s needs the internet host, which only the sandbox backend has", l.Name)
	}
	if err := UpLab(ctx, rt, l, o.Progress); err != nil {
		return nil, nil, fmt.Errorf("starting lab %s: %w", l.Name, err)
	}
	defer func() {
		if derr := rt.Down(context.WithoutCancel(ctx), nil); derr != nil && err == nil {
			err = fmt.Errorf("tearing down %s: %w", name, derr)
		}
	}()
	for _, a := range answers {
		t := a.Task
		res, aerr := gradeAnswer(ctx, rt, a, o.Timeout)
		if aerr != nil {
			errs[t.Name] = aerr
			res = invalid(t, aerr)
		}
		rep.Add(res)
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "  %-28s %5s/%d\n", t.Name, grade.FormatPoints(res.Points), res.MaxPoints)
		}
	}
	return rep, errs, nil
}

func gradeAnswer(ctx context.Context, rt backend.Lab, a Answer, timeout time.Duration) (*grade.Result, error) {
	if a.Err != nil {
		return nil, a.Err
	}
	t := a.Task
	if err := enterTask(ctx, rt, t, true); err != nil {
		return nil, err
	}
	if len(a.Remove) > 0 {
		if err := rt.Delete(ctx, a.Remove); err != nil {
			return nil, err
		}
	}
	if len(a.Policies) > 0 {
		if _, err := rt.Apply(ctx, a.Policies); err != nil {
			return nil, fmt.Errorf("applying %s: %w", a.Dir, err)
		}
	}
	res, _, err := CheckTask(ctx, rt, t, timeout, grade.Options{})
	return res, err
}

// invalid is the result of a task whose answer could not be used.
func invalid(t *labs.Task, err error) *grade.Result {
	return &grade.Result{Lab: t.Lab.Name, Task: t.Name, Title: t.Title, Index: t.Index, Tasks: len(t.Lab.Tasks),
		Source: grade.SourceProbe, Verdict: grade.Invalid, MaxPoints: t.Points,
		Missing: []grade.Cell{}, Leaked: []grade.Cell{}, Hints: len(t.Hints), Error: err.Error()}
}
