package kindlab

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/netlabimage"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// kubectlGetYAML prints what `kubectl get ns,pods,svc,netpol -A -o yaml`
// prints: one v1 List whose items carry their apiVersion and kind, without
// managedFields (kubectl hides them by default).
func kubectlGetYAML(ctx context.Context, c kubernetes.Interface) ([]byte, error) {
	var items []any
	nss, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for i := range nss.Items {
		o := &nss.Items[i]
		o.APIVersion, o.Kind, o.ManagedFields = "v1", "Namespace", nil
		items = append(items, o)
	}
	pods, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for i := range pods.Items {
		o := &pods.Items[i]
		o.APIVersion, o.Kind, o.ManagedFields = "v1", "Pod", nil
		items = append(items, o)
	}
	svcs, err := c.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for i := range svcs.Items {
		o := &svcs.Items[i]
		o.APIVersion, o.Kind, o.ManagedFields = "v1", "Service", nil
		items = append(items, o)
	}
	nps, err := c.NetworkingV1().NetworkPolicies("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for i := range nps.Items {
		o := &nps.Items[i]
		o.APIVersion, o.Kind, o.ManagedFields = "networking.k8s.io/v1", "NetworkPolicy", nil
		items = append(items, o)
	}
	return yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items, "metadata": map[string]any{"resourceVersion": ""}})
}

// finishPod runs a pod to completion in the default namespace, so the
// dump holds a finished pod as real clusters do.
func finishPod(t *testing.T, ctx context.Context, c kubernetes.Interface, image string) {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "netlab-finished"},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "done", Image: image, ImagePullPolicy: corev1.PullNever, Command: []string{netlabimage.BinaryPath, "version"}}}},
	}
	if _, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := poll(ctx, 500*time.Millisecond, "waiting for default/netlab-finished to finish", func() error {
		got, err := c.CoreV1().Pods("default").Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got.Status.Phase != corev1.PodSucceeded && got.Status.Phase != corev1.PodFailed {
			return fmt.Errorf("phase %s", got.Status.Phase)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// dumpAgrees takes a real dump of the cluster through the API, reads it
// with the reader `netlab sim -f -` uses and checks that the engine,
// judging that world, gives every probed cell of m the verdict the probe
// measured. Before issue 9 item 4 the reader rejected every such dump
// (hostNetwork pods share their node's address).
func dumpAgrees(t *testing.T, ctx context.Context, name string, m *matrix.Matrix) {
	t.Helper()
	c, _, err := Client(name)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	finishPod(t, ctx, c, st.Image)
	data, err := kubectlGetYAML(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	var notes strings.Builder
	objs, err := world.Parse("kubectl-get.yaml", data, &notes)
	if err != nil {
		t.Fatalf("reading the cluster's dump: %v", err)
	}
	dump, err := world.Build(objs, &notes)
	if err != nil {
		t.Fatalf("building the cluster's dump: %v", err)
	}
	if !strings.Contains(notes.String(), "left out 1 pod that is not running") {
		t.Errorf("notes do not say the finished pod was left out:\n%s", notes.String())
	}
	hosts := 0
	for _, p := range dump.Pods {
		if p.HostNetwork {
			hosts++
		}
	}
	if hosts < 4 || dump.Pod("default/netlab-finished") != nil {
		t.Errorf("dump world: %d hostNetwork pods (want the control plane's, kube-proxy's and the node agents'), finished pod in it: %v",
			hosts, dump.Pod("default/netlab-finished") != nil)
	}
	// Probed cells name pods as the lab's world does (CoreDNS under its
	// scenario alias); match them to the dump by address.
	lab, err := World(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	e := netpol.New(dump)
	var bad []string
	for _, cell := range m.Results {
		src, dst := lab.Pod(cell.From), lab.Pod(cell.To)
		if src == nil || dst == nil {
			bad = append(bad, cell.Key().String()+": not in the lab's world")
			continue
		}
		ds, dd := dump.PodByIP(src.IP), dump.PodByIP(dst.IP)
		if ds == nil || dd == nil {
			bad = append(bad, cell.Key().String()+": not in the dump")
			continue
		}
		v := e.Decide(netpol.PodEndpoint(ds), netpol.PodEndpoint(dd), cell.Port, corev1.Protocol(cell.Protocol))
		if v.Undecided != "" || v.Allowed != cell.Allowed {
			bad = append(bad, fmt.Sprintf("%s was %v; from the dump the engine says %+v", cell.Key(), cell.Allowed, v))
		}
	}
	if len(bad) > 0 {
		t.Errorf("real dump: %d of %d cells disagree with the probe:\n  %s", len(bad), len(m.Results), strings.Join(bad, "\n  "))
	} else {
		t.Logf("real dump (%d bytes, %d pods, %d on the host network): %d probed cells agree with the engine", len(data), len(dump.Pods), hosts, len(m.Results))
	}
}
