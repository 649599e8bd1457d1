package world_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// FuzzParse feeds arbitrary bytes to the manifest reader: it must return a
// world or an error, never panic; a world it returns must only hold valid
// policies; and it must never lose an object: every Namespace, Pod, Service
// and NetworkPolicy that an independent, simple reader finds in the input
// (whole documents, no streaming) is in what Parse returns, or Parse fails.
func FuzzParse(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {app: a}}\nspec:\n  containers:\n  - name: c\n    ports: [{containerPort: 80, name: http}]\n"))
	f.Add([]byte("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]\n    ports: [{port: 80, endPort: 90}]\n"))
	f.Add([]byte("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\"}}]}"))
	f.Add([]byte("---\n---\nkind: Deployment\n"))
	f.Add([]byte("a: [\n"))
	// A line longer than the reader's buffer, then a policy.
	f.Add([]byte("# " + strings.Repeat("x", 200<<10) + "\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: x}\nspec: {podSelector: {}}\n"))
	// Compact JSON Lists (kind after items, as kubectl prints), one object
	// per line, pretty JSON, JSON then YAML.
	f.Add([]byte(`{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}},{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"x"},"spec":{"containers":[{"name":"c"}]},"status":{"podIP":"10.0.0.1"}},{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"d","namespace":"x"},"spec":{"podSelector":{}}}],"kind":"List","metadata":{"resourceVersion":""}}`))
	f.Add([]byte("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}}\n{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"b\"}}\n"))
	f.Add([]byte("{\n  \"apiVersion\": \"v1\",\n  \"items\": [\n    {\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}}\n  ],\n  \"kind\": \"NamespaceList\"\n}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n"))
	f.Add([]byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"},"items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}]}`))
	// YAML anchors, aliases and merge keys.
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- &ns {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n- *ns\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- &base\n  apiVersion: v1\n  kind: Pod\n  metadata: &m {name: a, namespace: x}\n  spec: {containers: [{name: c}]}\n- <<: *base\n  metadata: {name: b, namespace: x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := world.Parse("fuzz.yaml", data, nil)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the input: %v", err)
			}
			return
		}
		if want, ok := referenceObjects(data); ok {
			if got := parsedObjects(objs); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("Parse returned no error but not every object:\n got  %v\n want %v", got, want)
			}
		}
		w, err := world.Build(objs, nil)
		if err != nil {
			return
		}
		for _, np := range w.Policies {
			if errs := world.ValidateNetworkPolicy(np); len(errs) > 0 {
				t.Fatalf("invalid policy accepted: %v", errs)
			}
		}
		// Whatever the reader accepts, the engine must digest.
		e := netpol.New(w)
		for _, c := range e.Matrix().Results {
			src, dst := netpol.PodEndpoint(w.Pod(c.From)), netpol.PodEndpoint(w.Pod(c.To))
			if x := e.Explain(src, dst, c.Port, corev1.Protocol(c.Protocol)); x.Allowed != c.Allowed {
				t.Fatalf("%s: matrix %v, explain %v", c.Key(), c.Allowed, x.Allowed)
			}
		}
	})
}

func parsedObjects(objs *world.Objects) []string {
	var keys []string
	for _, o := range objs.Namespaces {
		keys = append(keys, "Namespace//"+o.Obj.Name)
	}
	for _, o := range objs.Pods {
		keys = append(keys, "Pod/"+o.Obj.Namespace+"/"+o.Obj.Name)
	}
	for _, o := range objs.Services {
		keys = append(keys, "Service/"+o.Obj.Namespace+"/"+o.Obj.Name)
	}
	for _, o := range objs.Policies {
		keys = append(keys, "NetworkPolicy/"+o.Obj.Namespace+"/"+o.Obj.Name)
	}
	sort.Strings(keys)
	return keys
}

// referenceObjects is the fuzz test's own reader, as simple as possible:
// split the whole input at "---" lines, decode each document whole (a
// stream of JSON values, or else YAML) and list the objects of the four kinds
// netlab reads, recursing into Lists. ok is false when it cannot read the
// input, which then proves nothing.
func referenceObjects(data []byte) (keys []string, ok bool) {
	var docs [][]byte
	var cur []byte
	for _, line := range strings.SplitAfter(string(data), "\n") {
		body := strings.TrimRight(strings.TrimSuffix(line, "\n"), "\r")
		if body == "---" || strings.HasPrefix(body, "--- ") || strings.HasPrefix(body, "---\t") {
			docs = append(docs, cur)
			cur = nil
			if rest := strings.TrimSpace(body[3:]); rest != "" {
				cur = []byte(rest + "\n")
			}
			continue
		}
		cur = append(cur, line...)
	}
	docs = append(docs, cur)
	for _, doc := range docs {
		// JSON first: the YAML library reads only the first of several
		// JSON values and ignores the rest.
		var values []any
		dec := json.NewDecoder(bytes.NewReader(doc))
		for {
			var v any
			if err := dec.Decode(&v); err == io.EOF {
				break
			} else if err != nil {
				values = nil
				if err := yaml.Unmarshal(doc, &v); err != nil {
					return nil, false
				}
				values = []any{v}
				break
			}
			values = append(values, v)
		}
		for _, v := range values {
			keys = appendObjects(keys, v)
		}
	}
	sort.Strings(keys)
	return keys, true
}

func appendObjects(keys []string, v any) []string {
	m, _ := v.(map[string]any)
	kind, _ := m["kind"].(string)
	if items, isList := m["items"].([]any); isList && strings.HasSuffix(kind, "List") {
		for _, it := range items {
			keys = appendObjects(keys, it)
		}
		return keys
	}
	meta, _ := m["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	switch kind {
	case "Namespace":
		return append(keys, "Namespace//"+name)
	case "Pod", "Service", "NetworkPolicy":
		if ns == "" {
			ns = "default"
		}
		return append(keys, kind+"/"+ns+"/"+name)
	}
	return keys
}
