package worldgen

import (
	"reflect"
	"testing"

	"github.com/netlab/netlab/internal/world"
)

func TestGeneratedWorldsAreValid(t *testing.T) {
	for seed := int64(0); seed < 200; seed++ {
		w := Generate(seed, Options{Namespaces: 3, Pods: 8, Policies: 4})
		if len(w.Pods) != 8 || len(w.Policies) != 4 {
			t.Fatalf("seed %d: got %d pods, %d policies", seed, len(w.Pods), len(w.Policies))
		}
		seen := map[string]bool{}
		for _, p := range w.Pods {
			if !p.IP.IsValid() || seen[p.IP.String()] {
				t.Fatalf("seed %d: pod %s has bad or duplicate IP %v", seed, p.Key(), p.IP)
			}
			seen[p.IP.String()] = true
		}
		for _, np := range w.Policies {
			if errs := world.ValidateNetworkPolicy(np); len(errs) > 0 {
				t.Fatalf("seed %d: policy %s/%s invalid: %v", seed, np.Namespace, np.Name, errs)
			}
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a := Generate(42, Options{Namespaces: 2, Pods: 10, Policies: 5})
	b := Generate(42, Options{Namespaces: 2, Pods: 10, Policies: 5})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different worlds")
	}
	c := Generate(43, Options{Namespaces: 2, Pods: 10, Policies: 5})
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same world")
	}
}
