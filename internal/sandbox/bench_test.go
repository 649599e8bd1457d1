package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/sandbox"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/internal/worldgen"
)

// BenchmarkUp: 'netlab up' of netpol-lab to ready (every agent answering).
// Target < 2 s.
func BenchmarkUp(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	name, data, _ := scenariosGet()
	for i := 0; i < b.N; i++ {
		objs, _ := world.Parse(name, data, nil)
		w, _ := world.Build(objs, nil)
		world.AssignIPs(w, nil)
		lab := fmt.Sprintf("b%d-up", i)
		if _, err := sandbox.Up(context.Background(), w, sandbox.Options{Name: lab, Self: self}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := sandbox.Down(lab, nil); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkProbeMatrix: the full matrix of 10 pods x 2 ports (180 cells)
// at a 1 s timeout with about half the cells denied. Target < 1.5 s.
func BenchmarkProbeMatrix(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	w := tenPods()
	lab := "b-probe"
	if _, err := sandbox.Up(context.Background(), w, sandbox.Options{Name: lab, Self: self}); err != nil {
		b.Fatal(err)
	}
	defer sandbox.Down(lab, nil)
	b.ResetTimer()
	var cells, allowed int
	for i := 0; i < b.N; i++ {
		m, err := sandbox.Probe(context.Background(), lab, sandbox.ProbeOptions{Self: self, Timeout: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		cells, allowed = len(m.Results), m.Allowed()
	}
	b.StopTimer() // the deferred Down is not part of a probe
	b.ReportMetric(float64(cells), "cells")
	b.ReportMetric(float64(allowed), "allowed")
}

// BenchmarkPolicyChange: from 'apply' to enforced (maps updated) for a
// changed policy, while the lab's enforcer process runs and reconciles
// every change too. Target < 50 ms.
func BenchmarkPolicyChange(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	w := tenPods()
	lab := "b-apply"
	if _, err := sandbox.Up(context.Background(), w, sandbox.Options{Name: lab, Self: self}); err != nil {
		b.Fatal(err)
	}
	defer sandbox.Down(lab, nil)
	pols := w.Policies
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		np := pols[i%len(pols)].DeepCopy()
		np.Name = fmt.Sprintf("extra-%d", i%2)
		if _, err := sandbox.ApplyPolicies(lab, []*networkingPolicy{np}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer() // the deferred Down is not part of a change
}

func tenPods() *world.World {
	w := worldgen.Generate(7, worldgen.Options{Namespaces: 2, Pods: 10, Policies: 4})
	for _, p := range w.Pods {
		for len(p.Ports) < 2 {
			p.Ports = append(p.Ports, world.Port{Name: "extra", Port: 7000 + int32(len(p.Ports)), Protocol: "TCP"})
		}
	}
	return w
}
