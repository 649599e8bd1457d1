package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestLabList(t *testing.T) {
	out, errOut, code := run(t, "lab", "list", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []struct {
		Name     string `json:"name"`
		Scenario string `json:"scenario"`
		Tasks    []struct {
			Name string `json:"name"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) < 16 || got[0].Name != "flat-network" || got[0].Scenario != "shop" || len(got[0].Tasks) == 0 {
		t.Errorf("lab list: %+v", got)
	}
}

func TestLabLintEngine(t *testing.T) {
	out, errOut, code := run(t, "lab", "lint", "db-isolation", "peers")
	if code != 0 || !strings.Contains(out, "db-isolation engine: 1 task, 0 problems") || !strings.Contains(out, "2 labs OK") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := run(t, "lab", "lint", "no-such-lab"); code != 1 || !strings.Contains(errOut, `unknown lab "no-such-lab"`) {
		t.Errorf("unknown lab: exit %d %s", code, errOut)
	}
}
