// Package clusterworld turns the objects a Kubernetes API server holds into
// netlab's model (world.World), the way a NetworkPolicy implementation sees
// the cluster: every namespace with its labels; every pod that has a pod
// network address (not hostNetwork, not finished), with its labels, IP,
// container ports and node; every Service with a ClusterIP and its
// selector; every NetworkPolicy. The kind backend's node agents compile
// this world into their eBPF maps, and `netlab verify` asks the engine
// about the same world, so enforcement and grading cannot disagree about
// what the cluster is.
package clusterworld

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"

	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Objects is a snapshot of the cluster, as listed from the API server or
// informer caches.
type Objects struct {
	Namespaces []*corev1.Namespace
	Pods       []*corev1.Pod
	Services   []*corev1.Service
	Policies   []*networkingv1.NetworkPolicy
}

// Build converts a snapshot into a World. Objects are deep-copied, so the
// caller's (for example an informer's cache) are never changed.
//
// Pods without an IPv4 pod IP (pending, hostNetwork, finished) are left out:
// no packet can come from or go to them on the pod network. When two pods
// claim the same IP (a finished pod's address reused before the API has
// caught up), the running one, else the newer one, keeps it. Services
// without a ClusterIP (headless) are left out: their names resolve to pod
// IPs, which the world already has.
func Build(o Objects) (*world.World, error) {
	objs := &world.Objects{}
	src := func(kind string, i int) world.Source {
		return world.Source{File: "cluster:" + kind, Doc: i, Item: -1}
	}
	for i, ns := range o.Namespaces {
		objs.Namespaces = append(objs.Namespaces, world.Object[*corev1.Namespace]{Source: src("namespaces", i), Obj: ns.DeepCopy()})
	}
	for i, p := range pickPods(o.Pods) {
		objs.Pods = append(objs.Pods, world.Object[*corev1.Pod]{Source: src("pods", i), Obj: p.DeepCopy()})
	}
	for i, s := range o.Services {
		ip, err := netip.ParseAddr(s.Spec.ClusterIP)
		if err != nil || !ip.Is4() {
			continue
		}
		objs.Services = append(objs.Services, world.Object[*corev1.Service]{Source: src("services", i), Obj: s.DeepCopy()})
	}
	for i, np := range o.Policies {
		c := np.DeepCopy()
		world.DefaultNetworkPolicy(c)
		objs.Policies = append(objs.Policies, world.Object[*networkingv1.NetworkPolicy]{Source: src("networkpolicies", i), Obj: c})
	}
	w, err := world.Build(objs, io.Discard)
	if err != nil {
		return nil, fmt.Errorf("building the cluster's world: %w", err)
	}
	return w, nil
}

// OnPodNetwork reports whether p has an address on the pod network that
// policies apply to.
func OnPodNetwork(p *corev1.Pod) bool {
	if p.Spec.HostNetwork || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return false
	}
	ip, err := netip.ParseAddr(p.Status.PodIP)
	return err == nil && ip.Is4()
}

// pickPods keeps the pods on the pod network, one per IP.
func pickPods(pods []*corev1.Pod) []*corev1.Pod {
	byIP := map[string]*corev1.Pod{}
	for _, p := range pods {
		if !OnPodNetwork(p) {
			continue
		}
		if old, ok := byIP[p.Status.PodIP]; ok && !better(p, old) {
			continue
		}
		byIP[p.Status.PodIP] = p
	}
	out := make([]*corev1.Pod, 0, len(byIP))
	for _, p := range byIP {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// better reports whether a should own an IP rather than b.
func better(a, b *corev1.Pod) bool {
	ar, br := a.Status.Phase == corev1.PodRunning, b.Status.Phase == corev1.PodRunning
	if ar != br {
		return ar
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
}

// Hash is a digest of everything in w that enforcement depends on. A node
// agent reports the hash of the world it last enforced; a client that
// computes the same hash from its own view of the API knows its change is
// enforced on that node.
func Hash(w *world.World) string {
	data, err := json.Marshal(w)
	if err != nil {
		// A World is plain data; Marshal cannot fail on it.
		panic(fmt.Sprintf("clusterworld: hashing world: %v", err))
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
