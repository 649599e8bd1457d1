package kindlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/netlabimage"
	"github.com/netlab/netlab/internal/nodeimage"
	"github.com/netlab/netlab/internal/statefile"
	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"
	kindlog "sigs.k8s.io/kind/pkg/log"
)

// Options for Up.
type Options struct {
	Name     string
	Scenario string // recorded for status
	// Nodes is the number of nodes: one control plane and Nodes-1 workers
	// (default 2).
	Nodes int
	// NodeImage is the kind node image; empty means nodeimage.Ensure
	// (kind's default image if Docker has it, else netlab's offline build).
	NodeImage string
	// Enforcement is EnforceEBPF (default) or EnforceNone.
	Enforcement string
	// Progress receives one line per step (nil: quiet). kind's own steps
	// go to standard error through kind's logger, as `kind create` shows
	// them.
	Progress io.Writer
	// Self is a static netlab binary for the image (default: this
	// executable when it is static, else a fresh CGO_ENABLED=0 build).
	Self string
	// Kubeconfig is where kind writes the lab's context; empty means
	// kind's default ($KUBECONFIG, else ~/.kube/config).
	Kubeconfig string
	// Timeout bounds the wait for nodes, pods and the first probe
	// (default 5 minutes).
	Timeout time.Duration
}

// Stage is one timed step of Up.
type Stage struct {
	Name     string
	Duration time.Duration
}

// Result is what Up made and how long each stage took.
type Result struct {
	*State
	Stages []Stage
}

// Up brings a kind lab up: the cluster (created with kind's library, or
// reused when it exists), netlab's image loaded into its nodes, the node
// agent DaemonSet, the scenario; then it waits until every node agent and
// scenario pod is Ready and the probed matrix agrees with the engine (all
// allowed for an empty policy set). Running Up again on a lab that is up
// converges it: nothing that exists is recreated.
func Up(ctx context.Context, w *world.World, o Options) (*Result, error) {
	if err := ValidateName(o.Name); err != nil {
		return nil, err
	}
	if o.Nodes == 0 {
		o.Nodes = 2
	}
	if o.Nodes < 1 || o.Nodes > 10 {
		return nil, fmt.Errorf("--nodes %d: want 1 to 10", o.Nodes)
	}
	if o.Enforcement == "" {
		o.Enforcement = EnforceEBPF
	}
	if o.Enforcement != EnforceEBPF && o.Enforcement != EnforceNone {
		return nil, fmt.Errorf("--enforcer %q: want %s or %s", o.Enforcement, EnforceEBPF, EnforceNone)
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	res := &Result{}
	stageStart := time.Now()
	stage := func(name string) {
		res.Stages = append(res.Stages, Stage{name, time.Since(stageStart)})
		stageStart = time.Now()
	}
	say := func(format string, args ...any) { fmt.Fprintf(progress, " • "+format+"\n", args...) }
	done := func(format string, args ...any) { fmt.Fprintf(progress, " ✓ "+format+"\n", args...) }

	// 0. Before anything is made: netlab's image needs a static netlab
	// binary, and no other lab command may be working on this lab.
	img, err := imageFor(ctx, o.Self)
	if err != nil {
		return nil, err
	}
	unlock, err := statefile.Lock(lockPath(o.Name), true, false)
	if errors.Is(err, statefile.ErrLocked) {
		return nil, fmt.Errorf("lab %q is being brought up or down by another netlab command (pid %d): wait for it, then see 'netlab status'",
			o.Name, statefile.LockHolder(lockPath(o.Name)))
	}
	if err != nil {
		return nil, fmt.Errorf("locking lab %s: %w", o.Name, err)
	}
	defer unlock()
	// A failed up removes the cluster it created (never one it reused).
	created, ok, hadState := false, false, Exists(o.Name)
	provider := newClusters(nil)
	defer func() {
		if ok {
			return
		}
		if created {
			fmt.Fprintf(progress, " • up failed: deleting the kind cluster %s it created\n", o.Name)
			if err := provider.Delete(o.Name, o.Kubeconfig); err != nil {
				fmt.Fprintf(progress, "   deleting kind cluster %s: %v\n", o.Name, err)
			}
		}
		if created || !hadState {
			os.RemoveAll(Dir(o.Name))
		}
	}()

	// 1. The node image.
	nodeImage := o.NodeImage
	if nodeImage == "" {
		var err error
		nodeImage, _, err = nodeimage.Ensure(ctx, nodeimage.EnsureOptions{Options: nodeimage.Options{Log: progress}})
		if err != nil {
			return nil, fmt.Errorf("kind node image: %w", err)
		}
	}
	stage("node image")

	// 2. The cluster.
	var logger kindlog.Logger = kindlog.NoopLogger{}
	if o.Progress != nil {
		logger = kindcmd.NewLogger()
	}
	provider = newClusters([]cluster.ProviderOption{cluster.ProviderWithLogger(logger)})
	existing, err := provider.List()
	if err != nil {
		return nil, fmt.Errorf("listing kind clusters (is Docker running? see 'netlab doctor --backend kind'): %w", err)
	}
	st := &State{Name: o.Name, Backend: "kind", Created: time.Now().UTC(), Scenario: o.Scenario, Cluster: o.Name,
		Context: "kind-" + o.Name, NodeImage: nodeImage, Nodes: o.Nodes, Enforcement: o.Enforcement}
	if old, err := Load(o.Name); err == nil {
		st.Created = old.Created
		if old.Nodes != o.Nodes && slices.Contains(existing, o.Name) {
			return nil, fmt.Errorf("lab %q is up with %d nodes, not %d: 'netlab down --name %s' first", o.Name, old.Nodes, o.Nodes, o.Name)
		}
	}
	res.State = st
	if slices.Contains(existing, o.Name) {
		done("kind cluster %s exists; reusing it", o.Name)
	} else {
		cfg := &v1alpha4.Cluster{
			TypeMeta:   v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
			Networking: v1alpha4.Networking{DisableDefaultCNI: true},
			Nodes:      []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole}},
		}
		for i := 1; i < o.Nodes; i++ {
			cfg.Nodes = append(cfg.Nodes, v1alpha4.Node{Role: v1alpha4.WorkerRole})
		}
		// The mark that says netlab made this cluster (owner.go).
		if err := os.MkdirAll(ownerDir(o.Name), 0o700); err != nil {
			return nil, err
		}
		host, inNode := ownerMount(o.Name)
		for i := range cfg.Nodes {
			cfg.Nodes[i].ExtraMounts = append(cfg.Nodes[i].ExtraMounts, v1alpha4.Mount{HostPath: host, ContainerPath: inNode, Readonly: true})
		}
		fmt.Fprintf(progress, "Creating kind cluster %q (%d nodes, netlab networking instead of kindnet) ...\n", o.Name, o.Nodes)
		created = true // even a failed Create can leave containers
		err := provider.Create(o.Name,
			cluster.CreateWithV1Alpha4Config(cfg),
			cluster.CreateWithNodeImage(nodeImage),
			cluster.CreateWithKubeconfigPath(o.Kubeconfig),
			cluster.CreateWithDisplayUsage(false),
			cluster.CreateWithDisplaySalutation(false),
		)
		if err != nil {
			return nil, fmt.Errorf("creating kind cluster %s: %w", o.Name, err)
		}
	}
	// netlab's own kubeconfig, and the learner's context (kind's way).
	kc, err := provider.KubeConfig(o.Name, false)
	if err != nil {
		return nil, fmt.Errorf("kind cluster %s: kubeconfig: %w", o.Name, err)
	}
	if err := os.MkdirAll(Dir(o.Name), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(KubeconfigPath(o.Name), []byte(kc), 0o600); err != nil {
		return nil, err
	}
	if err := provider.ExportKubeConfig(o.Name, o.Kubeconfig, false); err != nil {
		return nil, fmt.Errorf("writing the kubeconfig context kind-%s: %w", o.Name, err)
	}
	if err := st.save(); err != nil {
		return nil, err
	}
	stage("cluster")

	// 3. netlab's image (built in step 0), loaded into every node.
	st.Image = img.Ref
	kindNodes, err := provider.ListNodes(o.Name)
	if err != nil {
		return nil, fmt.Errorf("listing nodes of %s: %w", o.Name, err)
	}
	loaded, err := loadImage(img, kindNodes)
	if err != nil {
		return nil, err
	}
	if loaded > 0 {
		done("netlab image %s loaded into %d nodes", img.Ref, loaded)
	} else {
		done("netlab image %s already on every node", img.Ref)
	}
	if err := st.save(); err != nil {
		return nil, err
	}
	stage("image")

	// 4. Networking and the enforcer.
	client, cfg, err := clientFromKubeconfig([]byte(kc))
	if err != nil {
		return nil, err
	}
	_ = cfg
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := applySystem(wctx, client, NodeAgentManifests(img.Ref, o.Enforcement)); err != nil {
		return nil, err
	}
	if err := waitDaemonSet(wctx, client); err != nil {
		return nil, fmt.Errorf("netlab node agent: %w\n%s", err, describeNodeAgents(ctx, client))
	}
	if err := waitNodesReady(wctx, client); err != nil {
		return nil, err
	}
	enforcing := "eBPF enforcer on"
	if o.Enforcement == EnforceNone {
		enforcing = "NO enforcement on"
	}
	done("netlab networking (routes between nodes, CNI config) and %s %d nodes", enforcing, o.Nodes)
	stage("networking")

	// 5. The scenario.
	nodeList, err := client.CoreV1().Nodes().List(wctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	objs := ScenarioManifests(w, img.Ref, SchedulableNodes(nodeList.Items))
	st.Namespaces = nil
	for _, ns := range objs.Namespaces {
		if ns.Name != "kube-system" {
			st.Namespaces = append(st.Namespaces, ns.Name)
		}
	}
	if err := st.save(); err != nil {
		return nil, err
	}
	if err := applyScenario(wctx, client, objs); err != nil {
		return nil, err
	}
	if err := waitPodsReady(wctx, client, objs.Pods); err != nil {
		return nil, err
	}
	if err := waitClusterDNS(wctx, client); err != nil {
		return nil, err
	}
	if key := clusterDNSKey(w); key != "" {
		if err := nameClusterDNS(wctx, client, key); err != nil {
			return nil, err
		}
		if err := addProbeContainer(wctx, client, img.Ref, key); err != nil {
			return nil, err
		}
	}
	done("scenario: %d namespaces, %d pods Ready, %d services, %d policies", len(objs.Namespaces), len(objs.Pods), len(objs.Services), len(objs.Policies))
	stage("scenario")

	// 6. The first probe must agree with the engine.
	say("probing the matrix until it agrees with the engine")
	if err := waitMatrix(wctx, o.Name); err != nil {
		return nil, err
	}
	done("probe matrix agrees with the policies")
	stage("first probe")
	ok = true
	return res, nil
}

// imageFor is buildImage; a variable so tests can skip the build.
var imageFor = buildImage

// buildImage makes netlab's image from a static binary.
func buildImage(ctx context.Context, self string) (*netlabimage.Image, error) {
	if self == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		self = exe
	}
	dir, err := os.MkdirTemp("", "netlab-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin, err := netlabimage.Binary(ctx, self, dir)
	if err != nil {
		return nil, err
	}
	img, err := netlabimage.Build(bin)
	if err != nil {
		return nil, fmt.Errorf("building netlab's image: %w", err)
	}
	return img, nil
}

// loadImage loads img into every node that lacks it (kind's image loading:
// `ctr images import` of the archive inside the node) and returns how many
// nodes it loaded.
func loadImage(img *netlabimage.Image, kindNodes []nodes.Node) (int, error) {
	n := 0
	for _, node := range kindNodes {
		if id, err := nodeutils.ImageID(node, img.Ref); err == nil && id != "" {
			continue
		}
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(img.WriteArchive(pw)) }()
		err := nodeutils.LoadImageArchive(node, pr)
		pr.Close()
		if err != nil {
			return n, fmt.Errorf("loading %s into node %s: %w", img.Ref, node.String(), err)
		}
		n++
	}
	return n, nil
}

func clientFromKubeconfig(kc []byte) (kubernetes.Interface, *rest.Config, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("API client: %w", err)
	}
	return client, cfg, nil
}

// Client returns an API client for a lab, from its saved kubeconfig.
func Client(name string) (kubernetes.Interface, *rest.Config, error) {
	kc, err := os.ReadFile(KubeconfigPath(name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("lab %q: %w", name, ErrNoLab)
		}
		return nil, nil, err
	}
	return clientFromKubeconfig(kc)
}

// poll runs f every interval until it returns nil, ctx ends (the last
// error is returned, wrapped with what), or f returns a permanent error.
func poll(ctx context.Context, interval time.Duration, what string, f func() error) error {
	var last error
	for {
		if last = f(); last == nil {
			return nil
		}
		var perm permanent
		if errors.As(last, &perm) {
			return perm.err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last: %v)", what, ctx.Err(), last)
		case <-time.After(interval):
		}
	}
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }

func waitNodesReady(ctx context.Context, client kubernetes.Interface) error {
	return poll(ctx, time.Second, "waiting for nodes to be Ready", func() error {
		nl, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		var notReady []string
		for _, n := range nl.Items {
			if !nodeReady(&n) {
				notReady = append(notReady, n.Name)
			}
		}
		if len(notReady) > 0 {
			return fmt.Errorf("not Ready: %s", strings.Join(notReady, ", "))
		}
		return nil
	})
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func waitPodsReady(ctx context.Context, client kubernetes.Interface, pods []*corev1.Pod) error {
	return poll(ctx, 500*time.Millisecond, "waiting for scenario pods to be Ready", func() error {
		var notReady []string
		for _, want := range pods {
			p, err := client.CoreV1().Pods(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if p.Status.Phase == corev1.PodFailed {
				return permanent{fmt.Errorf("pod %s/%s failed: %s", p.Namespace, p.Name, p.Status.Message)}
			}
			if !podReady(p) {
				notReady = append(notReady, fmt.Sprintf("%s/%s (%s)", p.Namespace, p.Name, podWaitReason(p)))
			}
		}
		if len(notReady) > 0 {
			return fmt.Errorf("not Ready: %s", strings.Join(notReady, ", "))
		}
		return nil
	})
}

func podWaitReason(p *corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting != nil {
			return cs.State.Waiting.Reason
		}
	}
	return string(p.Status.Phase)
}

// waitClusterDNS waits for CoreDNS, which the lab's names and the DNS
// lessons need.
func waitClusterDNS(ctx context.Context, client kubernetes.Interface) error {
	return poll(ctx, 500*time.Millisecond, "waiting for CoreDNS", func() error {
		pl, err := client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
		if err != nil {
			return err
		}
		ready := 0
		for i := range pl.Items {
			if podReady(&pl.Items[i]) {
				ready++
			}
		}
		if ready == 0 {
			return fmt.Errorf("no CoreDNS pod is Ready")
		}
		return nil
	})
}
