package kindlab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/netlabimage"
	"github.com/netlab/netlab/internal/world"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkKindLab measures the kind backend on real clusters:
//
//   - up: 'netlab up --backend kind' of netpol-lab on 2 nodes with a warm
//     node image, each stage reported in seconds;
//   - probe-9x2-open and probe-9x2-denied: the full matrix of 9 pods x 2
//     ports (144 cells) at a 1 s timeout, all open and all denied (every
//     cell then costs one timeout). Target < 3 s;
//   - policy-enforced: a NetworkPolicy created through the API until every
//     node agent enforces it (informers). Target < 1 s.
func BenchmarkKindLab(b *testing.B) {
	nodeImg := requireKind(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	dir := b.TempDir()
	StateRoot = filepath.Join(dir, "state")
	bin, err := netlabimage.BuildStatic(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	name := fmt.Sprintf("nl-bench-%d", os.Getpid()%100000)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	defer func() {
		if err := Down(name, kubeconfig, nil); err != nil {
			b.Errorf("down: %v", err)
		}
	}()
	w := netpolLab(b)
	b.Run("up", func(b *testing.B) {
		var res *Result
		for i := 0; i < b.N; i++ {
			if i > 0 {
				b.StopTimer()
				if err := Down(name, kubeconfig, nil); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			if res, err = Up(ctx, w, Options{Name: name, Nodes: 2, NodeImage: nodeImg, Self: bin, Kubeconfig: kubeconfig}); err != nil {
				b.Fatal(err)
			}
		}
		for _, s := range res.Stages {
			b.ReportMetric(s.Duration.Seconds(), strings.ReplaceAll(s.Name, " ", "-")+"-s")
		}
	})
	c, _, err := Client(name)
	if err != nil {
		b.Fatal(err)
	}
	st, err := Load(name)
	if err != nil {
		b.Fatal(err)
	}
	bench := &world.World{Namespaces: []*world.Namespace{{Name: "bench", Labels: map[string]string{world.NamespaceNameLabel: "bench"}}}}
	for i := 0; i < 9; i++ {
		bench.Pods = append(bench.Pods, &world.Pod{Namespace: "bench", Name: fmt.Sprintf("p%d", i), Labels: map[string]string{"app": fmt.Sprintf("p%d", i)},
			Ports: []world.Port{{Name: "http", Port: 80, Protocol: "TCP"}, {Name: "alt", Port: 8080, Protocol: "TCP"}}})
	}
	nl, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	objs := ScenarioManifests(bench, st.Image, SchedulableNodes(nl.Items))
	if err := applyScenario(ctx, c, objs); err != nil {
		b.Fatal(err)
	}
	if err := waitPodsReady(ctx, c, objs.Pods); err != nil {
		b.Fatal(err)
	}
	st.Namespaces = []string{"bench"}
	if err := st.save(); err != nil {
		b.Fatal(err)
	}
	probe := func(b *testing.B, allowed int) {
		for i := 0; i < b.N; i++ {
			m, err := Probe(ctx, name, ProbeOptions{Timeout: time.Second, To: []string{"bench/"}})
			if err != nil {
				b.Fatal(err)
			}
			if len(m.Results) != 9*8*2 || m.Allowed() != allowed {
				b.Fatalf("%d cells, %d allowed; want %d cells, %d allowed", len(m.Results), m.Allowed(), 9*8*2, allowed)
			}
		}
		b.ReportMetric(9*8*2, "cells")
	}
	b.Run("probe-9x2-open", func(b *testing.B) { probe(b, 9*8*2) })
	n := 0
	b.Run("policy-enforced", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			np := policy("bench", fmt.Sprintf("deny-%d", n), networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}})
			n++
			if _, err := c.NetworkingV1().NetworkPolicies("bench").Create(ctx, np, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
			if _, err := WaitEnforced(ctx, name, 10*time.Second); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("probe-9x2-denied", func(b *testing.B) { probe(b, 0) })
}
