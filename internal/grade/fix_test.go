package grade

import (
	"bytes"
	"strings"
	"testing"

	"github.com/netlab/netlab/labs"
)

// startGrade grades task n of lab from its starting state, offline.
func startGrade(t *testing.T, lab string, n int) *Result {
	t.Helper()
	l, err := labs.Get(lab)
	if err != nil {
		t.Fatal(err)
	}
	task := l.Tasks[n]
	return Offline(task, task.StartWorld(), Options{})
}

// TestLeakHintsFollowTheTask: a flow that must be blocked is closed on the
// side the task is about, never by a change that breaks a flow the task
// requires (before, every db-isolation leak from kube-system/coredns
// suggested isolating coredns's egress, which DNS needs, and deny-all
// suggested isolating coredns's ingress, which every pod's DNS needs).
func TestLeakHintsFollowTheTask(t *testing.T) {
	cases := []struct {
		lab     string
		task    int
		side    string // every leaked cell's hint changes this side
		notSaid []string
	}{
		{"db-isolation", 0, "ingress of shop/db", []string{"egress of"}},
		{"flat-network", 0, "egress of shop/debug", []string{"ingress of"}},
		{"default-deny", 0, "", []string{"egress of"}},
		{"default-deny", 1, "", []string{"ingress of kube-system/coredns"}},
	}
	for _, tc := range cases {
		r := startGrade(t, tc.lab, tc.task)
		if len(r.Leaked) == 0 {
			t.Fatalf("%s: no leaked cells from the start", tc.lab)
		}
		for _, c := range r.Leaked {
			if tc.side != "" && (c.Side != tc.side || !strings.Contains(c.Hint, "isolate "+tc.side)) {
				t.Errorf("%s %s: side %q, hint %q; want a change of %s", tc.lab, c.Cell, c.Side, c.Hint, tc.side)
			}
			for _, bad := range tc.notSaid {
				if strings.Contains(c.Hint, bad) {
					t.Errorf("%s %s: hint %q suggests %q, which breaks flows the task requires", tc.lab, c.Cell, c.Hint, bad)
				}
			}
		}
	}
}

// TestLeaksGrouped: db-isolation's 13 leaks into shop/db, one missing
// isolation, are one entry of a few lines, not 13 three-line entries.
func TestLeaksGrouped(t *testing.T) {
	r := startGrade(t, "db-isolation", 0)
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	_, section, _ := strings.Cut(out, "(over-permissive):\n")
	section, _, _ = strings.Cut(section, "\n\n")
	want := `  13 cells allowed at ingress of shop/db, expected blocked:
      kube-system/coredns, monitoring/prometheus, shop/admin, shop/debug, shop/web, shop/worker -> shop/db:5432/TCP,9187/TCP
      shop/api -> shop/db:9187/TCP
      why:  no policy isolates ingress of shop/db
      hint: isolate ingress of shop/db (a policy selecting it with Ingress in policyTypes), allowing only what the task needs: shop/api on 5432/TCP`
	if section != want {
		t.Fatalf("leaked section:\n%s\nwant:\n%s\nwhole output:\n%s", section, want, out)
	}
	if len(r.Leaked) != 13 {
		t.Fatalf("%d leaked cells in the result, want all 13 (-o json keeps every cell)", len(r.Leaked))
	}
}

// TestBlockedGrouped: required flows blocked on one side only are grouped
// by that side (a deny-all-ingress in every namespace of flat-network
// blocked 60 flows, printed as 60 three-line entries).
func TestBlockedGrouped(t *testing.T) {
	l, err := labs.Get("flat-network")
	if err != nil {
		t.Fatal(err)
	}
	task := l.Tasks[0]
	manifests := ""
	for _, ns := range []string{"shop", "monitoring", "kube-system"} {
		manifests += "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: " + ns + "}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n"
	}
	r := Offline(task, submit(t, task, manifests), Options{})
	groups := Groups(r.Missing)
	pods := map[string]bool{}
	for _, c := range r.Missing {
		pods[c.To] = true
	}
	if len(r.Missing) < 50 || len(groups) != len(pods) {
		t.Fatalf("%d blocked cells in %d groups, want one group per destination (%d)", len(r.Missing), len(groups), len(pods))
	}
	for _, g := range groups {
		if !strings.HasPrefix(g.Side, "ingress of ") || !strings.Contains(g.Hint, "add ingress rules to a policy selecting "+strings.TrimPrefix(g.Side, "ingress of ")) {
			t.Errorf("group %q: hint %q", g.Side, g.Hint)
		}
	}
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "\n"); n > 60 {
		t.Errorf("%d lines of text for %d groups:\n%s", n, len(groups), b.String())
	}
}
