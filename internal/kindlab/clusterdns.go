package kindlab

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/netlabimage"
	"github.com/netlab/netlab/internal/world"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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

// ProbeContainer is the ephemeral container netlab adds to the CoreDNS
// pod: it shares the pod's network namespace, so probes can start from
// CoreDNS's own address although its image has no netlab agent.
const ProbeContainer = "netlab-probe"

// ExecTarget is where a probe execs: a pod and one of its containers.
type ExecTarget struct {
	Namespace, Pod, Container string
}

func probeContainerRunning(p *corev1.Pod) bool {
	for _, cs := range p.Status.EphemeralContainerStatuses {
		if cs.Name == ProbeContainer {
			return cs.State.Running != nil
		}
	}
	return false
}

// addProbeContainer gives the (single) CoreDNS pod netlab's ephemeral
// probe container, running the agent with no ports (it only waits to be
// exec'd into), and waits until it runs.
func addProbeContainer(ctx context.Context, client kubernetes.Interface, image, key string) error {
	pl, err := client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
	if err != nil {
		return err
	}
	if len(pl.Items) != 1 {
		return fmt.Errorf("%d CoreDNS pods, want 1", len(pl.Items))
	}
	pod := pl.Items[0]
	has := false
	for _, ec := range pod.Spec.EphemeralContainers {
		has = has || ec.Name == ProbeContainer
	}
	if !has {
		pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name:            ProbeContainer,
				Image:           image,
				ImagePullPolicy: corev1.PullNever,
				Command:         []string{netlabimage.BinaryPath, "agent", "serve", "--pod", key},
			},
		})
		if _, err := client.CoreV1().Pods(pod.Namespace).UpdateEphemeralContainers(ctx, pod.Name, &pod, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("adding netlab's probe container to CoreDNS pod %s: %w", pod.Name, err)
		}
	}
	return poll(ctx, 500*time.Millisecond, "waiting for netlab's probe container in CoreDNS", func() error {
		p, err := client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !probeContainerRunning(p) {
			return fmt.Errorf("probe container in %s not running yet", pod.Name)
		}
		return nil
	})
}

// applyAliases renames pods that carry a PodKeyAnnotation different from
// their real key (CoreDNS) to that key in the snapshot's world.
func (s *Snapshot) applyAliases() {
	if len(s.Aliases) == 0 {
		return
	}
	for _, p := range s.World.Pods {
		real := p.Key()
		alias, ok := s.Aliases[real]
		if !ok || s.World.Pod(alias) != nil {
			continue
		}
		ns, name, _ := strings.Cut(alias, "/")
		if ns != p.Namespace {
			continue
		}
		p.Name = name
		if at, ok := s.Probers[real]; ok {
			delete(s.Probers, real)
			s.Probers[alias] = at // the exec still goes to the real pod
		}
		if s.Agents[real] {
			delete(s.Agents, real)
			s.Agents[alias] = true
		}
	}
	s.World.Sort()
}
