package nodeimage

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestParseLocalReplaces(t *testing.T) {
	gomod := []byte(`module go.etcd.io/etcd/server/v3

require go.etcd.io/etcd/api/v3 v3.6.5

replace (
	go.etcd.io/etcd/api/v3 => ../api
	go.etcd.io/etcd/pkg/v3 => ../pkg // comment
	example.com/fork => example.com/other v1.2.3
)

replace go.etcd.io/etcd/client/v3 => ./client

replace go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY
`)
	got := parseLocalReplaces(gomod, func(m string) string { return "v3.6.5" })
	want := map[string]string{
		"go.etcd.io/etcd/api/v3":    "v3.6.5",
		"go.etcd.io/etcd/pkg/v3":    "v3.6.5",
		"go.etcd.io/etcd/client/v3": "v3.6.5",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("replaces = %v, want %v", got, want)
	}
}

func TestGoModIsStable(t *testing.T) {
	g := goBuild{dir: "/c/kubernetes-v1.34.4", module: "k8s.io/kubernetes", version: "v1.34.4",
		replaces: map[string]string{"k8s.io/client-go": "v0.34.4", "k8s.io/api": "v0.34.4"}}
	mod := g.goMod()
	for _, want := range []string{
		"module netlab.local/build/kubernetes-v1.34.4",
		"require k8s.io/kubernetes v1.34.4",
		"replace k8s.io/api => k8s.io/api v0.34.4",
	} {
		if !strings.Contains(mod, want) {
			t.Errorf("go.mod lacks %q:\n%s", want, mod)
		}
	}
	if strings.Index(mod, "k8s.io/api =>") > strings.Index(mod, "k8s.io/client-go =>") {
		t.Errorf("replaces not sorted:\n%s", mod)
	}
	if mod != g.goMod() {
		t.Error("goMod is not deterministic")
	}
}

func TestStagesSkipWhenCached(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	b := &builder{dir: dir, log: &log}
	out := filepath.Join(dir, "out")
	runs := 0
	st := func(input string) stage {
		return stage{name: "s", inputs: []string{input}, done: filesExist(out), run: func(context.Context) error {
			runs++
			return os.WriteFile(out, []byte(input), 0o644)
		}}
	}
	ctx := context.Background()
	for i, c := range []struct {
		input string
		runs  int
		built bool
	}{{"a", 1, true}, {"a", 1, false}, {"b", 2, true}} {
		built, err := b.runStages(ctx, []stage{st(c.input)}, 0, 1)
		if err != nil || built != c.built || runs != c.runs {
			t.Errorf("run %d: built=%v runs=%d err=%v, want built=%v runs=%d", i, built, runs, err, c.built, c.runs)
		}
	}
	if !strings.Contains(log.String(), "cached") {
		t.Errorf("no 'cached' in progress output:\n%s", log.String())
	}
	// A missing output forces a rebuild even with a matching stamp.
	os.Remove(out)
	if _, err := b.runStages(ctx, []stage{st("b")}, 0, 1); err != nil || runs != 3 {
		t.Errorf("after deleting the output: runs=%d err=%v", runs, err)
	}
	failing := stage{name: "f", inputs: []string{"x"}, done: filesExist(filepath.Join(dir, "never")),
		run: func(context.Context) error { return errors.New("boom") }}
	if _, err := b.runStages(ctx, []stage{failing}, 0, 1); err == nil || !strings.Contains(err.Error(), "stage f: boom") {
		t.Errorf("failing stage: err = %v", err)
	}
}

func TestWriteImage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "coredns")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	spec := imageSpec{ref: "registry.k8s.io/coredns/coredns:v1.12.1", binary: bin, dest: "/coredns", entrypoint: []string{"/coredns"}}
	out := filepath.Join(dir, spec.fileName())
	if err := writeImage(spec, out); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(spec.ref)
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("read back %s: %v", out, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Config.Entrypoint, []string{"/coredns"}) || cfg.OS != "linux" {
		t.Errorf("config = %+v", cfg.Config)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "coredns" && h.Mode&0o111 != 0 {
			found = true
		}
	}
	if !found {
		t.Error("layer lacks an executable /coredns")
	}
}

func TestEmbeddedNodeFiles(t *testing.T) {
	entries, err := embeddedEntries(mustSub(t), strings.NewReplacer("@PAUSE_IMAGE@", "registry.k8s.io/pause:3.10.1"))
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]tarEntry{}
	for _, e := range entries {
		byPath[e.path] = e
	}
	cfg := string(byPath["/etc/containerd/config.toml"].data)
	for _, want := range []string{"restrict_oom_score_adj = true", `sandbox_image = "registry.k8s.io/pause:3.10.1"`, "SystemdCgroup = true"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("containerd config lacks %q", want)
		}
	}
	if e := byPath["/usr/local/bin/entrypoint"]; e.mode != 0o755 || !strings.Contains(string(e.data), "detected cgroup v1") {
		t.Errorf("entrypoint missing, not executable or without kind's readiness phrase (mode %o)", e.mode)
	}
	for _, p := range []string{"/etc/systemd/system/kubelet.service", "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", "/kind/manifests/default-storage.yaml"} {
		if _, ok := byPath[p]; !ok {
			t.Errorf("node files lack %s", p)
		}
	}
}

func mustSub(t *testing.T) fs.FS {
	sub, err := fs.Sub(nodeFiles, "files")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}
