package world_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
)

const twoPods = `apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: b}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.2}
`

const denyAll = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: x}
spec: {podSelector: {}, policyTypes: [Ingress]}
`

// Before the streaming reader, a line longer than bufio.Scanner's 64 MiB
// limit ended the scan without an error: the deny-all policy after it was
// dropped and every cell came out ALLOWED, exit 0.
func TestLoadLineLongerThan64MiB(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(twoPods + "---\n# ")
	b.Write(bytes.Repeat([]byte("x"), 65<<20))
	b.WriteString("\n" + denyAll)
	p := writeFile(t, t.TempDir(), "long.yaml", b.String())
	w, _ := mustLoad(t, p)
	if w.Policy("x", "deny-all") == nil {
		t.Fatalf("the policy after a 65 MiB comment line was dropped")
	}
	for _, c := range netpol.New(w).Matrix().Results {
		if c.Allowed {
			t.Errorf("%s allowed under deny-all", c.Key())
		}
	}
}

// compactList is what 'kubectl get ns,pods,netpol -A -o json | jq -c .'
// prints: one line, here longer than 64 MiB (pods carry 1 MiB annotations).
func compactList(pods int) string {
	var b strings.Builder
	b.WriteString(`{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}`)
	pad := strings.Repeat("y", 1<<20)
	for i := 0; i < pods; i++ {
		fmt.Fprintf(&b, `,{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p%d","namespace":"x","annotations":{"pad":"%s"}},"spec":{"containers":[{"name":"c","ports":[{"containerPort":80}]}]},"status":{"podIP":"10.0.%d.%d"}}`, i, pad, i/200, 1+i%200)
	}
	b.WriteString(`,{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"deny-all","namespace":"x"},"spec":{"podSelector":{},"policyTypes":["Ingress"]}}`)
	b.WriteString(`],"kind":"List","metadata":{"resourceVersion":""}}`)
	return b.String()
}

// Before: {"results":[]} and exit 0 (the one line was over the limit, so
// nothing at all was read).
func TestLoadCompactJSONListOver64MiB(t *testing.T) {
	const pods = 66
	p := writeFile(t, t.TempDir(), "dump.json", compactList(pods))
	w, _ := mustLoad(t, p)
	if len(w.Pods) != pods || w.Namespace("x") == nil || w.Namespace("x").Implied || w.Policy("x", "deny-all") == nil {
		t.Fatalf("got %d pods (want %d), namespace %+v, policy %v", len(w.Pods), pods, w.Namespace("x"), w.Policy("x", "deny-all") != nil)
	}
}

func TestParseJSONShapes(t *testing.T) {
	ns := func(n string) string {
		return fmt.Sprintf(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":%q}}`, n)
	}
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"one object per line (jq -c .items[])", ns("a") + "\n" + ns("b") + "\n", []string{"a", "b"}},
		{"objects back to back", ns("a") + ns("b"), []string{"a", "b"}},
		{"pretty List", "{\n  \"apiVersion\": \"v1\",\n  \"items\": [\n    " + ns("a") + ",\n    " + ns("b") + "\n  ],\n  \"kind\": \"List\"\n}\n", []string{"a", "b"}},
		{"List with kind first", `{"kind":"NamespaceList","apiVersion":"v1","items":[` + ns("a") + `]}`, []string{"a"}},
		{"empty List", `{"kind":"List","apiVersion":"v1","items":[]}`, nil},
		{"JSON then YAML", ns("a") + "\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n", []string{"a", "b"}},
		{"YAML then JSON", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n" + ns("b"), []string{"a", "b"}},
		{"escaped quotes and brackets in strings", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a","annotations":{"x":"}]\"\\\\\"{["}}}`, []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := world.Parse("in.json", []byte(tc.in), nil)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got []string
			for _, o := range objs.Namespaces {
				got = append(got, o.Obj.Name)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("namespaces %v, want %v", got, tc.want)
			}
		})
	}
}

// A cut-off or malformed input is an error naming the file, never a
// shorter world.
func TestParseBrokenJSON(t *testing.T) {
	full := `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}},{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b"}}]}`
	for n := 1; n < len(full); n++ {
		if _, err := world.Parse("cut.json", []byte(full[:n]), nil); err == nil {
			t.Fatalf("input cut after %d bytes accepted: %s", n, full[:n])
		} else if !strings.Contains(err.Error(), "cut.json") {
			t.Fatalf("error does not name the file: %v", err)
		}
	}
	for _, in := range []string{
		`{"kind":"List","apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}},]}`,
		`{"kind":"List","kind":"List","items":[]}`,
		`{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"a"},"items":[]}`,
		`{"kind":"List","apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}} {"x":1}]}`,
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}} trailing`,
	} {
		if _, err := world.Parse("bad.json", []byte(in), nil); err == nil {
			t.Errorf("accepted %s", in)
		}
	}
}

func TestReadRejectsNUL(t *testing.T) {
	p := writeFile(t, t.TempDir(), "nul.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n\x00\n")
	_, _, err := load(t, p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "NUL") {
		t.Fatalf("NUL byte: err %v, want an error naming %s and NUL", err, p)
	}
}

func TestReadLimit(t *testing.T) {
	p := writeFile(t, t.TempDir(), "w.yaml", twoPods)
	ctx := context.Background()
	if _, err := world.ReadContext(ctx, []string{p}, nil, world.ReadOptions{MaxInput: int64(len(twoPods))}); err != nil {
		t.Errorf("input of exactly the limit: %v", err)
	}
	_, err := world.ReadContext(ctx, []string{p}, nil, world.ReadOptions{MaxInput: int64(len(twoPods)) - 1})
	var le *world.LimitError
	if !errors.As(err, &le) || le.File != p || !strings.Contains(err.Error(), p) {
		t.Errorf("input over the limit: err %v, want a LimitError naming %s", err, p)
	}
	stdin := strings.NewReader(strings.Repeat("# comment\n", 1000))
	_, err = world.ReadContext(ctx, []string{"-"}, nil, world.ReadOptions{MaxInput: 100, Stdin: stdin})
	if !errors.As(err, &le) || !strings.Contains(le.File, "standard input") {
		t.Errorf("stdin over the limit: err %v", err)
	}
}

// Before: /dev/zero and /dev/urandom were read until memory ran out.
func TestReadDevices(t *testing.T) {
	for _, dev := range []string{"/dev/zero", "/dev/urandom"} {
		f, err := os.Open(dev)
		if err != nil {
			t.Skipf("%s: %v", dev, err)
		}
		for _, path := range []string{dev, "-"} {
			done := make(chan error, 1)
			go func() {
				_, err := world.ReadContext(context.Background(), []string{path}, nil, world.ReadOptions{MaxInput: world.DefaultMaxInput, Stdin: f})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), strings.Replace(path, "-", "standard input", 1)) {
					t.Errorf("%s as %s: err %v, want an error naming it", dev, path, err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("%s as %s: still reading after 30s", dev, path)
			}
		}
		f.Close()
	}
}

// A FIFO with no writer blocks (like cat) until the context ends.
func TestReadFIFOCancelled(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := world.ReadContext(ctx, []string{p}, nil, world.ReadOptions{})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), p) {
			t.Errorf("cancelled read of a FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("ReadContext on a FIFO with no writer ignored the cancelled context")
	}
	// Let the abandoned open finish.
	if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		w.Close()
	}

	// The same once a writer has opened it but writes nothing.
	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		_, err := world.ReadContext(ctx, []string{p}, nil, world.ReadOptions{})
		done <- err
	}()
	var w *os.File
	for i := 0; i < 100 && w == nil; i++ {
		w, _ = os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		time.Sleep(10 * time.Millisecond)
	}
	if w == nil {
		t.Fatalf("could not open the FIFO for writing")
	}
	defer w.Close()
	w.WriteString("# nothing yet\n")
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled read of an idle FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("ReadContext on an idle FIFO ignored the cancelled context")
	}
}

// Documents are decoded in parallel batches; what comes out (objects,
// errors, notes) is still in document order.
func TestParseKeepsDocumentOrder(t *testing.T) {
	var b strings.Builder
	const n = 10000
	for i := 0; i < n; i++ {
		switch i {
		case 7, 5000, 9999:
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: Bad%d}\n", i)
		case 3, 6000:
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm%d}\n", i)
		default:
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns%d}\n", i)
		}
	}
	var notes strings.Builder
	_, err := world.Parse("many.yaml", []byte(b.String()), &notes)
	var errs world.Errors
	if !errors.As(err, &errs) || len(errs) != 3 {
		t.Fatalf("err %v, want 3 errors", err)
	}
	for i, doc := range []int{8, 5001, 10000} { // the leading empty document is 0
		if errs[i].Source.Doc != doc {
			t.Errorf("error %d is for document %d, want %d", i, errs[i].Source.Doc, doc)
		}
	}
	if i, j := strings.Index(notes.String(), "cm3"), strings.Index(notes.String(), "cm6000"); i < 0 || j < i {
		t.Errorf("notes out of order:\n%s", notes.String())
	}
	b.Reset()
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns%d}\n", i)
	}
	objs, err := world.Parse("many.yaml", []byte(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range objs.Namespaces {
		if want := fmt.Sprintf("ns%d", i); o.Obj.Name != want || o.Source.Doc != i+1 {
			t.Fatalf("namespace %d is %s (document %d), want %s", i, o.Obj.Name, o.Source.Doc, want)
		}
	}
}
