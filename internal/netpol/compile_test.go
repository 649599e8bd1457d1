package netpol_test

import (
	"net/netip"
	"testing"

	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/worldgen"
	corev1 "k8s.io/api/core/v1"
)

// TestLowerIsExact proves the dataplane form decides every cell as the
// engine does, on many random worlds: pod to pod on every declared port,
// on ports nobody declares, and to and from addresses outside the cluster.
func TestLowerIsExact(t *testing.T) {
	externals := []netip.Addr{
		netip.MustParseAddr("203.0.113.10"), netip.MustParseAddr("203.0.113.200"),
		netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("10.244.9.9"),
	}
	protos := []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
	checked, allowed := 0, 0
	defer func() {
		// The worlds must exercise both verdicts a lot, or this proves little.
		if !t.Failed() && (checked < 50000 || allowed < checked/10 || allowed > checked*9/10) {
			t.Errorf("weak coverage: %d checks, %d allowed", checked, allowed)
		}
		t.Logf("%d checks, %d allowed", checked, allowed)
	}()
	for seed := int64(0); seed < 300; seed++ {
		w := worldgen.Generate(seed, worldgen.Options{Namespaces: 3, Pods: 9, Policies: 5, Protocols: protos})
		e := netpol.New(w)
		dp, err := e.Lower()
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		check := func(src, dst netpol.Endpoint, port int32, proto corev1.Protocol) {
			want := e.Allowed(src, dst, port, proto)
			checked++
			if want {
				allowed++
			}
			if got := dp.Verdict(src.IP, dst.IP, uint16(port), netpol.IPProtocol(proto)); got != want {
				t.Fatalf("seed %d: %s -> %s:%d/%s: dataplane %v, engine %v\n%s", seed, src, dst, port, proto, got, want,
					e.Explain(src, dst, port, proto).Summary)
			}
		}
		for _, c := range e.Matrix().Results {
			check(netpol.PodEndpoint(w.Pod(c.From)), netpol.PodEndpoint(w.Pod(c.To)), c.Port, corev1.Protocol(c.Protocol))
		}
		for _, p := range w.Pods {
			for _, q := range w.Pods {
				if p != q {
					check(netpol.PodEndpoint(p), netpol.PodEndpoint(q), 9999, corev1.ProtocolTCP)
				}
			}
			for _, x := range externals {
				for _, proto := range protos {
					check(netpol.PodEndpoint(p), netpol.IPEndpoint(x), 80, proto)
					check(netpol.IPEndpoint(x), netpol.PodEndpoint(p), 80, proto)
					for _, cp := range p.Ports {
						check(netpol.IPEndpoint(x), netpol.PodEndpoint(p), cp.Port, cp.Protocol)
					}
				}
			}
		}
	}
}
