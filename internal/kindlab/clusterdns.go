package kindlab

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/world"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// The cluster's CoreDNS plays the scenario's kube-dns pod. Labs are
// written against the scenario's name for it (kube-system/coredns on the
// sandbox), so the lab runs CoreDNS as one replica whose pod template
// carries that name in PodKeyAnnotation, and probes and the world show the
// pod under it: the same cells as on the sandbox, graded the same way.

// clusterDNSDeployment is the CoreDNS Deployment kubeadm creates.
const clusterDNSDeployment = "coredns"

// clusterDNSKey returns the key of the world's cluster DNS pod, or "".
func clusterDNSKey(w *world.World) string {
	for _, p := range w.Pods {
		if IsClusterDNS(p) {
			return p.Key()
		}
	}
	return ""
}

// nameClusterDNS scales CoreDNS to one replica carrying the scenario's
// name for it, and waits until that pod alone is Ready.
func nameClusterDNS(ctx context.Context, client kubernetes.Interface, key string) error {
	patch := fmt.Sprintf(`{"spec":{"replicas":1,"template":{"metadata":{"annotations":{%q:%q}}}}}`, PodKeyAnnotation, key)
	_, err := client.AppsV1().Deployments("kube-system").Patch(ctx, clusterDNSDeployment, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("naming CoreDNS %s: %w", key, err)
	}
	return poll(ctx, 500*time.Millisecond, "waiting for CoreDNS as "+key, func() error {
		d, err := client.AppsV1().Deployments("kube-system").Get(ctx, clusterDNSDeployment, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !rolledOut(d) {
			return fmt.Errorf("CoreDNS is rolling out")
		}
		pl, err := client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
		if err != nil {
			return err
		}
		if len(pl.Items) != 1 || !podReady(&pl.Items[0]) || pl.Items[0].Annotations[PodKeyAnnotation] != key {
			return fmt.Errorf("%d CoreDNS pods, want one Ready pod named %s", len(pl.Items), key)
		}
		return nil
	})
}

func rolledOut(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want
}

// applyAliases renames pods that carry a PodKeyAnnotation different from
// their real key (CoreDNS) to that key in the snapshot's world.
func (s *Snapshot) applyAliases() {
	if len(s.Aliases) == 0 {
		return
	}
	for _, p := range s.World.Pods {
		alias, ok := s.Aliases[p.Key()]
		if !ok || s.World.Pod(alias) != nil {
			continue
		}
		ns, name, _ := strings.Cut(alias, "/")
		if ns != p.Namespace {
			continue
		}
		p.Name = name
	}
	s.World.Sort()
}
