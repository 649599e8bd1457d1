// Package netlabimage builds the one container image the kind backend needs:
// netlab's own static binary as a single layer on an empty base, built in
// process with go-containerregistry. There is no Dockerfile and no registry:
// the image is written as an archive (the format `docker save` writes and
// containerd's `ctr images import` reads) and loaded straight into the kind
// nodes. Scenario pods run `/netlab agent serve` from it, and the node
// DaemonSet runs `/netlab node-agent` from the same image.
package netlabimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Repository is the name the image is tagged with. The ".local" host keeps
// kubelet from ever mistaking it for something on a public registry; pods
// use imagePullPolicy Never anyway.
const Repository = "netlab.local/netlab"

// BinaryPath is where the binary lives inside the image.
const BinaryPath = "/netlab"

// Image is a built image and the reference pods should use.
type Image struct {
	// Ref is Repository:TAG, where TAG is derived from the binary's
	// SHA-256: a new binary gets a new tag, so nodes never run a stale one.
	Ref string
	img v1.Image
}

// Build makes the image from the static Linux binary at bin. It fails if
// the binary is not a statically linked ELF executable: the image has no
// libc for a dynamic one.
func Build(bin string) (*Image, error) {
	if err := CheckStatic(bin); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", bin, err)
	}
	sum := sha256.Sum256(data)
	tag := hex.EncodeToString(sum[:])[:16]

	layerTar, err := binaryLayer(data)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		return nil, fmt.Errorf("making the binary layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("appending the binary layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg := cf.Config
	cfg.Entrypoint = []string{BinaryPath}
	cfg.Cmd = []string{"agent", "serve"}
	cfg.Env = []string{"PATH=/"}
	cfg.Labels = map[string]string{"org.opencontainers.image.title": "netlab", "io.netlab.binary.sha256": hex.EncodeToString(sum[:])}
	img, err = mutate.Config(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("setting the image config: %w", err)
	}
	cf, err = img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf.Architecture, cf.OS = "amd64", "linux"
	if arch, err := elfArch(bin); err == nil {
		cf.Architecture = arch
	}
	// A fixed creation time keeps the image digest a function of the binary.
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("setting the platform: %w", err)
	}
	return &Image{Ref: Repository + ":" + tag, img: img}, nil
}

// binaryLayer is a tar holding only BinaryPath, owned by root, mode 0755,
// with a fixed time so that the same binary always gives the same layer.
func binaryLayer(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{
		Name:     strings.TrimPrefix(BinaryPath, "/"),
		Mode:     0o755,
		Size:     int64(len(data)),
		Typeflag: tar.TypeReg,
		ModTime:  time.Unix(0, 0),
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Digest is the image's manifest digest ("sha256:...").
func (i *Image) Digest() (string, error) {
	h, err := i.img.Digest()
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

// V1 returns the go-containerregistry image, for inspection.
func (i *Image) V1() v1.Image { return i.img }

// WriteArchive writes the image as a `docker save` archive tagged with Ref.
func (i *Image) WriteArchive(w io.Writer) error {
	tag, err := name.NewTag(i.Ref)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", i.Ref, err)
	}
	if err := tarball.Write(tag, i.img, w); err != nil {
		return fmt.Errorf("writing image archive of %s: %w", i.Ref, err)
	}
	return nil
}

// CheckStatic reports why the file at path is not a statically linked ELF
// executable, or nil if it is one.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not an ELF executable: %w", path, err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("%s: ELF type %v is not an executable", path, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s: dynamically linked (has an interpreter): build it with CGO_ENABLED=0", path)
		}
	}
	if libs, err := f.ImportedLibraries(); err == nil && len(libs) > 0 {
		return fmt.Errorf("%s: dynamically linked against %s: build it with CGO_ENABLED=0", path, strings.Join(libs, ", "))
	}
	return nil
}

func elfArch(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	}
	return "", fmt.Errorf("unsupported machine %v", f.Machine)
}

// Binary returns a static netlab binary for the image: the running
// executable when it is one (a `make build` binary is), and otherwise a
// fresh `CGO_ENABLED=0 go build` of the netlab command into dir, which
// needs the netlab source tree (the module containing the working
// directory) and a Go toolchain. self is the running executable's path.
func Binary(ctx context.Context, self, dir string) (string, error) {
	if self != "" && CheckStatic(self) == nil && isNetlab(self) {
		return self, nil
	}
	bin, err := BuildStatic(ctx, dir)
	if err != nil {
		why := "is not a static netlab binary"
		if self != "" && CheckStatic(self) != nil {
			why = "is dynamically linked (built with cgo)"
		}
		return "", fmt.Errorf("netlab's kind image needs a static netlab binary, and %s %s; building one failed, so nothing was created.\n"+
			"Fix: build netlab statically and run that binary ('make build' writes bin/netlab, or CGO_ENABLED=0 go build ./cmd/netlab in the netlab source tree).\n%w",
			self, why, err)
	}
	return bin, nil
}

// isNetlab reports whether path is a netlab binary rather than, say, a test
// binary: its Go build info names the netlab command.
func isNetlab(path string) bool {
	bi, err := buildinfo.ReadFile(path)
	return err == nil && bi.Path == "github.com/netlab/netlab/cmd/netlab"
}

// BuildStatic builds github.com/netlab/netlab/cmd/netlab with CGO_ENABLED=0
// into dir and returns the binary's path. It must run inside the netlab
// module.
func BuildStatic(ctx context.Context, dir string) (string, error) {
	if _, err := exec.LookPath("go"); err != nil {
		return "", errors.New("this netlab binary is not static and there is no Go toolchain to build one: run 'make build' and use bin/netlab")
	}
	out := filepath.Join(dir, "netlab")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "github.com/netlab/netlab/cmd/netlab")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building a static netlab (CGO_ENABLED=0 go build): %v: %s", err, strings.TrimSpace(string(msg)))
	}
	return out, nil
}
