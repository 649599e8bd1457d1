package kindlab

import (
	"fmt"
	"io"
	"os"
	"slices"
)

// Down deletes the lab's kind cluster (kind's way, which also removes its
// context from the kubeconfig) and its state.
func Down(name, kubeconfig string, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	provider := newClusters(nil)
	existing, err := provider.List()
	if err != nil {
		return fmt.Errorf("listing kind clusters: %w", err)
	}
	if slices.Contains(existing, name) {
		fmt.Fprintf(progress, " • deleting kind cluster %s\n", name)
		if err := provider.Delete(name, kubeconfig); err != nil {
			return fmt.Errorf("deleting kind cluster %s: %w", name, err)
		}
	}
	fmt.Fprintf(progress, " • removing lab state %s\n", Dir(name))
	if err := os.RemoveAll(Dir(name)); err != nil {
		return err
	}
	return nil
}

// Leftovers lists what of the lab is still on the host: node containers
// and state. A clean Down leaves it empty.
func Leftovers(name string) []string {
	var out []string
	if ns, err := newClusters(nil).ListNodes(name); err == nil {
		for _, n := range ns {
			out = append(out, "container "+n.String())
		}
	}
	if _, err := os.Stat(Dir(name)); err == nil {
		out = append(out, "state "+Dir(name))
	}
	return out
}
