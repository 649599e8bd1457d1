package netpol_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
)

// addressWorld is namespace x with pods a (no status.podIP), b (10.0.0.5)
// and c (10.0.0.6), each app=<name> and listening on 80/TCP, plus
// policies.
func addressWorld(t *testing.T, policies ...string) *world.World {
	t.Helper()
	port := `[{name: http, containerPort: 80}]`
	docs := []string{
		nsYAML("x", "{ns: x}"),
		podYAML("x", "a", "{app: a}", "", port),
		podYAML("x", "b", "{app: b}", "10.0.0.5", port),
		podYAML("x", "c", "{app: c}", "10.0.0.6", port),
	}
	return buildWorld(t, append(docs, policies...))
}

// cellOf returns the matrix cell from -> to:80/TCP.
func cellOf(t *testing.T, m *matrix.Matrix, from, to string) matrix.Cell {
	t.Helper()
	for _, c := range m.Results {
		if c.From == from && c.To == to && c.Port == 80 && c.Protocol == "TCP" {
			return c
		}
	}
	t.Fatalf("no cell %s -> %s:80/TCP", from, to)
	return matrix.Cell{}
}

// verdictOf renders a cell as allowed, blocked or undecided.
func verdictOf(c matrix.Cell) string {
	switch {
	case c.Detail == "undecided":
		return "undecided"
	case c.Allowed:
		return "allowed"
	}
	return "blocked"
}

// A pod without an address must never have an ipBlock decide its cell
// (issue 9, item 3): before, the world gave x/a an invented 10.244.0.x
// address that 10.0.0.0/8 admitted, and every undecided cell below came
// out allowed.
func TestMatrixUnaddressedPodIPBlock(t *testing.T) {
	ipBlockToB := policyYAML("x", "b-from-cidr", `{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}`)
	cases := []struct {
		name     string
		policies []string
		from, to string
		want     string
	}{
		{"only an ipBlock could admit the source", []string{ipBlockToB}, "x/a", "x/b", "undecided"},
		{"an addressed source is decided", []string{ipBlockToB}, "x/c", "x/b", "allowed"},
		{"a selector admits it anyway", []string{ipBlockToB,
			policyYAML("x", "b-from-a", `{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{podSelector: {matchLabels: {app: a}}}]}]}`)},
			"x/a", "x/b", "allowed"},
		{"the ipBlock rule is for another port", []string{
			policyYAML("x", "b-81", `{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}], ports: [{port: 81}]}]}`)},
			"x/a", "x/b", "blocked"},
		{"the other side blocks outright", []string{ipBlockToB,
			policyYAML("x", "a-no-egress", `{podSelector: {matchLabels: {app: a}}, policyTypes: [Egress]}`)},
			"x/a", "x/b", "blocked"},
		{"the unaddressed pod's own policies judge an addressed peer", []string{
			policyYAML("x", "a-egress-cidr", `{podSelector: {matchLabels: {app: a}}, egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]}`)},
			"x/a", "x/b", "allowed"},
		{"only an ipBlock could admit the destination", []string{
			policyYAML("x", "b-egress-cidr", `{podSelector: {matchLabels: {app: b}}, egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}`)},
			"x/b", "x/a", "undecided"},
		{"no ipBlock anywhere", []string{
			policyYAML("x", "b-deny", `{podSelector: {matchLabels: {app: b}}}`)},
			"x/a", "x/b", "blocked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := addressWorld(t, c.policies...)
			cell := cellOf(t, netpol.New(w).Matrix(), c.from, c.to)
			if got := verdictOf(cell); got != c.want {
				t.Fatalf("%s -> %s:80/TCP = %s, want %s (cell %+v)", c.from, c.to, got, c.want, cell)
			}
			if c.want == "undecided" && (cell.Allowed || !strings.Contains(cell.Reason, "x/a has no address") || !strings.Contains(cell.Reason, "ipBlock")) {
				t.Errorf("undecided cell = %+v, want allowed false and a reason naming x/a and the ipBlock", cell)
			}
			if c.want != "undecided" && cell.Reason != "" {
				t.Errorf("decided cell has a reason: %+v", cell)
			}
		})
	}
}

func TestUndecidedJSONAndTable(t *testing.T) {
	w := addressWorld(t, policyYAML("x", "b-from-cidr", `{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}`))
	m := netpol.New(w).Matrix()
	var js strings.Builder
	if err := m.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal([]byte(js.String()), &doc); err != nil {
		t.Fatalf("WriteJSON wrote invalid JSON: %v\n%s", err, js.String())
	}
	nulls := 0
	for _, r := range doc.Results {
		if v, ok := r["allowed"]; ok && v == nil {
			nulls++
			if r["from"] != "x/a" || r["to"] != "x/b" || r["reason"] == nil {
				t.Errorf("undecided row %v, want x/a -> x/b with a reason", r)
			}
		}
	}
	if nulls != 1 {
		t.Errorf("%d rows with \"allowed\": null, want 1:\n%s", nulls, js.String())
	}
	back, err := readMatrixJSON(strings.NewReader(js.String()))
	if err != nil {
		t.Fatal(err)
	}
	if c := cellOf(t, back, "x/a", "x/b"); !c.Undecided() {
		t.Errorf("read back %+v: the undecided cell did not survive JSON", c)
	}
	var tab strings.Builder
	if err := m.WriteTable(&tab, matrix.TableOptions{}); err != nil {
		t.Fatal(err)
	}
	rowA := ""
	for _, l := range strings.Split(tab.String(), "\n") {
		if strings.HasPrefix(l, "a ") {
			rowA = l
		}
	}
	if f := strings.Fields(rowA); len(f) != 4 || f[2] != "?" {
		t.Errorf("row a = %q, want a ? under b", rowA)
	}
	for _, want := range []string{"1 not decidable", "? not decidable: a pod without an address"} {
		if !strings.Contains(tab.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, tab.String())
		}
	}
	var mmd strings.Builder
	if err := m.WriteMermaid(&mmd); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(mmd.String(), `"80/TCP?"`) {
		t.Errorf("mermaid does not mark the undecided flow 80/TCP?:\n%s", mmd.String())
	}
}

// An undecided cell never agrees with anything: grading and verify must
// not count it as a pass or a fail silently.
func TestCompareUndecided(t *testing.T) {
	w := addressWorld(t, policyYAML("x", "b-from-cidr", `{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}`))
	m := netpol.New(w).Matrix()
	measured := &matrix.Matrix{Results: append([]matrix.Cell(nil), m.Results...)}
	for i := range measured.Results {
		measured.Results[i].Detail, measured.Results[i].Reason = "", "" // a probe's blocked
	}
	d := matrix.Compare(measured, m)
	if len(d) != 1 || d[0].Key.From != "x/a" || d[0].Key.To != "x/b" {
		t.Errorf("Compare = %+v, want exactly the undecided x/a -> x/b", d)
	}
}

func TestExplainUndecided(t *testing.T) {
	w := addressWorld(t, policyYAML("x", "b-from-cidr", `{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}`))
	e := netpol.New(w)
	x := e.Explain(ep(t, w, "x/a"), ep(t, w, "x/b"), 80, tcp)
	if !x.Undecided() || x.Allowed || x.Ingress == nil || x.Ingress.Undecided == "" {
		t.Fatalf("explanation = %+v, want undecided at the ingress of x/b", x)
	}
	text := explainText(t, x)
	for _, want := range []string{"UNDECIDED", "x/a has no address (no status.podIP)", "b-from-cidr"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	js, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	if v, ok := doc["allowed"]; !ok || v != nil || doc["reason"] == nil {
		t.Errorf("JSON allowed = %v (present %v), reason = %v; want null and a reason:\n%s", v, ok, doc["reason"], js)
	}
	// Decided explanations keep "allowed": true/false.
	y := e.Explain(ep(t, w, "x/c"), ep(t, w, "x/b"), 80, tcp)
	if js, _ := json.Marshal(y); !strings.Contains(string(js), `"allowed":true`) || y.Undecided() {
		t.Errorf("x/c -> x/b JSON = %s, want \"allowed\":true", js)
	}
}

// hostNetwork pods are their node (issue 9, item 4): no policy selects
// them, selector peers never match them, an ipBlock matches their node's
// address. Before, the engine treated them as ordinary pods.
func TestHostNetworkPodsAreTheirNode(t *testing.T) {
	hostPod := `apiVersion: v1
kind: Pod
metadata: {name: etcd, namespace: kube-system, labels: {component: etcd}}
spec:
  hostNetwork: true
  nodeName: n1
  containers: [{name: etcd, image: etcd, ports: [{containerPort: 2379}]}]
status: {podIP: 172.18.0.3, phase: Running}
`
	docs := []string{
		nsYAML("kube-system", "{}"),
		nsYAML("x", "{ns: x}"),
		hostPod,
		podYAML("kube-system", "dns", "{k8s-app: kube-dns}", "10.244.0.3", `[{containerPort: 53, protocol: UDP}, {containerPort: 9153}]`),
		podYAML("x", "a", "{app: a}", "10.244.1.2", `[{containerPort: 80}]`),
		policyYAML("kube-system", "deny-all", `{podSelector: {}, policyTypes: [Ingress, Egress]}`),
		policyYAML("kube-system", "dns-from-pods", `{podSelector: {matchLabels: {k8s-app: kube-dns}}, ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 53, protocol: UDP}]}]}`),
		policyYAML("kube-system", "metrics-from-nodes", `{podSelector: {matchLabels: {k8s-app: kube-dns}}, ingress: [{from: [{ipBlock: {cidr: 172.18.0.0/16}}], ports: [{port: 9153}]}]}`),
		policyYAML("x", "a-egress-pods", `{podSelector: {}, egress: [{to: [{namespaceSelector: {}}]}]}`),
	}
	w := buildWorld(t, docs)
	e := netpol.New(w)
	if h := w.Pod("kube-system/etcd"); h == nil || !h.HostNetwork {
		t.Fatalf("kube-system/etcd = %+v, want a hostNetwork pod", h)
	}
	if e.Isolated(w.Pod("kube-system/etcd"), netpol.Ingress) || e.Isolated(w.Pod("kube-system/etcd"), netpol.Egress) {
		t.Errorf("deny-all (podSelector {}) isolates the hostNetwork pod; NetworkPolicy does not select them")
	}
	cases := []struct {
		from, to string
		port     int32
		proto    string
		want     bool
	}{
		{"kube-system/etcd", "kube-system/dns", 53, "UDP", false},  // namespaceSelector {} matches pods, not nodes
		{"kube-system/etcd", "kube-system/dns", 9153, "TCP", true}, // the ipBlock matches the node's address
		{"x/a", "kube-system/dns", 53, "UDP", true},
		{"x/a", "kube-system/etcd", 2379, "TCP", false}, // a's egress admits pods only
		{"kube-system/dns", "kube-system/etcd", 2379, "TCP", false},
		{"172.18.0.3", "kube-system/dns", 9153, "TCP", true},
	}
	for _, c := range cases {
		x := e.Explain(ep(t, w, c.from), ep(t, w, c.to), c.port, proto(c.proto))
		if x.Allowed != c.want {
			t.Errorf("%s -> %s:%d/%s allowed = %v, want %v\n%s", c.from, c.to, c.port, c.proto, x.Allowed, c.want, explainText(t, x))
		}
		if got := e.Decide(ep(t, w, c.from), ep(t, w, c.to), c.port, proto(c.proto)); got.Allowed != c.want || got.Undecided != "" {
			t.Errorf("Decide %s -> %s:%d/%s = %+v, want allowed %v", c.from, c.to, c.port, c.proto, got, c.want)
		}
	}
	x := e.Explain(ep(t, w, "kube-system/etcd"), ep(t, w, "kube-system/dns"), 53, proto("UDP"))
	text := explainText(t, x)
	for _, want := range []string{"kube-system/etcd uses the host network", "node traffic", "only ipBlock peers match"} {
		if !strings.Contains(text, want) {
			t.Errorf("explain text lacks %q:\n%s", want, text)
		}
	}
	if x.Egress != nil {
		t.Errorf("explain has an egress side for the hostNetwork source: %+v", x.Egress)
	}
	y := e.Explain(ep(t, w, "172.18.0.3"), ep(t, w, "kube-system/dns"), 9153, tcp)
	if len(y.Notes) == 0 || !strings.Contains(y.Notes[0], "node n1") {
		t.Errorf("explain from the node's address: notes %q, want one saying it is node n1's", y.Notes)
	}
	// The dataplane lowering skips the node's pods: they have no veth.
	dp, err := e.Lower()
	if err != nil {
		t.Fatal(err)
	}
	for ip := range dp.Endpoints {
		if ip.String() == "172.18.0.3" {
			t.Errorf("Lower made an endpoint for the node's address")
		}
	}
}

// TestSummaryCountsUndecided checks that -o summary never counts an
// undecided cell as blocked: its totals agree with the matrix's cells.
// (Before the summary learnt the third answer, x/a -> x/b was "blocked".)
func TestSummaryCountsUndecided(t *testing.T) {
	ipBlockToB := policyYAML("x", "b-from-cidr", `{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}`)
	w := addressWorld(t, ipBlockToB)
	e := netpol.New(w)
	var allowed, blocked, undecided int
	for _, c := range e.Matrix().Results {
		switch {
		case c.Undecided():
			undecided++
		case c.Allowed:
			allowed++
		default:
			blocked++
		}
	}
	if undecided == 0 {
		t.Fatal("the world has no undecided cell: the test proves nothing")
	}
	sum := e.Summarize(w.Pods, w.Pods)
	if sum.Allowed != allowed || sum.Blocked != blocked || sum.Undecided != undecided {
		t.Fatalf("summary allowed/blocked/undecided = %d/%d/%d, matrix says %d/%d/%d",
			sum.Allowed, sum.Blocked, sum.Undecided, allowed, blocked, undecided)
	}
	var out strings.Builder
	if err := sum.WriteSummary(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "not decidable") {
		t.Errorf("summary text does not say some cells are not decidable:\n%s", out.String())
	}
}
