package world_test

import (
	"testing"

	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
)

// FuzzParse feeds arbitrary bytes to the manifest reader: it must return a
// world or an error, never panic, and a world it returns must only hold
// valid policies.
func FuzzParse(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {app: a}}\nspec:\n  containers:\n  - name: c\n    ports: [{containerPort: 80, name: http}]\n"))
	f.Add([]byte("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]\n    ports: [{port: 80, endPort: 90}]\n"))
	f.Add([]byte("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\"}}]}"))
	f.Add([]byte("---\n---\nkind: Deployment\n"))
	f.Add([]byte("a: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := world.Parse("fuzz.yaml", data, nil)
		if err != nil {
			return
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
