package statefile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestSaveAndList(t *testing.T) {
	root := t.TempDir()
	type state struct{ Name string }
	for _, tc := range []struct {
		lab       string
		perm, dir os.FileMode
	}{{"a", 0o644, 0o755}, {"b", 0o600, 0o700}} {
		p := filepath.Join(root, tc.lab, "state.json")
		if err := Save(p, state{tc.lab}, tc.perm); err != nil {
			t.Fatal(err)
		}
		if err := Save(p, state{tc.lab + "2"}, tc.perm); err != nil { // replaces
			t.Fatal(err)
		}
		var got state
		data, _ := os.ReadFile(p)
		if err := json.Unmarshal(data, &got); err != nil || got.Name != tc.lab+"2" {
			t.Errorf("%s: read back %+v (%v)", p, got, err)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != tc.perm {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), tc.perm)
		}
		if fi, _ := os.Stat(filepath.Dir(p)); fi.Mode().Perm() != tc.dir {
			t.Errorf("%s: directory mode %v, want %v", p, fi.Mode().Perm(), tc.dir)
		}
		entries, _ := os.ReadDir(filepath.Dir(p))
		if len(entries) != 1 {
			t.Errorf("%s: %d files in the directory, want only state.json", p, len(entries))
		}
	}
	os.MkdirAll(filepath.Join(root, "empty"), 0o755) // no state: not listed
	got, err := List(root, "state.json")
	if err != nil || !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("List = %v, %v; want [a b]", got, err)
	}
	if got, err := List(filepath.Join(root, "missing"), "state.json"); err != nil || len(got) != 0 {
		t.Errorf("List of a missing root = %v, %v", got, err)
	}
	if err := Save(filepath.Join(root, "a", "state.json"), func() {}, 0o644); err == nil {
		t.Error("saving a value JSON cannot encode succeeded")
	}
}
