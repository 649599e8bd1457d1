package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The golden files were checked cell by cell against the NetworkPolicy
// rules by hand (netpol-lab with default-deny, DNS egress and the
// frontend->backend pair); -update rewrites them, after which they must be
// reviewed again.
var update = flag.Bool("update", false, "rewrite golden files")

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var lab = []string{"--scenario", "netpol-lab", "-f", "../../assets/examples/netpol-lab/"}

func TestSimGolden(t *testing.T) {
	for _, tc := range []struct{ output, file string }{
		{"table", "sim-netpol-lab.table"},
		{"json", "sim-netpol-lab.json"},
		{"mermaid", "sim-netpol-lab.mmd"},
	} {
		t.Run(tc.output, func(t *testing.T) {
			out, errOut, code := run(t, append([]string{"sim", "-o", tc.output}, lab...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, tc.file, out)
		})
	}
}

func TestSimJSONContract(t *testing.T) {
	out, errOut, code := run(t, append([]string{"sim", "-o", "json"}, lab...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	// 4 pods: coredns (53/TCP, 53/UDP), backend (8080), frontend (80),
	// client (none): 3x2 + 3x1 + 3x1 cells.
	if len(doc.Results) != 12 {
		t.Fatalf("got %d cells, want 12", len(doc.Results))
	}
	for _, c := range doc.Results {
		for _, k := range []string{"from", "to", "port", "protocol", "allowed"} {
			if _, ok := c[k]; !ok {
				t.Fatalf("cell %v lacks %q", c, k)
			}
		}
	}
	if !strings.Contains(errOut, "assigned") && !strings.Contains(errOut, "podIP") {
		t.Errorf("expected a note about assigned pod IPs on stderr, got %q", errOut)
	}
}

func TestExplainGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"explain-allowed.txt", []string{"--from", "netpol-lab/frontend", "--to", "netpol-lab/backend", "--port", "http"}},
		{"explain-blocked.txt", []string{"--from", "netpol-lab/client", "--to", "netpol-lab/backend", "--port", "8080"}},
		{"explain-external.txt", []string{"--from", "netpol-lab/frontend", "--to-ip", "203.0.113.7", "--port", "443"}},
		{"explain-blocked.json", []string{"--from", "netpol-lab/client", "--to", "netpol-lab/backend", "--port", "8080/TCP", "-o", "json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, append(append([]string{"explain"}, lab...), tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, tc.name, out)
		})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{"invalid policy names file, document, object and fields",
			[]string{"sim", "-f", "testdata/bad-policy.yaml"},
			[]string{"testdata/bad-policy.yaml", "document 2", "line 18", "NetworkPolicy x/broken", "spec.ingress[0].ports[0].endPort", "spec.ingress[0].from[0].ipBlock.except[0]"}},
		{"malformed YAML gives the file line",
			[]string{"sim", "-f", "testdata/bad-yaml.yaml"},
			[]string{"testdata/bad-yaml.yaml", "document 1", "line 10", "malformed YAML"}},
		{"missing file", []string{"sim", "-f", "testdata/nope.yaml"}, []string{"nope.yaml"}},
		{"no world", []string{"sim"}, []string{"no world given"}},
		{"unknown output", []string{"sim", "--scenario", "netpol-lab", "-o", "xml"}, []string{`unknown output format "xml"`}},
		{"unknown scenario", []string{"sim", "--scenario", "nope"}, []string{`unknown scenario "nope"`, "netpol-lab"}},
		{"explain unknown pod", append(append([]string{"explain"}, lab...), "--from", "x/y", "--to", "netpol-lab/backend", "--port", "80"), []string{`--from: no pod "x/y"`}},
		{"explain unknown named port", append(append([]string{"explain"}, lab...), "--from", "netpol-lab/client", "--to", "netpol-lab/backend", "--port", "grpc"), []string{`no container port named "grpc"`}},
		{"explain bad protocol", append(append([]string{"explain"}, lab...), "--from", "netpol-lab/client", "--to", "netpol-lab/backend", "--port", "80/ICMP"), []string{`unsupported protocol "ICMP"`}},
		{"explain missing flags", append([]string{"explain"}, lab...), []string{"--from, --to"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0, want failure; stdout %q", out)
			}
			if out != "" {
				t.Errorf("stdout not empty on error: %q", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
		})
	}
}

func TestVersionAndHelp(t *testing.T) {
	out, _, code := run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "netlab ") {
		t.Fatalf("version: exit %d, %q", code, out)
	}
	out, _, code = run(t, "--help")
	if code != 0 || !strings.Contains(out, "both sides") || !strings.Contains(out, "sim") {
		t.Fatalf("help does not teach: %q", out)
	}
	out, _, code = run(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "bash completion") {
		t.Fatalf("completion bash: exit %d", code)
	}
}
