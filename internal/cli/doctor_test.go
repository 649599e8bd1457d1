package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDoctorJSON(t *testing.T) {
	out, errOut, code := run(t, "doctor", "-o", "json", "--backend", "kind")
	var r struct {
		Backend string
		Broken  bool
		Checks  []struct{ Name, Status, Fix string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("doctor -o json printed no JSON (%v): %s %s", err, out, errOut)
	}
	if r.Backend != "kind" || len(r.Checks) < 8 {
		t.Errorf("report = %+v", r)
	}
	if wantCode := map[bool]int{false: 0, true: 1}[r.Broken]; code != wantCode {
		t.Errorf("exit %d with broken=%v", code, r.Broken)
	}
}

func TestDoctorRejectsUnknownBackend(t *testing.T) {
	_, errOut, code := run(t, "doctor", "--backend", "vagrant")
	if code == 0 || !strings.Contains(errOut, "unknown backend") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestRuncWrapperNeedsItsArguments(t *testing.T) {
	_, errOut, code := run(t, "runc-wrapper", "create", "id")
	if code == 0 || !strings.Contains(errOut, "usage") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
