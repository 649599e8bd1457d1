package kindlab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/netlabimage"
	"github.com/netlab/netlab/internal/nodeagent"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
)

// Events streams the verdict events of every node's enforcer until ctx is
// done: one exec per node agent pod runs 'netlab enforcer events' on the
// node's pinned maps, and the streams are merged. Each node's ring buffer
// has one reader, so only one Events stream per lab should run at a time.
func Events(ctx context.Context, name string) (<-chan enforcer.Event, error) {
	st, err := Load(name)
	if err != nil {
		return nil, err
	}
	if st.Enforcement == EnforceNone {
		return nil, fmt.Errorf("lab %s runs with --enforcer none: there are no verdicts", name)
	}
	c, cfg, err := Client(name)
	if err != nil {
		return nil, err
	}
	pods, err := c.CoreV1().Pods(SystemNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + NodeAgentName})
	if err != nil {
		return nil, fmt.Errorf("listing node agents: %w", err)
	}
	if len(pods.Items) == 0 {
		return nil, fmt.Errorf("lab %s: no node agent pods", name)
	}
	out := make(chan enforcer.Event, 256)
	var wg sync.WaitGroup
	for _, p := range pods.Items {
		req := c.CoreV1().RESTClient().Post().Resource("pods").Namespace(p.Namespace).Name(p.Name).SubResource("exec").
			VersionedParams(&corev1.PodExecOptions{
				Container: p.Spec.Containers[0].Name,
				Command:   []string{netlabimage.BinaryPath, "enforcer", "events", "--pin-dir", nodeagent.DefaultPinDir},
				Stdout:    true,
				Stderr:    true,
			}, scheme.ParameterCodec)
		exec, err := newExecutor(cfg, req.URL())
		if err != nil {
			return nil, err
		}
		pr, pw := io.Pipe()
		wg.Add(2)
		go func() {
			defer wg.Done()
			var errOut strings.Builder
			err := exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: pw, Stderr: &errOut})
			if err != nil && ctx.Err() == nil {
				err = fmt.Errorf("node %s: %v: %s", p.Spec.NodeName, err, strings.TrimSpace(errOut.String()))
			}
			pw.CloseWithError(err)
		}()
		go func() {
			defer wg.Done()
			dec := json.NewDecoder(pr)
			for {
				var ev enforcer.Event
				if err := dec.Decode(&ev); err != nil {
					pr.Close()
					return
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					pr.Close()
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out, nil
}
