package nodeimage

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Binaries are a real control plane for tests, laid out as envtest's
// KUBEBUILDER_ASSETS expects (one directory holding kube-apiserver, etcd and
// kubectl).
type Binaries struct {
	Dir           string
	KubeAPIServer string
	Etcd          string
	Kubectl       string
}

func testbinDir(cacheDir, version string) string {
	return filepath.Join(cacheDir, "testbin-"+version)
}

func binariesIn(dir string) Binaries {
	return Binaries{
		Dir:           dir,
		KubeAPIServer: filepath.Join(dir, "kube-apiserver"),
		Etcd:          filepath.Join(dir, "etcd"),
		Kubectl:       filepath.Join(dir, "kubectl"),
	}
}

// TestBinaries finds the kube-apiserver, etcd and kubectl that
// `netlab node-image build` leaves in DefaultCacheDir()/testbin-VERSION
// (/var/cache/netlab/nodeimage/testbin-v1.34.4 for root), or in
// $NETLAB_TESTBIN when set. Tests that need a real API server call it and
// skip (or, in CI, fail) when it returns an error.
func TestBinaries() (Binaries, error) {
	dir := os.Getenv("NETLAB_TESTBIN")
	if dir == "" {
		dir = testbinDir(DefaultCacheDir(), DefaultKubernetesVersion)
	}
	bins := binariesIn(dir)
	for _, p := range []string{bins.KubeAPIServer, bins.Etcd, bins.Kubectl} {
		if _, err := os.Stat(p); err != nil {
			return bins, fmt.Errorf("no test control plane (%v); build it with: sudo netlab node-image build", err)
		}
	}
	return bins, nil
}

func (b *builder) testbinPaths() []string {
	bins := binariesIn(testbinDir(b.dir, b.opts.KubernetesVersion))
	return []string{bins.KubeAPIServer, bins.Etcd, bins.Kubectl}
}

// buildTestbin links (or copies) the test binaries into their directory.
func (b *builder) buildTestbin(etcd string) error {
	dir := testbinDir(b.dir, b.opts.KubernetesVersion)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for src, name := range map[string]string{
		b.kubernetesBin("kube-apiserver"): "kube-apiserver",
		b.kubernetesBin("kubectl"):        "kubectl",
		etcd:                              "etcd",
	} {
		dst := filepath.Join(dir, name)
		_ = os.Remove(dst)
		if err := os.Link(src, dst); err == nil {
			continue
		}
		if err := copyFile(src, dst); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
