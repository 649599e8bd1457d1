package nodeimage

import (
	"io"
	"os"
	"path/filepath"
	"strings"
)

// DefaultKubernetesVersion is the version netlab builds. 1.34 is the newest
// minor whose kubelet runs on cgroup v1 without failCgroupV1: false, and
// matches the k8s.io/api netlab itself uses.
const DefaultKubernetesVersion = "v1.34.4"

// ImageRepository is where locally built node images are tagged
// (ImageRepository:KUBERNETES-VERSION).
const ImageRepository = "netlab/node"

// recipe changes whenever the way images are assembled changes, so that
// cached stages built by an older netlab are rebuilt.
const recipe = "netlab-nodeimage-1"

// Options configure a build.
type Options struct {
	// KubernetesVersion like "v1.34.4"; empty means DefaultKubernetesVersion.
	KubernetesVersion string
	// Image names the resulting node image; empty means
	// ImageRepository:KubernetesVersion.
	Image string
	// CacheDir holds every stage's output; empty means DefaultCacheDir().
	CacheDir string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

func (o Options) withDefaults() Options {
	if o.KubernetesVersion == "" {
		o.KubernetesVersion = DefaultKubernetesVersion
	}
	if !strings.HasPrefix(o.KubernetesVersion, "v") {
		o.KubernetesVersion = "v" + o.KubernetesVersion
	}
	if o.Image == "" {
		o.Image = ImageRepository + ":" + o.KubernetesVersion
	}
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// DefaultCacheDir is $NETLAB_CACHE_DIR/nodeimage when set, else
// /var/cache/netlab/nodeimage for root, else
// $XDG_CACHE_HOME/netlab/nodeimage (~/.cache/netlab/nodeimage).
func DefaultCacheDir() string {
	if d := os.Getenv("NETLAB_CACHE_DIR"); d != "" {
		return filepath.Join(d, "nodeimage")
	}
	if os.Geteuid() == 0 {
		return "/var/cache/netlab/nodeimage"
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "netlab", "nodeimage")
	}
	return filepath.Join(os.TempDir(), "netlab", "nodeimage")
}
