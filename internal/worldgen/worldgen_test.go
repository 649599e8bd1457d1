package worldgen

import (
	"bytes"
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

// TestWriteManifestRoundTrips: what WriteManifest writes reads back, through
// the same reader as 'netlab sim -f', as the world it was written from.
func TestWriteManifestRoundTrips(t *testing.T) {
	for seed := int64(0); seed < 20; seed++ {
		w := Generate(seed, Options{Namespaces: 3, Pods: 12, Policies: 6})
		var buf bytes.Buffer
		if err := WriteManifest(&buf, w); err != nil {
			t.Fatal(err)
		}
		objs, err := world.Parse("gen.yaml", buf.Bytes(), nil)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		got, err := world.Build(objs, nil)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if !reflect.DeepEqual(got.Namespaces, w.Namespaces) {
			t.Fatalf("seed %d: namespaces differ:\n got %v\nwant %v", seed, got.Namespaces, w.Namespaces)
		}
		if !reflect.DeepEqual(got.Pods, w.Pods) {
			t.Fatalf("seed %d: pods differ", seed)
		}
		if len(got.Policies) != len(w.Policies) {
			t.Fatalf("seed %d: %d policies, want %d", seed, len(got.Policies), len(w.Policies))
		}
		for i, np := range got.Policies {
			if want := w.Policies[i]; np.Namespace != want.Namespace || np.Name != want.Name || !reflect.DeepEqual(np.Spec, want.Spec) {
				t.Fatalf("seed %d: policy %s/%s differs:\n got %+v\nwant %+v", seed, np.Namespace, np.Name, np.Spec, want.Spec)
			}
		}
	}
}
