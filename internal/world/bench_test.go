package world_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/world"
)

// writeManifest writes a multi-document YAML manifest of at least size
// bytes to w: namespaces, pods (labels, two container ports, an address)
// and a policy every 50 pods, shaped like what kubectl prints, and returns
// how many objects it holds.
func writeManifest(w io.Writer, size int64) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	var written int64
	n := 0
	put := func(format string, args ...any) {
		k, _ := fmt.Fprintf(bw, format, args...)
		written += int64(k)
		n++
	}
	const namespaces = 100
	for i := 0; i < namespaces; i++ {
		put("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns%d\n  labels:\n    team: t%d\n", i, i%7)
	}
	for i := 0; written < size; i++ {
		ns := i % namespaces
		ip := strconv.Itoa(10) + "." + strconv.Itoa(i>>16&255) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255)
		put("---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pod%d\n  namespace: ns%d\n  labels:\n    app: a%d\n    tier: t%d\nspec:\n  containers:\n  - name: main\n    ports:\n    - containerPort: 80\n      name: http\n    - containerPort: 53\n      protocol: UDP\nstatus:\n  podIP: %s\n", i, ns, i%13, i%3, ip)
		if i%50 == 0 {
			put("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: pol%d\n  namespace: ns%d\nspec:\n  podSelector:\n    matchLabels:\n      app: a%d\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {tier: t1}}\n    ports:\n    - port: 80\n", i, ns, i%13)
		}
	}
	return n, bw.Flush()
}

// BenchmarkRead200MB reads a 200 MB multi-document manifest (about 1.1 M
// objects). Target on a 2-core machine: under 15 s and under 1.5 GB.
// Reported: objects/op, peak heap (MB) and peak RSS (MB, the process's
// high-water mark).
func BenchmarkRead200MB(b *testing.B) {
	size := int64(200 << 20)
	if s := os.Getenv("NETLAB_BENCH_MANIFEST_MB"); s != "" {
		mb, _ := strconv.Atoi(s)
		size = int64(mb) << 20
	}
	p := filepath.Join(b.TempDir(), "big.yaml")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	objects, err := writeManifest(f, size)
	if err != nil {
		b.Fatal(err)
	}
	f.Close()
	runtime.GC()
	b.ResetTimer()
	var peak uint64
	for i := 0; i < b.N; i++ {
		done := make(chan struct{})
		go func() {
			var ms runtime.MemStats
			for {
				select {
				case <-done:
					return
				case <-time.After(50 * time.Millisecond):
				}
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}()
		w, err := world.Load([]string{p}, nil)
		close(done)
		if err != nil {
			b.Fatal(err)
		}
		if got := len(w.Pods) + len(w.Namespaces) + len(w.Policies); got != objects {
			b.Fatalf("read %d objects, want %d", got, objects)
		}
	}
	b.ReportMetric(float64(objects), "objects/op")
	b.ReportMetric(float64(peak)/(1<<20), "peakheapMB")
}
