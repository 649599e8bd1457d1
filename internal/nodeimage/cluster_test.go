package nodeimage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/dockerhost"
	"github.com/netlab/netlab/internal/testenv"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindlog "sigs.k8s.io/kind/pkg/log"
)

// TestKindClusterFromLocalImage creates a real two-node kind cluster from
// the locally built node image, with kind's default CNI disabled and
// netlab's pod network (bridge CNI config and routes) installed, waits for
// the nodes to be Ready and for CoreDNS (pods from a preloaded image, on
// the pod network, reaching the API server through kube-proxy's service
// rules) to run, checks that a pod answers from the other node, then
// deletes the cluster.
func TestKindClusterFromLocalImage(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a kind cluster (about a minute)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	testenv.Require(t, os.Geteuid() == 0, "needs root")
	_, err := dockerhost.DaemonInfo(ctx)
	testenv.Require(t, err == nil, fmt.Sprintf("needs Docker (sudo netlab doctor --backend kind --fix): %v", err))
	opts := Options{}.withDefaults()
	testenv.Require(t, ImageExists(ctx, opts.Image),
		fmt.Sprintf("node image %s not built (sudo netlab node-image build)", opts.Image))

	name := fmt.Sprintf("netlab-test-%d", os.Getpid())
	provider := cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(testLogger{t}))
	cfg := &v1alpha4.Cluster{
		Networking: v1alpha4.Networking{DisableDefaultCNI: true},
		Nodes:      []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole}, {Role: v1alpha4.WorkerRole}},
	}
	t0 := time.Now()
	err = provider.Create(name,
		cluster.CreateWithV1Alpha4Config(cfg),
		cluster.CreateWithNodeImage(opts.Image),
		cluster.CreateWithKubeconfigPath(filepath.Join(t.TempDir(), "kubeconfig")),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	)
	defer func() {
		if err := provider.Delete(name, ""); err != nil {
			t.Errorf("delete cluster %s: %v", name, err)
		}
	}()
	if err != nil {
		t.Fatalf("create cluster from %s: %v", opts.Image, err)
	}
	t.Logf("cluster %s created in %s", name, time.Since(t0).Round(time.Second))

	all, err := provider.ListNodes(name)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := nodeutils.ControlPlaneNodes(all)
	if err != nil || len(cp) != 1 {
		t.Fatalf("control-plane nodes: %v %v", cp, err)
	}
	node := cp[0]
	if v, err := nodeutils.KubeVersion(node); err != nil || v != opts.KubernetesVersion {
		t.Errorf("/kind/version = %q (%v), want %s", v, err, opts.KubernetesVersion)
	}
	if err := InstallPodNetwork(ctx, all); err != nil {
		t.Fatal(err)
	}
	err = waitFor(ctx, 3*time.Minute, func() error {
		out, err := kubectl(ctx, node, "get", "nodes", "-o", `jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}`)
		if err == nil && out != "True True" {
			err = fmt.Errorf("Ready=%q", out)
		}
		return err
	})
	if err != nil {
		t.Fatalf("node never became Ready: %v\n%s", err, diagnose(ctx, node))
	}
	t.Logf("nodes Ready %s after start", time.Since(t0).Round(time.Second))
	var dns [][2]string // pod IP, node name
	err = waitFor(ctx, 3*time.Minute, func() error {
		out, err := kubectl(ctx, node, "-n", "kube-system", "get", "pods", "-l", "k8s-app=kube-dns",
			"-o", `jsonpath={range .items[*]}{.status.podIP} {.spec.nodeName} {.status.containerStatuses[0].ready}{"\n"}{end}`)
		if err != nil {
			return err
		}
		dns = nil
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(l)
			if len(f) != 3 || f[2] != "true" || !strings.HasPrefix(f[0], "10.244.") {
				return fmt.Errorf("coredns pods not ready on the pod network: %q", out)
			}
			dns = append(dns, [2]string{f[0], f[1]})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, diagnose(ctx, node))
	}
	t.Logf("CoreDNS ready %s after start", time.Since(t0).Round(time.Second))

	// Across nodes: CoreDNS's TCP port answers from the node it is not on.
	for _, d := range dns {
		for _, n := range all {
			if n.String() == d[1] {
				continue
			}
			var out bytes.Buffer
			probe := fmt.Sprintf("timeout 5 bash -c '</dev/tcp/%s/53' && echo open", d[0])
			_ = n.CommandContext(ctx, "sh", "-c", probe).SetStdout(&out).SetStderr(&out).Run()
			if strings.TrimSpace(out.String()) != "open" {
				t.Errorf("from %s, CoreDNS %s on %s:53 does not answer: %s", n.String(), d[0], d[1], out.String())
			}
		}
	}
}

func kubectl(ctx context.Context, node nodes.Node, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := node.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig=/etc/kubernetes/admin.conf"}, args...)...)
	if err := cmd.SetStdout(&out).SetStderr(&errOut).Run(); err != nil {
		return "", fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, errOut.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// diagnose collects what explains a node that is not Ready.
func diagnose(ctx context.Context, node nodes.Node) string {
	var b strings.Builder
	for _, args := range [][]string{
		{"kubectl", "--kubeconfig=/etc/kubernetes/admin.conf", "get", "pods", "-A", "-o", "wide"},
		{"kubectl", "--kubeconfig=/etc/kubernetes/admin.conf", "describe", "node"},
		{"sh", "-c", "journalctl -u kubelet --no-pager | tail -40"},
	} {
		var out bytes.Buffer
		_ = node.CommandContext(ctx, args[0], args[1:]...).SetStdout(&out).SetStderr(&out).Run()
		fmt.Fprintf(&b, "$ %s\n%s\n", strings.Join(args, " "), out.String())
	}
	return b.String()
}

// testLogger sends kind's output to the test log.
type testLogger struct{ t *testing.T }

func (l testLogger) Warn(message string)                      { l.t.Log("kind: " + message) }
func (l testLogger) Warnf(format string, args ...any)         { l.t.Logf("kind: "+format, args...) }
func (l testLogger) Error(message string)                     { l.t.Log("kind: " + message) }
func (l testLogger) Errorf(format string, args ...any)        { l.t.Logf("kind: "+format, args...) }
func (l testLogger) V(level kindlog.Level) kindlog.InfoLogger { return testInfo{l.t, level <= 1} }

type testInfo struct {
	t  *testing.T
	on bool
}

func (l testInfo) Info(message string) {
	if l.on {
		l.t.Log("kind: " + message)
	}
}

func (l testInfo) Infof(format string, args ...any) {
	if l.on {
		l.t.Logf("kind: "+format, args...)
	}
}

func (l testInfo) Enabled() bool { return l.on }

// TestEnsureSaysWhichImage checks that Ensure hands back an image Docker
// has, and says whether it is kind's or netlab's.
func TestEnsureSaysWhichImage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	testenv.Require(t, os.Geteuid() == 0, "needs root")
	_, err := dockerhost.DaemonInfo(ctx)
	testenv.Require(t, err == nil, fmt.Sprintf("needs Docker: %v", err))
	opts := Options{}.withDefaults()
	testenv.Require(t, ImageExists(ctx, opts.Image) || ImageExists(ctx, KindDefaultImage),
		fmt.Sprintf("neither %s nor kind's image is here (sudo netlab node-image build)", opts.Image))

	var log bytes.Buffer
	img, _, err := Ensure(ctx, EnsureOptions{Options: Options{Log: &log}})
	if err != nil {
		t.Fatalf("Ensure: %v\n%s", err, log.String())
	}
	switch img {
	case KindDefaultImage:
		if !strings.Contains(log.String(), "using kind's default node image") {
			t.Errorf("chose kind's image without saying so:\n%s", log.String())
		}
	case opts.Image:
		if !strings.Contains(log.String(), "using netlab's locally built node image") {
			t.Errorf("chose the local image without saying so:\n%s", log.String())
		}
	default:
		t.Fatalf("Ensure returned %q", img)
	}
	if !ImageExists(ctx, img) {
		t.Errorf("Ensure returned %s, which Docker does not have", img)
	}

	t.Logf("Ensure said:\n%s", log.String())
	log.Reset()
	img, built, err := Ensure(ctx, EnsureOptions{Options: Options{Log: &log}, Offline: true})
	if err != nil || img != opts.Image || built {
		t.Errorf("offline Ensure = %q, built=%v, err=%v; want cached %s\n%s", img, built, err, opts.Image, log.String())
	}
	t.Logf("offline Ensure said:\n%s", log.String())
}
