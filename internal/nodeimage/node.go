package nodeimage

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// nodeChanges make the committed container a kind node image: the
// entrypoint boots systemd, which wants to know it runs in a container.
// systemd's stop signal, SIGRTMIN+3, cannot be a commit change: the build
// container is started with it, and commit keeps it.
var nodeChanges = []string{
	`ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]`,
	`ENV container=docker`,
}

// buildNode assembles the node image: the base, netlab's node files, the
// kubeadm/kubelet/kubectl binaries, and kubeadm's images preloaded into
// containerd's k8s.io namespace, so that creating a cluster fetches nothing.
func (b *builder) buildNode(ctx context.Context, specs []imageSpec, k string) error {
	pause := ""
	for _, s := range specs {
		if strings.HasSuffix(filepath.Base(s.binary), "pause") {
			pause = s.ref
		}
	}
	sub, err := fs.Sub(nodeFiles, "files")
	if err != nil {
		return err
	}
	entries, err := embeddedEntries(sub, strings.NewReplacer("@PAUSE_IMAGE@", pause))
	if err != nil {
		return err
	}
	for _, n := range []string{"kubeadm", "kubelet", "kubectl"} {
		e, err := fileEntry(b.kubernetesBin(n), "/usr/bin/"+n, 0o755)
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	entries = append(entries, tarEntry{path: "/kind/version", mode: 0o644, data: []byte(b.opts.KubernetesVersion + "\n")})
	stream, err := tarOf(entries)
	if err != nil {
		return err
	}

	c, err := startContainer(ctx, b.containerName("node"), "--privileged", "--stop-signal", "SIGRTMIN+3",
		"--entrypoint", "sleep", baseImage, "infinity")
	if err != nil {
		return err
	}
	defer c.remove()
	if err := c.copyIn(ctx, bytes.NewReader(stream)); err != nil {
		return err
	}
	if _, err := c.sh(ctx, "systemctl enable containerd.service kubelet.service >/dev/null 2>&1"); err != nil {
		return err
	}
	if _, err := c.exec(ctx, nil, "sh", "-c", "containerd >/var/log/netlab-preload.log 2>&1 &"); err != nil {
		return err
	}
	if err := waitFor(ctx, 30*time.Second, func() error { _, err := c.exec(ctx, nil, "ctr", "version"); return err }); err != nil {
		return fmt.Errorf("containerd in the build container: %w", err)
	}
	for _, s := range specs {
		f, err := os.Open(filepath.Join(b.imagesDir(), s.fileName()))
		if err != nil {
			return err
		}
		_, err = c.exec(ctx, f, "ctr", "--namespace=k8s.io", "images", "import", "--no-unpack", "--all-platforms", "--digests", "-")
		f.Close()
		if err != nil {
			return fmt.Errorf("preload %s: %w", s.ref, err)
		}
	}
	listed, err := c.exec(ctx, nil, "ctr", "--namespace=k8s.io", "images", "ls", "-q")
	if err != nil {
		return err
	}
	for _, s := range specs {
		if !strings.Contains("\n"+listed+"\n", "\n"+s.ref+"\n") {
			return fmt.Errorf("%s missing from containerd after import; it has:\n%s", s.ref, listed)
		}
	}
	if _, err := c.sh(ctx, `kill $(pidof containerd); while pidof containerd >/dev/null; do sleep 0.2; done
rm -rf /run/containerd /var/lib/containerd/tmpmounts /var/log/netlab-preload.log`); err != nil {
		return err
	}
	return c.commit(ctx, b.opts.Image, append(nodeChanges, "LABEL "+keyLabel+"="+k)...)
}

func waitFor(ctx context.Context, timeout time.Duration, try func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := try()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}
