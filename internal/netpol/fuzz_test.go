package netpol_test

import (
	"encoding/binary"
	"testing"

	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/worldgen"
)

// FuzzEngine builds random worlds from the fuzzer's bytes and checks that
// nothing panics and that Explain and Allowed never disagree, for every
// cell of the matrix and for an external address.
func FuzzEngine(f *testing.F) {
	for _, s := range []uint64{0, 1, 7, 42, 1234} {
		f.Add(s, uint8(3), uint8(6), uint8(4))
	}
	f.Fuzz(func(t *testing.T, seed uint64, nss, pods, pols uint8) {
		o := worldgen.Options{Namespaces: 1 + int(nss%4), Pods: 1 + int(pods%12), Policies: int(pols % 8)}
		w := worldgen.Generate(int64(seed), o)
		e := netpol.New(w)
		m := e.Matrix()
		for _, c := range m.Results {
			src, dst := netpol.PodEndpoint(w.Pod(c.From)), netpol.PodEndpoint(w.Pod(c.To))
			x := e.Explain(src, dst, c.Port, proto(c.Protocol))
			if x.Allowed != c.Allowed {
				t.Fatalf("seed %d: %s -> %s:%d/%s: matrix says %v, explain says %v", seed, c.From, c.To, c.Port, c.Protocol, c.Allowed, x.Allowed)
			}
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], seed)
		ext := netpol.IPEndpoint(externalIP(b))
		for _, p := range w.Pods {
			got := e.Allowed(netpol.PodEndpoint(p), ext, 443, "TCP")
			if x := e.Explain(netpol.PodEndpoint(p), ext, 443, "TCP"); x.Allowed != got {
				t.Fatalf("seed %d: %s -> %s: Allowed %v, Explain %v", seed, p.Key(), ext, got, x.Allowed)
			}
		}
	})
}
