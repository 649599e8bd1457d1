package dockerhost

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const specJSON = `{
  "ociVersion": "1.0.2",
  "process": {
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_BPF"],
      "effective": ["CAP_SYS_RESOURCE"],
      "permitted": ["CAP_CHOWN"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1048576}]
  },
  "linux": {"resources": {"memory": {"limit": 9223372036854771712}}}
}`

func TestFilterCreateBundle(t *testing.T) {
	bundle := t.TempDir()
	cfg := filepath.Join(bundle, "config.json")
	if err := os.WriteFile(cfg, []byte(specJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--root", "/run/runc", "--log", "/x/log.json", "--log-format", "json",
		"create", "--bundle", bundle, "--pid-file", "/x/pid", "id1"}
	if err := filterInvocation(args, []string{"CAP_SYS_RESOURCE"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Process struct {
			Capabilities map[string][]string
		}
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"bounding":  {"CAP_CHOWN", "CAP_BPF"},
		"effective": {},
		"permitted": {"CAP_CHOWN"},
	}
	if !reflect.DeepEqual(got.Process.Capabilities, want) {
		t.Errorf("capabilities = %v, want %v", got.Process.Capabilities, want)
	}
	// 64-bit limits must survive the rewrite exactly.
	for _, n := range []string{"18446744073709551615", "9223372036854771712"} {
		if !strings.Contains(string(raw), n) {
			t.Errorf("rewritten spec lost the number %s:\n%s", n, raw)
		}
	}
}

func TestFilterExecProcessFile(t *testing.T) {
	dir := t.TempDir()
	proc := filepath.Join(dir, "process.json")
	if err := os.WriteFile(proc, []byte(`{"args":["sh"],"capabilities":{"bounding":["CAP_SYS_RESOURCE","CAP_KILL"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--root", "/run/runc", "exec", "--process=" + proc, "--detach", "id1"}
	if err := filterInvocation(args, []string{"CAP_SYS_RESOURCE"}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(proc)
	if want := `{"args":["sh"],"capabilities":{"bounding":["CAP_KILL"]}}`; string(raw) != want {
		t.Errorf("process file = %s, want %s", raw, want)
	}
}

func TestFilterLeavesUnaffectedSpecAlone(t *testing.T) {
	bundle := t.TempDir()
	cfg := filepath.Join(bundle, "config.json")
	orig := `{"process": {"capabilities": {"bounding": ["CAP_KILL"]}},   "x": 1}`
	if err := os.WriteFile(cfg, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := filterInvocation([]string{"run", "-b", bundle, "id"}, []string{"CAP_SYS_RESOURCE"}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(cfg)
	if string(raw) != orig {
		t.Errorf("spec rewritten although no capability was missing: %s", raw)
	}
	// Commands other than create/run/exec never touch files.
	if err := filterInvocation([]string{"--root", "/nonexistent", "delete", "id"}, []string{"CAP_SYS_RESOURCE"}); err != nil {
		t.Errorf("delete: %v", err)
	}
}

func TestCapSet(t *testing.T) {
	s := CapSet(0x000001fffeffffff) // this project's CI VM: no CAP_SYS_RESOURCE (24)
	if got := s.Missing(); !reflect.DeepEqual(got, []string{"CAP_SYS_RESOURCE"}) {
		t.Errorf("Missing() = %v", got)
	}
	if s.Has("CAP_SYS_RESOURCE") || !s.Has("CAP_BPF") {
		t.Errorf("Has wrong for %x", uint64(s))
	}
	if _, err := BoundingSet(); err != nil {
		t.Errorf("BoundingSet: %v", err)
	}
}

func TestRegisterRuntimeKeepsOtherKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(path, []byte(`{"log-level":"warn","runtimes":{"other":{"path":"/bin/x"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := registerRuntime(path)
	if err != nil || !changed {
		t.Fatalf("first register: changed=%v err=%v", changed, err)
	}
	changed, err = registerRuntime(path)
	if err != nil || changed {
		t.Fatalf("second register must be a no-op: changed=%v err=%v", changed, err)
	}
	var conf map[string]any
	raw, _ := os.ReadFile(path)
	if err := json.Unmarshal(raw, &conf); err != nil {
		t.Fatal(err)
	}
	rt := conf["runtimes"].(map[string]any)
	if conf["log-level"] != "warn" || rt["other"] == nil || rt[RuntimeName] == nil || conf["default-runtime"] != RuntimeName {
		t.Errorf("daemon.json = %s", raw)
	}
}
