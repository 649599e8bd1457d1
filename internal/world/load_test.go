package world_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, paths ...string) (*world.World, string, error) {
	t.Helper()
	var notes strings.Builder
	w, err := world.Load(paths, &notes)
	return w, notes.String(), err
}

func mustLoad(t *testing.T, paths ...string) (*world.World, string) {
	t.Helper()
	w, notes, err := load(t, paths...)
	if err != nil {
		t.Fatalf("Load(%v): %v", paths, err)
	}
	if w == nil {
		t.Fatalf("Load(%v): nil world and no error", paths)
	}
	return w, notes
}

func types(np *networkingv1.NetworkPolicy) string {
	s := make([]string, len(np.Spec.PolicyTypes))
	for i, t := range np.Spec.PolicyTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ",")
}

const multiDoc = `# leading comment before any document
---
apiVersion: v1
kind: Namespace
metadata:
  name: shop   # trailing comment
  labels:
    team: blue
--- # a separator may carry a comment
# a document holding only comments is skipped
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  containers:
  - name: main
    image: nginx
    ports:
    - containerPort: 80
      name: http
    - containerPort: 53
      name: dns
      protocol: UDP
status:
  podIP: 10.0.0.5
---

---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-egress
  namespace: shop
spec:
  podSelector: {matchLabels: {app: web}}
  egress:
  - ports:
    - port: 53
      protocol: UDP
    - port: 8443
---
apiVersion: v1
kind: Pod
metadata:
  name: lonely            # no namespace: default
spec:
  containers: [{name: c, image: busybox}]
status: {podIP: 10.0.0.6}
---
`

func TestLoadMultiDocumentYAML(t *testing.T) {
	p := writeFile(t, t.TempDir(), "world.yaml", multiDoc)
	w, _ := mustLoad(t, p)

	if len(w.Pods) != 2 || len(w.Policies) != 1 {
		t.Fatalf("got %d pods and %d policies, want 2 and 1", len(w.Pods), len(w.Policies))
	}
	ns := w.Namespace("shop")
	if ns == nil {
		t.Fatalf("namespace shop missing")
	}
	if ns.Implied {
		t.Errorf("namespace shop was declared, but is marked implied")
	}
	if ns.Labels["team"] != "blue" || ns.Labels[world.NamespaceNameLabel] != "shop" {
		t.Errorf("namespace shop labels = %v, want team=blue and %s=shop", ns.Labels, world.NamespaceNameLabel)
	}
	if d := w.Namespace("default"); d == nil || !d.Implied || d.Labels[world.NamespaceNameLabel] != "default" {
		t.Errorf("namespace default (implied by the pod without a namespace) = %+v", d)
	}

	pod := w.Pod("shop/web")
	if pod == nil {
		t.Fatalf("pod shop/web missing")
	}
	if pod.IP != netip.MustParseAddr("10.0.0.5") || pod.IPAssigned {
		t.Errorf("pod shop/web IP = %s (assigned %v), want 10.0.0.5 from status.podIP", pod.IP, pod.IPAssigned)
	}
	if pod.Labels["app"] != "web" {
		t.Errorf("pod labels = %v", pod.Labels)
	}
	wantPorts := []world.Port{{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}, {Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}
	if fmt.Sprint(pod.Ports) != fmt.Sprint(wantPorts) {
		t.Errorf("pod ports = %+v, want %+v (containerPort protocol defaults to TCP)", pod.Ports, wantPorts)
	}
	if hp, ok := pod.NamedPort("http", corev1.ProtocolTCP); !ok || hp.Port != 80 {
		t.Errorf("NamedPort(http, TCP) = %+v, %v", hp, ok)
	}
	if w.Pod("default/lonely") == nil {
		t.Errorf("a pod without metadata.namespace belongs to default")
	}

	np := w.Policy("shop", "web-egress")
	if np == nil {
		t.Fatalf("policy shop/web-egress missing")
	}
	// API server defaulting: Ingress always, Egress because egress rules exist;
	// protocol TCP where omitted.
	if got := types(np); got != "Ingress,Egress" {
		t.Errorf("defaulted policyTypes = %s, want Ingress,Egress", got)
	}
	if p := np.Spec.Egress[0].Ports[1].Protocol; p == nil || *p != corev1.ProtocolTCP {
		t.Errorf("defaulted protocol of egress[0].ports[1] = %v, want TCP", p)
	}
}

func TestLoadDocumentSeparatorWithCRLF(t *testing.T) {
	content := strings.ReplaceAll("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n", "\n", "\r\n")
	w, _ := mustLoad(t, writeFile(t, t.TempDir(), "crlf.yaml", content))
	if w.Namespace("a") == nil || w.Namespace("b") == nil {
		t.Errorf("CRLF multi-document file: namespaces = %+v", w.Namespaces)
	}
}

// YAML allows a document's content to start on its "---" line. Such content
// must be read (or rejected), never silently dropped.
func TestLoadContentOnSeparatorLine(t *testing.T) {
	content := "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n--- {apiVersion: v1, kind: Namespace, metadata: {name: b}}\n"
	w, _, err := load(t, writeFile(t, t.TempDir(), "inline.yaml", content))
	if err != nil {
		return // rejecting it is acceptable
	}
	if w.Namespace("a") == nil || w.Namespace("b") == nil {
		var names []string
		for _, ns := range w.Namespaces {
			names = append(names, ns.Name)
		}
		t.Errorf("namespace b, written on the --- line, was silently dropped: namespaces %v", names)
	}
}

func TestLoadJSON(t *testing.T) {
	dir := t.TempDir()
	single := writeFile(t, dir, "pod.json", `{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {"name": "api", "namespace": "shop", "labels": {"app": "api"}},
  "spec": {"containers": [{"name": "api", "image": "api", "ports": [{"name": "grpc", "containerPort": 9090}]}]},
  "status": {"podIP": "10.0.0.9"}
}`)
	list := writeFile(t, dir, "list.json", `{
  "apiVersion": "v1",
  "kind": "List",
  "metadata": {"resourceVersion": ""},
  "items": [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"tier": "gold"}}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
     "metadata": {"name": "deny", "namespace": "shop"},
     "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
  ]
}`)
	w, _ := mustLoad(t, single, list)
	if p := w.Pod("shop/api"); p == nil || p.IP != netip.MustParseAddr("10.0.0.9") || len(p.Ports) != 1 || p.Ports[0].Name != "grpc" {
		t.Errorf("pod from JSON = %+v", p)
	}
	if ns := w.Namespace("shop"); ns == nil || ns.Labels["tier"] != "gold" || ns.Implied {
		t.Errorf("namespace from a JSON List = %+v", ns)
	}
	if np := w.Policy("shop", "deny"); np == nil || types(np) != "Ingress,Egress" {
		t.Errorf("policy from a JSON List = %+v", np)
	}
}

func TestLoadKubectlGetList(t *testing.T) {
	w, notes := mustLoad(t, filepath.Join("testdata", "kubectl-get-all.yaml"))
	if len(w.Namespaces) != 2 || len(w.Pods) != 2 || len(w.Services) != 2 || len(w.Policies) != 1 {
		t.Fatalf("got %d namespaces, %d pods, %d services, %d policies; want 2, 2, 2, 1",
			len(w.Namespaces), len(w.Pods), len(w.Services), len(w.Policies))
	}
	if strings.Contains(notes, "status.podIP") {
		t.Errorf("every pod has status.podIP, yet notes say IPs were assigned: %s", notes)
	}
	web := w.Pod("shop/web-6d4b8f7c9d-x2x7q")
	if web == nil {
		t.Fatalf("pod shop/web-6d4b8f7c9d-x2x7q missing")
	}
	if web.IP != netip.MustParseAddr("10.244.1.7") || web.IPAssigned {
		t.Errorf("web IP = %s (assigned %v), want 10.244.1.7", web.IP, web.IPAssigned)
	}
	if web.Node != "kind-worker" {
		t.Errorf("web node = %q, want kind-worker", web.Node)
	}
	if hp, ok := web.NamedPort("http", corev1.ProtocolTCP); !ok || hp.Port != 8080 {
		t.Errorf("web named port http = %+v %v, want 8080", hp, ok)
	}
	if c := w.Pod("default/client"); c == nil || c.IP != netip.MustParseAddr("10.244.2.4") || len(c.Ports) != 0 {
		t.Errorf("default/client = %+v", c)
	}
	svc := (*world.Service)(nil)
	for _, s := range w.Services {
		if s.Key() == "shop/web" {
			svc = s
		}
	}
	if svc == nil || svc.ClusterIP != netip.MustParseAddr("10.96.12.34") || svc.IPAssigned || len(svc.Ports) != 1 || svc.Ports[0].TargetPort.StrVal != "http" {
		t.Errorf("service shop/web = %+v", svc)
	} else if eps := w.ServiceEndpoints(svc); len(eps) != 1 || eps[0] != web {
		t.Errorf("service shop/web endpoints = %v, want the web pod", eps)
	}
	np := w.Policy("shop", "web-from-default")
	if np == nil {
		t.Fatalf("policy shop/web-from-default missing")
	}
	if types(np) != "Ingress" || len(np.Spec.Ingress) != 1 || np.Spec.Ingress[0].Ports[0].Port.StrVal != "http" {
		t.Errorf("policy spec = %+v", np.Spec)
	}
	if ns := w.Namespace("shop"); ns == nil || ns.Labels["team"] != "shop" || ns.Implied {
		t.Errorf("namespace shop = %+v", ns)
	}
}

func TestLoadUnknownKindsIgnoredWithNote(t *testing.T) {
	p := writeFile(t, t.TempDir(), "mixed.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web-deploy, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {color: blue}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec: {containers: [{name: web, image: nginx}]}
status: {podIP: 10.0.0.5}
`)
	w, notes := mustLoad(t, p)
	if len(w.Pods) != 1 || w.Pod("shop/web") == nil {
		t.Errorf("pods = %+v, want shop/web only", w.Pods)
	}
	for _, want := range []string{"Deployment", "web-deploy", "ConfigMap", "settings", p} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes do not mention %q:\n%s", want, notes)
		}
	}
}

func TestAssignIPsDeterministic(t *testing.T) {
	dir := t.TempDir()
	f1 := writeFile(t, dir, "1.yaml", `apiVersion: v1
kind: Pod
metadata: {name: b, namespace: shop}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: fixed, namespace: shop}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.244.0.2}
`)
	f2 := writeFile(t, dir, "2.yaml", `apiVersion: v1
kind: Pod
metadata: {name: a, namespace: shop}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: other}
spec: {containers: [{name: c, image: i}]}
`)
	// Load gives no pod an address; AssignIPs (what the sandbox's worlds
	// get) gives the same ones whatever the file order.
	w1, _ := mustLoad(t, f1, f2)
	w2, _ := mustLoad(t, f2, f1) // other file order: same addresses
	var buf strings.Builder
	world.AssignIPs(w1, &buf)
	world.AssignIPs(w2, nil)
	notes := buf.String()

	for _, key := range []string{"shop/a", "shop/b", "other/c"} {
		p1, p2 := w1.Pod(key), w2.Pod(key)
		if p1 == nil || p2 == nil {
			t.Fatalf("pod %s missing", key)
		}
		if !p1.IPAssigned {
			t.Errorf("%s has no status.podIP but IPAssigned is false", key)
		}
		if !p1.IP.IsValid() || !world.DefaultPodCIDR.Contains(p1.IP) {
			t.Errorf("%s got IP %s, want one in %s", key, p1.IP, world.DefaultPodCIDR)
		}
		if p1.IP != p2.IP {
			t.Errorf("%s got %s and then %s from the same manifests: not deterministic", key, p1.IP, p2.IP)
		}
		if !strings.Contains(notes, key) {
			t.Errorf("notes do not report the address given to %s:\n%s", key, notes)
		}
	}
	if f := w1.Pod("shop/fixed"); f.IPAssigned || f.IP != netip.MustParseAddr("10.244.0.2") {
		t.Errorf("shop/fixed = %s (assigned %v), want its own 10.244.0.2", f.IP, f.IPAssigned)
	}
	seen := map[netip.Addr]string{}
	for _, p := range w1.Pods {
		if other, dup := seen[p.IP]; dup {
			t.Errorf("pods %s and %s share IP %s", other, p.Key(), p.IP)
		}
		seen[p.IP] = p.Key()
	}
	if !strings.Contains(notes, "status.podIP") {
		t.Errorf("notes should say the pods had no status.podIP:\n%s", notes)
	}
	// Name order ("namespace/name"): other/c < shop/a < shop/b.
	c, a, b := w1.Pod("other/c").IP, w1.Pod("shop/a").IP, w1.Pod("shop/b").IP
	if !(c.Less(a) && a.Less(b)) {
		t.Errorf("assigned IPs not in name order: other/c=%s shop/a=%s shop/b=%s", c, a, b)
	}
}

func TestLoadDuplicateNames(t *testing.T) {
	dir := t.TempDir()
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec: {containers: [{name: c, image: i}]}\n"
	f1 := writeFile(t, dir, "first.yaml", pod)
	f2 := writeFile(t, dir, "second.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"+pod)
	w, _, err := load(t, f1, f2)
	if err == nil || w != nil {
		t.Fatalf("duplicate pod shop/web in two files: got world %v, err %v; want an error and no world", w != nil, err)
	}
	msg := err.Error()
	for _, want := range []string{f1, f2, "shop/web", "Pod", "document 1", "line 5", "metadata.name"} {
		if !strings.Contains(msg, want) {
			t.Errorf("duplicate error does not mention %q:\n%s", want, msg)
		}
	}

	// Same file, two documents.
	f3 := writeFile(t, dir, "twice.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
	_, _, err = load(t, f3)
	if err == nil {
		t.Fatalf("duplicate namespace in one file: no error")
	}
	for _, want := range []string{"document 0", "document 1", "Namespace", "shop"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("duplicate error does not mention %q:\n%s", want, err)
		}
	}

	// Same name, different kinds or namespaces: not duplicates.
	f4 := writeFile(t, dir, "ok.yaml", pod+"---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n---\n"+
		strings.Replace(pod, "namespace: shop", "namespace: other", 1))
	if _, _, err := load(t, f4); err != nil {
		t.Errorf("pod shop/web, service shop/web and pod other/web are distinct objects: %v", err)
	}
}

func TestLoadDuplicatePodIPs(t *testing.T) {
	p := writeFile(t, t.TempDir(), "ips.yaml", `apiVersion: v1
kind: Pod
metadata: {name: one, namespace: shop}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.7}
---
apiVersion: v1
kind: Pod
metadata: {name: two, namespace: other}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.7}
`)
	w, _, err := load(t, p)
	if err == nil || w != nil {
		t.Fatalf("two pods with IP 10.0.0.7: got world %v, err %v; want an error and no world", w != nil, err)
	}
	for _, want := range []string{"shop/one", "other/two", "10.0.0.7", "status.podIP", p} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("duplicate IP error does not mention %q:\n%s", want, err)
		}
	}
}

// ---- validation -------------------------------------------------------------

// nsDoc is a valid first document, so the bad object is document 1 starting
// on line 6.
const nsDoc = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n"

func badPolicy(spec string) string {
	return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: bad\n  namespace: shop\nspec: " + spec + "\n"
}

func badPod(ports string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\n  namespace: shop\nspec:\n  containers:\n  - name: c\n    image: i\n    ports: " + ports + "\n"
}

func TestLoadValidationErrors(t *testing.T) {
	const np = "NetworkPolicy shop/bad"
	for _, tc := range []struct {
		name string
		doc  string   // document 1 of the file, after nsDoc
		want []string // besides file, "document 1" and "line 6"
	}{
		{"invalid CIDR", badPolicy(`{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]}`),
			[]string{np, "spec.ingress[0].from[0].ipBlock.cidr", "10.0.0.0/33"}},
		{"CIDR that is not a CIDR", badPolicy(`{podSelector: {}, egress: [{to: [{ipBlock: {cidr: not-an-ip}}]}]}`),
			[]string{np, "spec.egress[0].to[0].ipBlock.cidr"}},
		{"except outside cidr", badPolicy(`{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]}`),
			[]string{np, "spec.ingress[0].from[0].ipBlock.except[0]", "10.1.0.0/24"}},
		{"except equal to cidr", badPolicy(`{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24, 10.0.0.0/16]}}]}]}`),
			[]string{np, "spec.ingress[0].from[0].ipBlock.except[1]"}},
		{"except wider than cidr", badPolicy(`{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/8]}}]}]}`),
			[]string{np, "spec.ingress[0].from[0].ipBlock.except[0]"}},
		{"endPort without port", badPolicy(`{podSelector: {}, egress: [{ports: [{protocol: TCP, endPort: 90}]}]}`),
			[]string{np, "spec.egress[0].ports[0].endPort"}},
		{"endPort with a named port", badPolicy(`{podSelector: {}, ingress: [{ports: [{port: http, endPort: 90}]}]}`),
			[]string{np, "spec.ingress[0].ports[0].endPort"}},
		{"endPort below port", badPolicy(`{podSelector: {}, ingress: [{ports: [{port: 90, endPort: 80}]}]}`),
			[]string{np, "spec.ingress[0].ports[0].endPort"}},
		{"port out of range", badPolicy(`{podSelector: {}, ingress: [{ports: [{port: 70000}]}]}`),
			[]string{np, "spec.ingress[0].ports[0].port"}},
		{"unknown protocol", badPolicy(`{podSelector: {}, ingress: [{ports: [{port: 80, protocol: ICMP}]}]}`),
			[]string{np, "spec.ingress[0].ports[0].protocol", "ICMP"}},
		{"lower-case protocol is not TCP", badPolicy(`{podSelector: {}, ingress: [{ports: [{port: 80, protocol: tcp}]}]}`),
			[]string{np, "spec.ingress[0].ports[0].protocol"}},
		{"bad selector operator", badPolicy(`{podSelector: {matchExpressions: [{key: app, operator: Equals, values: [web]}]}}`),
			[]string{np, "spec.podSelector.matchExpressions[0].operator", "Equals"}},
		{"In with no values", badPolicy(`{podSelector: {}, ingress: [{from: [{podSelector: {matchExpressions: [{key: app, operator: In}]}}]}]}`),
			[]string{np, "spec.ingress[0].from[0].podSelector.matchExpressions[0].values"}},
		{"NotIn with no values in namespaceSelector", badPolicy(`{podSelector: {}, ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: env, operator: NotIn, values: []}]}}]}]}`),
			[]string{np, "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values"}},
		{"Exists with values", badPolicy(`{podSelector: {}, egress: [{to: [{podSelector: {matchExpressions: [{key: app, operator: Exists, values: [web]}]}}]}]}`),
			[]string{np, "spec.egress[0].to[0].podSelector.matchExpressions[0].values"}},
		{"invalid label value in matchLabels", badPolicy(`{podSelector: {matchLabels: {app: "not valid!"}}}`),
			[]string{np, "spec.podSelector.matchLabels"}},
		{"named port too long", badPolicy(`{podSelector: {}, ingress: [{ports: [{port: this-name-is-too-long}]}]}`),
			[]string{np, "spec.ingress[0].ports[0].port", "this-name-is-too-long"}},
		{"named port with bad characters", badPolicy(`{podSelector: {}, ingress: [{ports: [{port: HTTP_1}]}]}`),
			[]string{np, "spec.ingress[0].ports[0].port", "HTTP_1"}},
		{"named port with no letter", badPolicy(`{podSelector: {}, ingress: [{ports: [{port: "80-81"}]}]}`),
			[]string{np, "spec.ingress[0].ports[0].port"}},
		{"peer with ipBlock and podSelector", badPolicy(`{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]}`),
			[]string{np, "spec.ingress[0].from[0]"}},
		{"peer with ipBlock and namespaceSelector", badPolicy(`{podSelector: {}, egress: [{to: [{}, {ipBlock: {cidr: 10.0.0.0/8}, namespaceSelector: {}}]}]}`),
			[]string{np, "spec.egress[0].to[1]"}},
		{"empty peer", badPolicy(`{podSelector: {}, ingress: [{from: [{podSelector: {}}, {}]}]}`),
			[]string{np, "spec.ingress[0].from[1]"}},
		{"bad policyTypes value", badPolicy(`{podSelector: {}, policyTypes: [Ingress, Egres]}`),
			[]string{np, "spec.policyTypes[1]", "Egres"}},
		{"three policyTypes", badPolicy(`{podSelector: {}, policyTypes: [Ingress, Egress, Ingress]}`),
			[]string{np, "spec.policyTypes", "may not specify more than two policyTypes"}},
		{"unknown field", badPolicy(`{podSelectr: {}}`),
			[]string{np, "spec.podSelectr"}},
		{"unknown nested field", badPolicy(`{podSelector: {}, ingress: [{from: [{podSelector: {matchLabel: {app: web}}}]}]}`),
			[]string{np, "matchLabel"}},
		{"policy name invalid", strings.Replace(badPolicy(`{podSelector: {}}`), "name: bad", "name: Bad_Policy", 1),
			[]string{"NetworkPolicy", "Bad_Policy", "metadata.name"}},
		{"wrong apiVersion for NetworkPolicy", strings.Replace(badPolicy(`{podSelector: {}}`), "networking.k8s.io/v1", "extensions/v1beta1", 1),
			[]string{np, "apiVersion", "extensions/v1beta1"}},
		{"beta apiVersion for NetworkPolicy", strings.Replace(badPolicy(`{podSelector: {}}`), "networking.k8s.io/v1", "networking.k8s.io/v1beta1", 1),
			[]string{np, "apiVersion"}},
		{"pod port name too long", badPod(`[{name: this-name-is-too-long, containerPort: 80}]`),
			[]string{"Pod shop/bad", "spec.containers[0].ports[0].name"}},
		{"pod port name with bad characters", badPod(`[{name: web_port, containerPort: 80}]`),
			[]string{"Pod shop/bad", "spec.containers[0].ports[0].name"}},
		{"pod port out of range", badPod(`[{containerPort: 0}]`),
			[]string{"Pod shop/bad", "spec.containers[0].ports[0].containerPort"}},
		{"pod port unknown protocol", badPod(`[{containerPort: 80, protocol: ICMP}]`),
			[]string{"Pod shop/bad", "spec.containers[0].ports[0].protocol"}},
		{"pod duplicate port name", badPod(`[{name: http, containerPort: 80}, {name: http, containerPort: 81}]`),
			[]string{"Pod shop/bad", "spec.containers[0].ports[1].name"}},
		{"pod invalid podIP", badPod(`[]`) + "status: {podIP: 10.0.0.999}\n",
			[]string{"Pod shop/bad", "status.podIP"}},
		{"pod IP with a zone", badPod(`[]`) + "status: {podIP: \"fe80::1%eth0\"}\n",
			[]string{"Pod shop/bad", `status.podIP: Invalid value: "fe80::1%eth0": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`}},
		{"pod IPs entry with a zone", badPod(`[]`) + "status: {podIPs: [{ip: \"fe80::1%eth0\"}]}\n",
			[]string{"Pod shop/bad", `status.podIPs[0].ip`}},
		{"service clusterIP with a zone", "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\n  namespace: shop\nspec: {clusterIP: \"fe80::1%eth0\", ports: [{port: 80}]}\n",
			[]string{"Service shop/bad", "spec.clusterIP"}},
		{"pod invalid label", strings.Replace(badPod(`[]`), "  namespace: shop\n", "  namespace: shop\n  labels: {\"bad key!\": x}\n", 1),
			[]string{"Pod shop/bad", "metadata.labels"}},
		{"pod unknown field", strings.Replace(badPod(`[]`), "    image: i\n", "    image: i\n    imagePullPolicyy: Always\n", 1),
			[]string{"Pod shop/bad", "spec.containers[0].imagePullPolicyy"}},
		{"pod wrong apiVersion", strings.Replace(badPod(`[]`), "apiVersion: v1", "apiVersion: apps/v1", 1),
			[]string{"Pod shop/bad", "apiVersion"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := writeFile(t, dir, "bad.yaml", nsDoc+tc.doc)
			w, _, err := load(t, p)
			if err == nil {
				t.Fatalf("Load accepted the invalid object:\n%s", tc.doc)
			}
			if w != nil {
				t.Errorf("Load returned a world along with the error")
			}
			msg := err.Error()
			for _, want := range append([]string{p, "document 1", "line 6"}, tc.want...) {
				if !strings.Contains(msg, want) {
					t.Errorf("error does not mention %q:\n%s", want, msg)
				}
			}
			if strings.Contains(msg, "document 0") {
				t.Errorf("the valid namespace (document 0) is blamed:\n%s", msg)
			}
		})
	}
}

func TestLoadMissingKind(t *testing.T) {
	p := writeFile(t, t.TempDir(), "nokind.yaml", nsDoc+"apiVersion: v1\nmetadata:\n  name: web\n  namespace: shop\nspec: {containers: [{name: c, image: i}]}\n")
	w, _, err := load(t, p)
	if err == nil || w != nil {
		t.Fatalf("object without kind: world %v, err %v; want an error and no world", w != nil, err)
	}
	msg := err.Error()
	for _, want := range []string{p, "document 1", "line 6", "shop/web"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
	if !strings.Contains(strings.ToLower(msg), "kind") {
		t.Errorf("error does not name the missing field kind:\n%s", msg)
	}
}

func TestLoadMalformedYAMLLineCountsFromFileStart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		doc     string
		line    string // the bad line, counted from the start of the file
	}{
		{
			// line 9 of the file is line 4 of document 1
			name:    "tab indentation",
			content: nsDoc + "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: web\n",
			doc:     "document 1",
			line:    "line 9",
		},
		{
			// line 13 of the file is line 3 of document 2
			name:    "duplicate key",
			content: nsDoc + "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: two\n---\napiVersion: v1\nkind: Namespace\nkind: Namespace\nmetadata: {name: three}\n",
			doc:     "document 2",
			line:    "line 13",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "broken.yaml", tc.content)
			w, _, err := load(t, p)
			if err == nil || w != nil {
				t.Fatalf("malformed YAML: world %v, err %v; want an error and no world", w != nil, err)
			}
			for _, want := range []string{p, tc.doc, tc.line} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %q:\n%s", want, err)
				}
			}
		})
	}
}

// YAML *parser* errors (as opposed to scanner errors such as a tab, or
// decoder errors such as a duplicate key) must also name the line the
// problem is on. go.yaml.in/yaml/v2 reports problem_mark.line for them
// without adding 1 (its parser.fail only adds 1 for scanner errors), so the
// raw number is the line before the bad one; the reader has to correct for
// that to point the learner at the right line.
func TestLoadMalformedYAMLParserErrorLine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		doc     string
		line    string
	}{
		{
			name:    "unclosed flow sequence in the first document",
			content: "# comment\napiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: [a, b}\n",
			doc:     "document 0",
			line:    "line 4",
		},
		{
			// line 8 of the file is line 3 of document 1
			name:    "unclosed flow sequence in a later document",
			content: nsDoc + "apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: [a, b}\n",
			doc:     "document 1",
			line:    "line 8",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), "broken.yaml", tc.content)
			w, _, err := load(t, p)
			if err == nil || w != nil {
				t.Fatalf("malformed YAML: world %v, err %v; want an error and no world", w != nil, err)
			}
			for _, want := range []string{p, tc.doc, tc.line} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %q:\n%s", want, err)
				}
			}
		})
	}
}

func TestLoadListItemErrorNamesItem(t *testing.T) {
	p := writeFile(t, t.TempDir(), "list.yaml", `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: shop}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: bad, namespace: shop}
  spec:
    podSelector: {}
    ingress:
    - from:
      - ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}
`)
	_, _, err := load(t, p)
	if err == nil {
		t.Fatalf("bad List item accepted")
	}
	for _, want := range []string{p, "items[1]", "NetworkPolicy shop/bad", "spec.ingress[0].from[0].ipBlock.except[0]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%s", want, err)
		}
	}
}

func TestLoadOneBadObjectMeansNoWorld(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", nsDoc+"apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec: {containers: [{name: c, image: i}]}\n")
	bad1 := writeFile(t, dir, "bad1.yaml", badPolicy(`{podSelector: {}, policyTypes: [Sideways]}`))
	bad2 := writeFile(t, dir, "bad2.yaml", badPod(`[{containerPort: 99999}]`))
	w, notes, err := load(t, good, bad1, bad2)
	if err == nil {
		t.Fatalf("Load with bad objects returned no error")
	}
	if w != nil {
		t.Fatalf("Load with bad objects returned a world (%d pods, %d policies): nothing may be half-evaluated", len(w.Pods), len(w.Policies))
	}
	// Every problem is reported, not just the first.
	for _, want := range []string{bad1, "spec.policyTypes[0]", bad2, "spec.containers[0].ports[0].containerPort"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%s", want, err)
		}
	}
	if strings.Contains(err.Error(), good) {
		t.Errorf("the good file is blamed:\n%s", err)
	}
	if strings.Contains(notes, "status.podIP") {
		t.Errorf("IPs were assigned (world half-built) despite the errors: %s", notes)
	}

	// Parse has the same contract.
	objs, err := world.Parse("mem.yaml", []byte(nsDoc+badPolicy(`{podSelector: {}, ingress: [{from: [{}]}]}`)), nil)
	if err == nil || objs != nil {
		t.Errorf("Parse of a bad policy: objs %v, err %v; want an error and nothing decoded", objs != nil, err)
	} else if !strings.Contains(err.Error(), "mem.yaml") || !strings.Contains(err.Error(), "spec.ingress[0].from[0]") {
		t.Errorf("Parse error = %v", err)
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "b/pods.yml", "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec: {containers: [{name: c, image: i}]}\n")
	writeFile(t, dir, "a/ns.json", `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}`)
	writeFile(t, dir, "README.md", "not a manifest: ---\n:::\n")
	w, _ := mustLoad(t, dir)
	if w.Pod("shop/web") == nil || w.Namespace("shop") == nil || w.Namespace("shop").Implied {
		t.Errorf("directory load: pods %+v namespaces %+v", w.Pods, w.Namespaces)
	}
}

func TestLoadMissingFile(t *testing.T) {
	if w, _, err := load(t, filepath.Join(t.TempDir(), "nope.yaml")); err == nil || w != nil {
		t.Errorf("missing file: world %v, err %v", w != nil, err)
	}
}

func TestPodSelected(t *testing.T) {
	p := &world.Pod{Namespace: "shop", Name: "db"}
	for _, tc := range []struct {
		filters []string
		want    bool
	}{
		{nil, true},
		{[]string{"shop/db"}, true},
		{[]string{"db"}, true},
		{[]string{"shop/"}, true},
		{[]string{"shop/*"}, true},
		{[]string{"other/", "shop/db"}, true},
		{[]string{"shop/api"}, false},
		{[]string{"other/db"}, false},
		{[]string{"shop"}, false},
		{[]string{"sho"}, false},
	} {
		if got := p.Selected(tc.filters); got != tc.want {
			t.Errorf("Selected(%q) = %v, want %v", tc.filters, got, tc.want)
		}
	}
}

// What the API server accepts, netlab accepts (before, each of these was
// rejected).
func TestLoadAcceptsWhatTheAPIServerAccepts(t *testing.T) {
	p := writeFile(t, t.TempDir(), "ok.yaml", `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
  - name: app
    ports: [{name: http, containerPort: 8080}]
  - name: sidecar
    ports: [{name: http, containerPort: 9090}]
status: {podIP: 10.0.0.5}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: twice, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress, Ingress]}
`)
	w, _ := mustLoad(t, p)
	if pod := w.Pod("shop/web"); pod == nil || len(pod.Ports) != 2 {
		t.Errorf("pod with the same port name in two containers: %+v", pod)
	}
	if np := w.Policy("shop", "twice"); np == nil || types(np) != "Ingress,Ingress" {
		t.Errorf("policyTypes [Ingress, Ingress]: %+v", np)
	}
}

// The API server warns about a CIDR with host bits set and about
// non-standard addresses; so does netlab, on the notes (stderr).
func TestLoadWarnsLikeTheAPIServer(t *testing.T) {
	p := writeFile(t, t.TempDir(), "warn.yaml", `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: hostbits, namespace: shop}
spec:
  podSelector: {}
  ingress:
  - from: [{ipBlock: {cidr: 10.0.0.1/8, except: [10.1.2.3/16]}}]
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec: {containers: [{name: c}]}
status: {podIP: "::ffff:10.0.0.1"}
`)
	w, notes := mustLoad(t, p)
	for _, want := range []string{
		`Warning: ` + p + `: document 0 (line 1): NetworkPolicy shop/hostbits: spec.ingress[0].from[0].ipBlock.cidr: CIDR value "10.0.0.1/8" is ambiguous in this context (should be "10.0.0.0/8" or "10.0.0.1/32"?)`,
		`spec.ingress[0].from[0].ipBlock.except[0]: CIDR value "10.1.2.3/16" is ambiguous`,
		`Warning: ` + p + `: document 1 (line 9): Pod shop/web: status.podIP: non-standard IP address "::ffff:10.0.0.1" will be considered invalid in a future Kubernetes release: use "10.0.0.1"`,
	} {
		if !strings.Contains(notes, want+"") {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if pod := w.Pod("shop/web"); pod == nil || pod.IP != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("IPv4-mapped pod IP not normalised: %+v", pod)
	}
}

// Before: ::ffff:10.0.0.1 and 10.0.0.1 were two pods with two addresses.
func TestLoadIPv4MappedIsTheSameAddress(t *testing.T) {
	p := writeFile(t, t.TempDir(), "dup.yaml", `apiVersion: v1
kind: Pod
metadata: {name: a, namespace: shop}
spec: {containers: [{name: c}]}
status: {podIP: "10.0.0.1"}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: shop}
spec: {containers: [{name: c}]}
status: {podIP: "::ffff:10.0.0.1"}
`)
	_, _, err := load(t, p)
	if err == nil || !strings.Contains(err.Error(), "status.podIP: Duplicate value") {
		t.Errorf("two pods with the same address (one IPv4-mapped): err %v", err)
	}
}

// Before: a containerPort listed twice gave two identical ports (and two
// identical sim rows).
func TestLoadDuplicateContainerPortIsOnePort(t *testing.T) {
	p := writeFile(t, t.TempDir(), "ports.yaml", `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
  - name: app
    ports: [{containerPort: 80}, {containerPort: 80, protocol: TCP}, {containerPort: 80, protocol: UDP}]
  - name: sidecar
    ports: [{containerPort: 80, name: http}]
`)
	w, _ := mustLoad(t, p)
	pod := w.Pod("shop/web")
	if pod == nil || fmt.Sprint(pod.Ports) != "[80/TCP 80/UDP]" || pod.Ports[0].Name != "http" {
		t.Fatalf("ports %+v, want 80/TCP (named http) and 80/UDP once each", pod.Ports)
	}
}
