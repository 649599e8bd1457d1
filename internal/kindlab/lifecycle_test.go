package kindlab

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/netlabimage"
	"github.com/netlab/netlab/internal/world"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// fakeClusters is kind's provider with a failure injected after Create.
type fakeClusters struct {
	existing         []string
	created, deleted []string
}

func (f *fakeClusters) List() ([]string, error) { return f.existing, nil }
func (f *fakeClusters) Create(name string, _ ...cluster.CreateOption) error {
	f.created = append(f.created, name)
	return nil
}
func (f *fakeClusters) Delete(name, _ string) error {
	f.deleted = append(f.deleted, name)
	return nil
}
func (f *fakeClusters) KubeConfig(string, bool) (string, error) {
	return "", errors.New("injected failure after the cluster exists")
}
func (f *fakeClusters) ExportKubeConfig(string, string, bool) error { return nil }
func (f *fakeClusters) ListNodes(string) ([]nodes.Node, error)      { return nil, nil }

func fakeKind(t *testing.T, existing ...string) *fakeClusters {
	t.Helper()
	f := &fakeClusters{existing: existing}
	old := newClusters
	newClusters = func([]cluster.ProviderOption) clusters { return f }
	oldRoot := StateRoot
	StateRoot = t.TempDir()
	t.Cleanup(func() { newClusters, StateRoot = old, oldRoot })
	return f
}

func emptyWorld() *world.World { return &world.World{} }

// TestUpChecksBinaryFirst (issue 10 item 18): with a dynamically linked
// netlab outside the source tree, up fails before it creates anything,
// and says how to fix it. Before the fix it created the cluster first and
// failed at the image, leaving the cluster.
func TestUpChecksBinaryFirst(t *testing.T) {
	f := fakeKind(t)
	t.Chdir(t.TempDir()) // no netlab source tree to rebuild from
	_, err := Up(context.Background(), emptyWorld(), Options{Name: "t18", Self: "/bin/true", NodeImage: "img"})
	if err == nil || !strings.Contains(err.Error(), "make build") || !strings.Contains(err.Error(), "dynamically linked") {
		t.Fatalf("up with a dynamic binary: %v, want an error saying to 'make build'", err)
	}
	if len(f.created) > 0 {
		t.Fatalf("up created clusters %v before failing", f.created)
	}
	if _, err := os.Stat(Dir("t18")); err == nil {
		t.Errorf("up left its state directory %s", Dir("t18"))
	}
}

// TestFailedUpDeletesItsCluster (item 18): a step failing after the
// cluster was created deletes it, and the state; a failing up on a
// cluster that existed before deletes nothing.
func TestFailedUpDeletesItsCluster(t *testing.T) {
	old := imageFor
	imageFor = func(context.Context, string) (*netlabimage.Image, error) {
		return &netlabimage.Image{Ref: "netlab.local/netlab:test"}, nil
	}
	t.Cleanup(func() { imageFor = old })

	f := fakeKind(t)
	if _, err := Up(context.Background(), emptyWorld(), Options{Name: "t18", NodeImage: "img"}); err == nil {
		t.Fatal("up with a failing step succeeded")
	}
	if !slices.Equal(f.created, []string{"t18"}) || !slices.Equal(f.deleted, []string{"t18"}) {
		t.Fatalf("created %v, deleted %v: want the failed up to delete the cluster it created", f.created, f.deleted)
	}
	if _, err := os.Stat(Dir("t18")); err == nil {
		t.Errorf("failed up left %s", Dir("t18"))
	}

	f = fakeKind(t, "theirs")
	if _, err := Up(context.Background(), emptyWorld(), Options{Name: "theirs", NodeImage: "img"}); err == nil {
		t.Fatal("up with a failing step succeeded")
	}
	if len(f.created)+len(f.deleted) > 0 {
		t.Fatalf("up reusing cluster theirs: created %v, deleted %v; want neither", f.created, f.deleted)
	}
}

// TestClustersAreRecognisedExactly (item 9): only kind clusters whose
// nodes mount their lab's owner directory are netlab's; gc must never
// see a cluster someone else made.
func TestClustersAreRecognisedExactly(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "docker-inspect.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseInspect(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Cluster{{Name: "k1", StateDir: "/var/lib/netlab/kind/k1", Containers: []string{"k1-control-plane", "k1-worker"}}}
	if len(got) != 1 || got[0].Name != want[0].Name || got[0].StateDir != want[0].StateDir || !slices.Equal(got[0].Containers, want[0].Containers) {
		t.Fatalf("netlab's clusters: %+v, want %+v", got, want)
	}
	c := Cluster{Name: "k1", StateDir: t.TempDir()}
	if !c.Orphan() {
		t.Error("a cluster whose state directory has no state is not an orphan")
	}
	os.WriteFile(filepath.Join(c.StateDir, "state.json"), []byte("{}"), 0o600)
	if c.Orphan() {
		t.Error("a cluster whose lab has state is an orphan")
	}
}
