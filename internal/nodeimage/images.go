package nodeimage

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// imageSpec is one control-plane image kubeadm expects.
type imageSpec struct {
	ref        string   // e.g. registry.k8s.io/kube-apiserver:v1.34.4
	baseTar    string   // optional file-system tar below the binary layer
	binary     string   // host path of the binary
	dest       string   // its path in the image
	entrypoint []string // empty: none (kubeadm's manifests name the command)
}

// fileName is where the image's archive is cached.
func (s imageSpec) fileName() string {
	r := strings.NewReplacer("/", "_", ":", "_")
	return r.Replace(s.ref) + ".tar"
}

const imagePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// writeImage builds the image in-process (the binary as one layer on an
// empty base or on baseTar) and writes it as a docker-archive tar, which
// `ctr images import` reads.
func writeImage(s imageSpec, out string) error {
	bin, err := fileEntry(s.binary, s.dest, 0o755)
	if err != nil {
		return err
	}
	layerTar, err := tarOf([]tarEntry{bin, {path: "/tmp/", mode: 0o1777}})
	if err != nil {
		return err
	}
	binLayer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		return err
	}
	img := empty.Image
	if s.baseTar != "" {
		base, err := tarball.LayerFromFile(s.baseTar, tarball.WithCompressionLevel(gzip.BestSpeed))
		if err != nil {
			return err
		}
		if img, err = mutate.AppendLayers(img, base); err != nil {
			return err
		}
	}
	if img, err = mutate.AppendLayers(img, binLayer); err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Config = v1.Config{Env: []string{"PATH=" + imagePath}, Entrypoint: s.entrypoint}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return err
	}
	tag, err := name.NewTag(s.ref)
	if err != nil {
		return fmt.Errorf("image name %q: %w", s.ref, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		return fmt.Errorf("write %s: %w", s.ref, err)
	}
	return os.Rename(tmp, out)
}
