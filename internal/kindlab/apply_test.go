package kindlab

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestApplyUnknownNamespace: a policy in a namespace the cluster does not
// have is refused in the API server's words, and nothing of the batch is
// applied (the good policy before it included).
func TestApplyUnknownNamespace(t *testing.T) {
	c := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "netpol-lab"}})
	pol := func(ns, name string) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	ctx := context.Background()
	err := applyPolicies(ctx, c, []*networkingv1.NetworkPolicy{pol("netpol-lab", "ok"), pol("evil", "x")})
	if want := `networkpolicy evil/x: namespaces "evil" not found`; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	list, err := c.NetworkingV1().NetworkPolicies("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("half-applied: %d policies created", len(list.Items))
	}
	if err := applyPolicies(ctx, c, []*networkingv1.NetworkPolicy{pol("netpol-lab", "ok")}); err != nil {
		t.Fatalf("a policy in an existing namespace: %v", err)
	}
}
