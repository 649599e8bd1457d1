package netlabimage

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

var buildDir string

func TestMain(m *testing.M) {
	var err error
	if buildDir, err = os.MkdirTemp("", "netlabimage-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(buildDir)
	os.Exit(code)
}

// staticNetlab builds the netlab command once per test binary.
func staticNetlab(t *testing.T) string {
	t.Helper()
	builtOnce.Do(func() { builtPath, builtErr = BuildStatic(context.Background(), buildDir) })
	if builtErr != nil {
		t.Fatal(builtErr)
	}
	return builtPath
}

var (
	builtOnce sync.Once
	builtPath string
	builtErr  error
)

func TestBuildArchive(t *testing.T) {
	bin := staticNetlab(t)
	want, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Build(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(img.Ref, Repository+":") || len(img.Ref) != len(Repository)+1+16 {
		t.Errorf("Ref = %q, want %s:<16 hex>", img.Ref, Repository)
	}
	var archive bytes.Buffer
	if err := img.WriteArchive(&archive); err != nil {
		t.Fatal(err)
	}

	// The archive is what `docker save` writes: manifest.json names the tag.
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	tr := tar.NewReader(bytes.NewReader(archive.Bytes()))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "manifest.json" {
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(manifest) != 1 || !slices.Equal(manifest[0].RepoTags, []string{img.Ref}) || len(manifest[0].Layers) != 1 {
		t.Fatalf("manifest.json = %+v, want one image tagged %s with one layer", manifest, img.Ref)
	}

	// Read it back the way a loader would.
	tag, _ := name.NewTag(img.Ref)
	back, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(archive.Bytes())), nil }, &tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := back.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{BinaryPath}) || cf.OS != "linux" || cf.Architecture == "" {
		t.Errorf("config: entrypoint %v, platform %s/%s", cf.Config.Entrypoint, cf.OS, cf.Architecture)
	}
	layers, err := back.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	lt := tar.NewReader(rc)
	var files []string
	for {
		h, err := lt.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, h.Name)
		if h.Name != "netlab" {
			continue
		}
		if h.Mode != 0o755 || h.Uid != 0 {
			t.Errorf("netlab: mode %o uid %d, want 755 root", h.Mode, h.Uid)
		}
		got, _ := io.ReadAll(lt)
		if !bytes.Equal(got, want) {
			t.Errorf("netlab in the layer differs from the binary (%d vs %d bytes)", len(got), len(want))
		}
	}
	if !slices.Equal(files, []string{"netlab"}) {
		t.Errorf("layer holds %v, want only netlab", files)
	}

	// The same binary gives the same image.
	again, err := Build(bin)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 || img.Ref != again.Ref {
		t.Errorf("rebuild changed the image: %s %s vs %s %s", img.Ref, d1, again.Ref, d2)
	}
}

func TestRejectsDynamicBinaries(t *testing.T) {
	for _, p := range []string{"/bin/ls", "/usr/bin/env"} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if _, err := Build(p); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
			t.Errorf("Build(%s) = %v, want a dynamically linked error", p, err)
		}
	}
	f, err := os.CreateTemp(t.TempDir(), "script")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("#!/bin/sh\n")
	f.Close()
	if err := CheckStatic(f.Name()); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("CheckStatic(script) = %v", err)
	}
}

func TestBinaryPrefersStaticSelf(t *testing.T) {
	bin := staticNetlab(t)
	got, err := Binary(context.Background(), bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got != bin {
		t.Errorf("Binary(static netlab) = %s, want it reused", got)
	}
}
