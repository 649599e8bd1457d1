package course

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
	// Notes are remarks on an answer that was read (a policy listed twice
	// in remove.txt), already made safe to print.
	Notes []string
	// Err is why the answer could not be read; the task then scores 0. Its
	// message is safe to print (see Excerpt).
	Err error
}

// ReadSubmission is ReadSubmissionLimits with DefaultLimits.
func ReadSubmission(dir string, l *labs.Lab) ([]Answer, error) {
	return ReadSubmissionLimits(dir, l, DefaultLimits)
}

// ReadSubmissionLimits reads a submission directory for lab l. Each task's
// answer is the directory DIR/<task name>/ (or DIR/<task number>/) when it
// exists, else the files directly in DIR. Only NetworkPolicy objects are
// accepted: expectations come from netlab itself, never from a
// submission, so any other object is an error that names its file.
//
// A submission is hostile input: nothing outside DIR is read (a symlink
// leading out of it is refused), only regular files are opened (never
// blocking on a FIFO), within lim, and error messages quote only a short,
// sanitised excerpt of the submission's own files.
func ReadSubmissionLimits(dir string, l *labs.Lab, lim Limits) ([]Answer, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("submission: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("submission %s: not a directory", dir)
	}
	sub, err := openSubmission(dir, lim)
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	var out []Answer
	for _, t := range l.Tasks {
		a := Answer{Task: t, Dir: dir}
		rel := "."
		for _, d := range []string{t.Name, fmt.Sprint(t.Index + 1)} {
			ok, err := sub.isDir(d)
			if err != nil {
				a.Err = err
				break
			}
			if ok {
				a.Dir, rel = sub.display(d), d
				break
			}
		}
		if a.Err == nil {
			a.Policies, a.Remove, a.Notes, a.Err = readAnswer(sub, rel, t)
		}
		a.Err = safeError(a.Err)
		out = append(out, a)
	}
	return out, nil
}

// readAnswer reads the manifests directly in rel (not its subdirectories,
// which are other tasks' answers) and its remove list.
func readAnswer(sub *submissionFS, rel string, t *labs.Task) ([]*networkingv1.NetworkPolicy, []string, []string, error) {
	entries, err := sub.list(rel)
	if err != nil {
		return nil, nil, nil, err
	}
	objs := &world.Objects{}
	var notes strings.Builder
	var errs world.Errors
	for _, e := range entries {
		switch strings.ToLower(path.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
			if e.IsDir() {
				continue
			}
			p := join(rel, e.Name())
			data, err := sub.read(p)
			if err != nil {
				return nil, nil, nil, err
			}
			o, err := world.Parse(sub.display(p), data, &notes)
			var es world.Errors
			switch {
			case errors.As(err, &es):
				errs = append(errs, es...)
			case err != nil:
				return nil, nil, nil, err
			default:
				objs.Merge(o)
			}
		}
	}
	if len(errs) > 0 {
		return nil, nil, nil, errs
	}
	var pols []*networkingv1.NetworkPolicy
	if len(objs.Namespaces)+len(objs.Pods)+len(objs.Services)+len(objs.Policies) > 0 || notes.Len() > 0 {
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
			return nil, nil, nil, fmt.Errorf("a submission may only contain NetworkPolicies; the lab's pods, namespaces and services are fixed:\n  %s", strings.Join(bad, "\n  "))
		}
		// A namespace the lab does not have is refused as the API
		// server refuses it, naming the file.
		have := t.StartWorld()
		for _, o := range objs.Policies {
			if have.Namespace(o.Obj.Namespace) == nil {
				return nil, nil, nil, fmt.Errorf("%s: networkpolicy %s/%s: namespaces %q not found", o.Source, o.Obj.Namespace, o.Obj.Name, o.Obj.Namespace)
			}
		}
		pols = objs.PolicyList()
		// The same checks the lab applies when it starts (duplicate
		// names) — before anything is applied.
		if _, err := world.Build(objs, nil); err != nil {
			return nil, nil, nil, err
		}
	}
	remove, notesOut, err := readRemove(sub, join(rel, RemoveFile), t)
	return pols, remove, notesOut, err
}

// readRemove reads a remove list: "namespace/name" of starting policies,
// one a line; # comments and blank lines are ignored, and a policy listed
// twice is removed once, with a note.
func readRemove(sub *submissionFS, rel string, t *labs.Task) ([]string, []string, error) {
	if !sub.exists(rel) {
		return nil, nil, nil
	}
	data, err := sub.read(rel)
	if err != nil {
		return nil, nil, err
	}
	starting := map[string]bool{}
	for _, np := range t.Start {
		starting[np.Namespace+"/"+np.Name] = true
	}
	name := sub.display(rel)
	var out, notes []string
	first := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !starting[line] {
			return nil, nil, fmt.Errorf("%s:%d: %s is not a starting policy of task %s (want namespace/name)", name, n, quoteExcerpt(line), t.ID())
		}
		if f, ok := first[line]; ok {
			notes = append(notes, fmt.Sprintf("%s:%d: %s is listed again (first on line %d): removed once", name, n, line, f))
			continue
		}
		first[line] = n
		out = append(out, line)
	}
	return out, notes, nil
}

// quoteExcerpt quotes a short piece of a submission's file for an error.
func quoteExcerpt(s string) string {
	const max = 60
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return strconv.Quote(s)
}

// ErrTeardown marks Grade's error when removing its lab failed (what is
// left is then in the error).
var ErrTeardown = errors.New("tearing down")

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
// error (made safe to print) in the result; grading goes on with the next
// task. The lab is torn down at the end, and also when ctx is cancelled
// (an interrupted grade): grading then stops and Grade returns ctx's cause.
func Grade(ctx context.Context, l *labs.Lab, answers []Answer, o GradeOptions) (rep *grade.Report, errs map[string]error, err error) {
	if err := context.Cause(ctx); err != nil {
		return nil, nil, err
	}
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
			aerr := safeError(a.Err)
			errs[a.Task.Name] = aerr
			rep.Add(invalid(a.Task, aerr))
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
		if cause := context.Cause(ctx); cause != nil {
			err = cause
		}
		return nil, nil, fmt.Errorf("starting lab %s: %w", l.Name, err)
	}
	defer func() {
		if derr := rt.Down(context.WithoutCancel(ctx), nil); derr != nil {
			err = errors.Join(err, fmt.Errorf("%w %s: %w", ErrTeardown, name, derr))
		}
	}()
	for _, a := range answers {
		if cause := context.Cause(ctx); cause != nil {
			return nil, nil, cause
		}
		t := a.Task
		res, aerr := gradeAnswer(ctx, rt, a, o.Timeout)
		if cause := context.Cause(ctx); cause != nil {
			return nil, nil, cause
		}
		if aerr != nil {
			aerr = safeError(aerr)
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
