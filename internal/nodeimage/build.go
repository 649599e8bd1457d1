package nodeimage

import (
	"bufio"
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

//go:embed files
var nodeFiles embed.FS

// kubernetesBinaries are built from k8s.io/kubernetes/cmd/NAME.
var kubernetesBinaries = []string{
	"kubeadm", "kubelet", "kubectl", "kube-apiserver",
	"kube-controller-manager", "kube-scheduler", "kube-proxy",
}

// builder carries one build's settings.
type builder struct {
	opts Options
	dir  string
	log  io.Writer
}

func (b *builder) containerName(stage string) string {
	return fmt.Sprintf("netlab-nodeimage-%s-%d", stage, os.Getpid())
}

func (b *builder) kubernetesDir() string {
	return filepath.Join(b.dir, "kubernetes-"+b.opts.KubernetesVersion)
}

func (b *builder) kubernetesBin(name string) string {
	return filepath.Join(b.kubernetesDir(), "bin", name)
}

// Build builds (or finds cached) everything and returns the node image
// name and whether any stage had to run.
func Build(ctx context.Context, opts Options) (string, bool, error) {
	opts = opts.withDefaults()
	b := &builder{opts: opts, dir: opts.CacheDir, log: opts.Log}
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return "", false, fmt.Errorf("cache dir: %w", err)
	}
	t0 := time.Now()
	fmt.Fprintf(b.log, "building node image %s (Kubernetes %s, cache %s)\n", opts.Image, opts.KubernetesVersion, b.dir)

	k8s, err := b.kubernetesBuild(ctx)
	if err != nil {
		return "", false, err
	}
	const total = 10
	built1, err := b.runStages(ctx, []stage{{
		name:   "kubernetes",
		inputs: []string{k8s.fingerprint()},
		done:   filesExist(b.binPaths(kubernetesBinaries)...),
		run:    k8s.run,
	}}, 0, total)
	if err != nil {
		return "", built1, err
	}
	specs, err := b.imageSpecs(ctx)
	if err != nil {
		return "", built1, err
	}
	builds, err := b.componentBuilds(ctx, specs)
	if err != nil {
		return "", built1, err
	}
	var stages []stage
	for _, g := range builds {
		stages = append(stages, stage{name: filepath.Base(g.out), inputs: []string{g.fingerprint()},
			done: filesExist(filepath.Join(g.dir, g.out)), run: g.run})
	}
	rootfsKey := key("debootstrap", suite, mirror)
	baseKey := key(rootfsKey, strings.Join(nodePackages, " "), baseSetup)
	imagesKey := key(append([]string{rootfsKey, strings.Join(proxyPackages, " "), k8s.fingerprint()}, fingerprints(builds)...)...)
	filesKey := key(embeddedDigest())
	nodeKey := key(baseKey, imagesKey, filesKey, opts.Image)
	stages = append(stages,
		stage{name: "rootfs", inputs: []string{rootfsKey}, done: filesExist(b.rootfsTar()), run: b.buildRootfs},
		stage{name: "base", inputs: []string{baseKey}, done: imageHasKey(baseImage),
			run: func(ctx context.Context) error { return b.buildBase(ctx, rootfsKey, key(baseKey)) }},
		stage{name: "proxybase", inputs: []string{rootfsKey, strings.Join(proxyPackages, " ")}, done: filesExist(b.proxyBaseTar()),
			run: func(ctx context.Context) error { return b.buildProxyBase(ctx, rootfsKey) }},
		stage{name: "images", inputs: []string{imagesKey}, done: filesExist(b.imageFiles(specs)...),
			run: func(ctx context.Context) error { return b.buildImages(specs) }},
		stage{name: "node", inputs: []string{nodeKey}, done: imageHasKey(opts.Image),
			run: func(ctx context.Context) error { return b.buildNode(ctx, specs, key(nodeKey)) }},
		stage{name: "testbin", inputs: []string{k8s.fingerprint(), fingerprints(builds)[0]}, done: filesExist(b.testbinPaths()...),
			run: func(ctx context.Context) error { return b.buildTestbin(filepath.Join(builds[0].dir, builds[0].out)) }},
	)
	built2, err := b.runStages(ctx, stages, 1, total)
	built := built1 || built2
	if err != nil {
		return "", built, err
	}
	fmt.Fprintf(b.log, "node image %s ready in %s\n", opts.Image, time.Since(t0).Round(100*time.Millisecond))
	return opts.Image, built, nil
}

func (b *builder) binPaths(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, b.kubernetesBin(n))
	}
	return out
}

func fingerprints(gs []goBuild) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.fingerprint())
	}
	return out
}

// embeddedDigest identifies the node files shipped in this binary.
func embeddedDigest() string {
	var sb strings.Builder
	_ = fs.WalkDir(nodeFiles, "files", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := fs.ReadFile(nodeFiles, p)
			sb.WriteString(p + "\n" + string(data) + "\n")
		}
		return nil
	})
	return key(sb.String())
}

// kubernetesBuild is the generated module that builds Kubernetes' binaries
// with version stamps (without them kubeadm and kubelet say v0.0.0).
func (b *builder) kubernetesBuild(ctx context.Context) (goBuild, error) {
	v := b.opts.KubernetesVersion
	major, minor, ok := majorMinor(v)
	if !ok {
		return goBuild{}, fmt.Errorf("kubernetes version %q is not vMAJOR.MINOR.PATCH", v)
	}
	staging := "v0." + strings.TrimPrefix(v, "v1.")
	reps, err := localReplaces(ctx, "k8s.io/kubernetes", v, func(string) string { return staging })
	if err != nil {
		return goBuild{}, fmt.Errorf("kubernetes %s from the module proxy: %w", v, err)
	}
	var stamps []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		for k, val := range map[string]string{
			"gitVersion": v, "gitMajor": major, "gitMinor": minor,
			"gitTreeState": "clean", "buildDate": "1970-01-01T00:00:00Z",
		} {
			stamps = append(stamps, "-X="+pkg+"."+k+"="+val)
		}
	}
	sort.Strings(stamps)
	ld := append([]string{"-s", "-w"}, stamps...)
	var pkgs []string
	for _, n := range kubernetesBinaries {
		pkgs = append(pkgs, "k8s.io/kubernetes/cmd/"+n)
	}
	return goBuild{dir: b.kubernetesDir(), module: "k8s.io/kubernetes", version: v, replaces: reps,
		packages: pkgs, out: "bin/", ldflags: strings.Join(ld, " ")}, nil
}

func majorMinor(v string) (string, string, bool) {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) != 3 {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// imageSpecs asks the built kubeadm which images it expects and maps each
// to the binary that goes into it.
func (b *builder) imageSpecs(ctx context.Context) ([]imageSpec, error) {
	out, err := exec.CommandContext(ctx, b.kubernetesBin("kubeadm"), "config", "images", "list",
		"--kubernetes-version", b.opts.KubernetesVersion).Output()
	if err != nil {
		return nil, fmt.Errorf("kubeadm config images list: %w", err)
	}
	var specs []imageSpec
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		ref := strings.TrimSpace(sc.Text())
		if ref == "" {
			continue
		}
		repo, tag, _ := strings.Cut(ref[strings.LastIndex(ref, "/")+1:], ":")
		s := imageSpec{ref: ref}
		switch repo {
		case "kube-apiserver", "kube-controller-manager", "kube-scheduler":
			s.binary, s.dest = b.kubernetesBin(repo), "/usr/local/bin/"+repo
		case "kube-proxy":
			s.binary, s.dest, s.baseTar = b.kubernetesBin(repo), "/usr/local/bin/"+repo, b.proxyBaseTar()
		case "etcd":
			s.binary, s.dest = b.componentBin("etcd", "v"+strings.SplitN(tag, "-", 2)[0]), "/usr/local/bin/etcd"
		case "coredns":
			s.binary, s.dest, s.entrypoint = b.componentBin("coredns", tag), "/coredns", []string{"/coredns"}
		case "pause":
			s.binary, s.dest, s.entrypoint = b.componentBin("pause", tag), "/pause", []string{"/pause"}
		default:
			return nil, fmt.Errorf("kubeadm expects image %s, which netlab cannot build", ref)
		}
		specs = append(specs, s)
	}
	return specs, nil
}

func (b *builder) componentDir(name, version string) string {
	return filepath.Join(b.dir, name+"-"+version)
}

func (b *builder) componentBin(name, version string) string {
	return filepath.Join(b.componentDir(name, version), "bin", name)
}

// componentBuilds are etcd, CoreDNS and pause at the versions kubeadm wants.
func (b *builder) componentBuilds(ctx context.Context, specs []imageSpec) ([]goBuild, error) {
	var builds []goBuild
	for _, s := range specs {
		dir := filepath.Dir(filepath.Dir(s.binary))
		version := strings.TrimPrefix(filepath.Base(dir), filepath.Base(s.binary)+"-")
		g := goBuild{dir: dir, out: "bin/" + filepath.Base(s.binary), ldflags: "-s -w"}
		switch filepath.Base(s.binary) {
		case "etcd":
			const mod = "go.etcd.io/etcd/server/v3"
			reps, err := localReplaces(ctx, mod, version, func(string) string { return version })
			if err != nil {
				return nil, fmt.Errorf("etcd %s from the module proxy: %w", version, err)
			}
			g.module, g.version, g.replaces, g.packages = mod, version, reps, []string{mod}
		case "coredns":
			g.module, g.version, g.packages = "github.com/coredns/coredns", version, []string{"github.com/coredns/coredns"}
		case "pause":
			g.mainGo, g.packages = pauseMain, []string{"."}
		default:
			continue
		}
		builds = append(builds, g)
	}
	// etcd first: testbin depends on it (fingerprints(builds)[0]).
	sortBuilds(builds)
	if len(builds) == 0 || filepath.Base(builds[0].out) != "etcd" {
		return nil, fmt.Errorf("kubeadm's image list names no etcd")
	}
	return builds, nil
}

func sortBuilds(gs []goBuild) {
	rank := map[string]int{"etcd": 0, "coredns": 1, "pause": 2}
	sort.SliceStable(gs, func(i, j int) bool { return rank[filepath.Base(gs[i].out)] < rank[filepath.Base(gs[j].out)] })
}

func (b *builder) imagesDir() string {
	return filepath.Join(b.dir, "images-"+b.opts.KubernetesVersion)
}

func (b *builder) imageFiles(specs []imageSpec) []string {
	var out []string
	for _, s := range specs {
		out = append(out, filepath.Join(b.imagesDir(), s.fileName()))
	}
	return out
}

func (b *builder) buildImages(specs []imageSpec) error {
	for _, s := range specs {
		t0 := time.Now()
		if err := writeImage(s, filepath.Join(b.imagesDir(), s.fileName())); err != nil {
			return err
		}
		fmt.Fprintf(b.log, "      %s (%s)\n", s.ref, time.Since(t0).Round(100*time.Millisecond))
	}
	return nil
}
