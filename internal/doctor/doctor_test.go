package doctor

import (
	"context"
	"testing"
)

func TestRunCoversEveryArea(t *testing.T) {
	r := Run(context.Background(), Kind)
	seen := map[string]Check{}
	for _, c := range r.Checks {
		seen[c.Name] = c
		if c.Status != OK && c.Status != Warn && c.Status != Fail {
			t.Errorf("%s: status %q", c.Name, c.Status)
		}
		if c.Status == Fail && c.Fix == "" && c.Name != "bpf program" {
			t.Errorf("%s fails without saying how to fix it: %s", c.Name, c.Detail)
		}
	}
	for _, name := range []string{"root", "ip", "iptables", "capabilities", "bpffs", "bpf program", "cgroups",
		"docker installed", "docker daemon", "docker runtime", "disk"} {
		if _, ok := seen[name]; !ok {
			t.Errorf("no %q check", name)
		}
	}
}

func TestBrokenFollowsBackend(t *testing.T) {
	dockerDown := Check{Name: "docker daemon", Status: Fail, NeededBy: []string{Kind}}
	if dockerDown.Needed(Sandbox) || !dockerDown.Needed(Kind) {
		t.Fatal("Needed is wrong")
	}
	for _, backend := range []string{Sandbox, Kind} {
		r := Run(context.Background(), backend)
		want := false
		for _, c := range r.Checks {
			if c.Status == Fail && c.Needed(backend) {
				want = true
			}
		}
		if r.Broken != want {
			t.Errorf("%s: Broken=%v, want %v", backend, r.Broken, want)
		}
	}
}
