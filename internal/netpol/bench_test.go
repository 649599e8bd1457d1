package netpol_test

import (
	"io"
	"runtime"
	"testing"

	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/worldgen"
)

// BenchmarkMatrix1000 is the engine's target: 1,000 pods in 20 namespaces
// with 200 policies, the full matrix (about two million cells). Target on
// a 2-core machine: under 2 s and 500 MB. Reported: cells/op and peak heap.
func BenchmarkMatrix1000(b *testing.B) {
	w := worldgen.Generate(1, worldgen.Options{Namespaces: 20, Pods: 1000, Policies: 200})
	b.ResetTimer()
	var cells int
	var live uint64
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		e := netpol.New(w)
		m := e.Matrix()
		cells = len(m.Results)
		runtime.ReadMemStats(&after)
		// What the engine and its matrix hold at the end, world excluded.
		live = max(live, after.HeapAlloc-before.HeapAlloc)
		runtime.KeepAlive(m)
	}
	b.ReportMetric(float64(cells), "cells/op")
	b.ReportMetric(float64(live)/(1<<20), "liveMB")
}

// BenchmarkCompile measures building the engine alone.
func BenchmarkCompile(b *testing.B) {
	w := worldgen.Generate(1, worldgen.Options{Namespaces: 20, Pods: 1000, Policies: 200})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		netpol.New(w)
	}
}

// BenchmarkSimJSON is what 'netlab sim -o json' costs on the same world:
// compile, decide every cell, stream the JSON (rows encoded on every CPU).
func BenchmarkSimJSON(b *testing.B) {
	w := worldgen.Generate(1, worldgen.Options{Namespaces: 20, Pods: 1000, Policies: 200})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := netpol.New(w).WriteJSON(io.Discard, w.Pods, w.Pods); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSimSummary is 'netlab sim -o summary' on the same world: every
// cell decided, with every admitting policy found, only counts kept.
func BenchmarkSimSummary(b *testing.B) {
	w := worldgen.Generate(1, worldgen.Options{Namespaces: 20, Pods: 1000, Policies: 200})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		netpol.New(w).Summarize(w.Pods, w.Pods)
	}
}
