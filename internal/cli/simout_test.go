package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/worldgen"
)

// The summary golden was checked by hand against sim-netpol-lab.table: 12
// cells, 7 allowed; the six DNS cells admitted by allow-dns on egress, the
// frontend->backend cell by one egress and one ingress policy, and
// default-deny admitting nothing.
func TestSimSummaryGolden(t *testing.T) {
	out, errOut, code := run(t, append([]string{"sim", "-o", "summary"}, lab...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden(t, "sim-netpol-lab.summary", out)
}

// bigWorld writes a generated world of pods pods in 3 namespaces.
func bigWorld(t *testing.T, pods int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "world.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := worldgen.WriteManifest(f, worldgen.Generate(7, worldgen.Options{Namespaces: 3, Pods: pods, Policies: 10})); err != nil {
		t.Fatal(err)
	}
	return path
}

// A table or graph of more than --max-pods pods fails (exit 1, nothing on
// stdout) and says how to narrow; narrowed, or with the limit lifted, it
// prints; JSON and the summary never refuse.
func TestSimBigWorldAsksToNarrow(t *testing.T) {
	world := bigWorld(t, 90) // 30 pods in each of ns0, ns1, ns2
	for _, output := range []string{"table", "mermaid"} {
		out, errOut, code := run(t, "sim", "-f", world, "-o", output)
		if code == 0 || out != "" {
			t.Fatalf("-o %s on 90 pods: exit %d, %d bytes of stdout; want a refusal", output, code, len(out))
		}
		for _, want := range []string{"-o " + output + " of 90 pods", "--max-pods 50", "--from ns0/ --to ns0/", "--from NS/POD", "-o summary", "-o json", "ns0 (30), ns1 (30), ns2 (30)"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("-o %s: stderr lacks %q:\n%s", output, want, errOut)
			}
		}
	}
	for _, args := range [][]string{
		{"-o", "table", "--from", "ns0/", "--to", "ns0/"},
		{"-o", "table", "--from", "ns1/pod1", "--to", "ns2/"}, // 31 pods
		{"-o", "mermaid", "--max-pods", "0"},
		{"-o", "json"},
		{"-o", "summary"},
	} {
		out, errOut, code := run(t, append([]string{"sim", "-f", world}, args...)...)
		if code != 0 || out == "" {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
	out, _, _ := run(t, "sim", "-f", world, "-o", "table", "--from", "ns1/pod1", "--to", "ns2/")
	if rows := strings.Count(out, "\nns1/pod1 "); rows != 1 || strings.Contains(out, "ns0/") {
		t.Errorf("--from ns1/pod1 --to ns2/: want one source row and no ns0 pod:\n%s", out)
	}
}

func TestSimSelectorMatchingNothing(t *testing.T) {
	for _, flag := range []string{"--from", "--to"} {
		out, errOut, code := run(t, append([]string{"sim", flag, "nope/"}, lab...)...)
		if code == 0 || out != "" || !strings.Contains(errOut, flag+" nope/: no pod matches") {
			t.Errorf("%s nope/: exit %d, stdout %q, stderr %q", flag, code, out, errOut)
		}
	}
}
