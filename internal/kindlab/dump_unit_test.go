package kindlab

import (
	"context"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// The e2e step's dump, taken from a fake API server holding what a kind
// cluster holds: two hostNetwork pods on one node's address and a finished
// pod whose address a running pod reuses. The reader must take it whole.
func TestKubectlGetYAMLReads(t *testing.T) {
	pod := func(ns, name, ip string, host bool, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
			Spec:   corev1.PodSpec{HostNetwork: host, Containers: []corev1.Container{{Name: "c", Image: "i"}}},
			Status: corev1.PodStatus{Phase: phase, PodIP: ip}}
	}
	c := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}},
		pod("kube-system", "etcd-cp", "172.18.0.3", true, corev1.PodRunning),
		pod("kube-system", "kube-apiserver-cp", "172.18.0.3", true, corev1.PodRunning),
		pod("default", "job-x", "10.244.1.3", false, corev1.PodSucceeded),
		pod("default", "web", "10.244.1.3", false, corev1.PodRunning),
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1",
			Ports: []corev1.ServicePort{{Port: 443}}}},
	)
	data, err := kubectlGetYAML(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "kind: List") || strings.Contains(string(data), "managedFields") {
		t.Errorf("dump is not what kubectl prints:\n%s", data)
	}
	var notes strings.Builder
	objs, err := world.Parse("dump.yaml", data, &notes)
	if err != nil {
		t.Fatal(err)
	}
	w, err := world.Build(objs, &notes)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if len(w.Pods) != 3 || w.Pod("default/job-x") != nil || !w.Pod("kube-system/etcd-cp").HostNetwork || len(w.Services) != 1 {
		t.Errorf("world pods %d (want 3, job-x left out), services %d", len(w.Pods), len(w.Services))
	}
	if !strings.Contains(notes.String(), "left out 1 pod that is not running") {
		t.Errorf("notes = %q", notes.String())
	}
}
