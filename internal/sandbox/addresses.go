package sandbox

import (
	"fmt"

	"github.com/netlab/netlab/internal/world"
)

// addressPods returns w with an address for every pod that has none: the
// sandbox is the lab's pod network, so like a cluster's network plugin it
// gives each pod the next free address of its network (Gateway's), in name
// order. w itself is not changed. hostNetwork pods are refused: the sandbox
// runs every pod in a network namespace of its own.
func addressPods(w *world.World) (*world.World, error) {
	for _, p := range w.Pods {
		if p.HostNetwork {
			return nil, fmt.Errorf("pod %s uses the host network (spec.hostNetwork): the sandbox runs every pod on its pod network", p.Key())
		}
	}
	if len(w.Unaddressed()) == 0 {
		return w, nil
	}
	c := w.Clone()
	if err := world.AssignPodIPs(c, Gateway.Masked(), nil, nil); err != nil {
		return nil, fmt.Errorf("giving pods addresses on the sandbox's pod network: %w", err)
	}
	return c, nil
}
