package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/testenv"
)

// TestGradeHostileOutput: what grade prints about a hostile submission —
// stderr, -o json, -o junit and --junit — names the refused paths and
// never quotes a file outside the submission or a raw control or bidi
// character. No lab is needed: no answer is readable.
func TestGradeHostileOutput(t *testing.T) {
	testenv.RequireRoot(t) // grade refuses to start otherwise
	secret := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(secret, []byte("root:$6$SECRETHASH:19000:0:99999:7:::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sub := t.TempDir()
	for _, d := range []string{"deny-ingress", "deny-all"} {
		if err := os.Mkdir(filepath.Join(sub, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(secret, filepath.Join(sub, "deny-ingress", "remove.txt")); err != nil {
		t.Fatal(err)
	}
	evil := "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: \"x\\e[2J\\u202e\", namespace: netpol-lab}\nspec: {podSelector: {}}\n"
	if err := os.WriteFile(filepath.Join(sub, "deny-all", "p.yaml"), []byte(evil), 0o644); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(t.TempDir(), "report.xml")
	for _, output := range []string{"text", "json", "junit"} {
		t.Run(output, func(t *testing.T) {
			stdout, stderr, code := run(t, "grade", "--lab", "default-deny", "--submission", sub, "-o", output, "--junit", report)
			if code != 1 {
				t.Errorf("exit %d, want 1 (score 0)", code)
			}
			xml, _ := os.ReadFile(report)
			all := stdout + stderr + string(xml)
			if strings.Contains(all, "SECRETHASH") || strings.ContainsAny(all, "\x1b\u202e") {
				t.Errorf("output leaks:\n%s", all)
			}
			if !strings.Contains(stderr, filepath.Join(sub, "deny-ingress", "remove.txt")+": a symbolic link leading outside the submission") {
				t.Errorf("stderr does not name the refused link:\n%s", stderr)
			}
			if output == "json" {
				var v struct{ Errors map[string]string }
				if err := json.Unmarshal([]byte(stdout), &v); err != nil || len(v.Errors) != 2 {
					t.Errorf("json: %v, errors %v", err, v.Errors)
				}
			}
		})
	}
}

func TestGradeLimitFlags(t *testing.T) {
	sub := t.TempDir()
	for _, tc := range []struct{ flag, want string }{
		{"--max-file-size=lots", "want a size such as 1Mi"},
		{"--max-submission-size=0", "want a positive whole number of bytes"},
		{"--max-file-size=0.5", "want a positive whole number of bytes"},
		{"--max-files=0", "--max-files 0: want a positive number"},
	} {
		_, stderr, code := run(t, "grade", "--lab", "default-deny", "--submission", sub, tc.flag)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", tc.flag, code, stderr, tc.want)
		}
	}
}
