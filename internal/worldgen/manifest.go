package worldgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WriteManifest writes w as the manifests a user would feed 'netlab sim -f':
// one Namespace, Pod (with status.podIP) and NetworkPolicy per document, each
// document one line of JSON (valid YAML) after a "---" line. Benchmarks of the
// real binary read their worlds from such files, so reading is measured too.
func WriteManifest(out io.Writer, w *world.World) error {
	bw := bufio.NewWriterSize(out, 256*1024)
	enc := json.NewEncoder(bw)
	doc := func(obj any) error {
		if _, err := bw.WriteString("---\n"); err != nil {
			return err
		}
		return enc.Encode(obj) // one line, newline-terminated
	}
	for _, ns := range w.Namespaces {
		if ns.Implied {
			continue
		}
		if err := doc(&corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: ns.Name, Labels: ns.Labels},
		}); err != nil {
			return fmt.Errorf("writing namespace %s: %w", ns.Name, err)
		}
	}
	for _, p := range w.Pods {
		c := corev1.Container{Name: "app", Image: "netlab.local/agnhost"}
		for _, port := range p.Ports {
			c.Ports = append(c.Ports, corev1.ContainerPort{Name: port.Name, ContainerPort: port.Port, Protocol: port.Protocol})
		}
		pod := &corev1.Pod{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels},
			Spec:       corev1.PodSpec{NodeName: p.Node, Containers: []corev1.Container{c}},
		}
		if p.IP.IsValid() && !p.IPAssigned {
			pod.Status.PodIP = p.IP.String()
			pod.Status.Phase = corev1.PodRunning
		}
		if err := doc(pod); err != nil {
			return fmt.Errorf("writing pod %s: %w", p.Key(), err)
		}
	}
	for _, np := range w.Policies {
		np := *np
		np.TypeMeta = metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}
		if err := doc(&np); err != nil {
			return fmt.Errorf("writing policy %s/%s: %w", np.Namespace, np.Name, err)
		}
	}
	return bw.Flush()
}
