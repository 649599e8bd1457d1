//go:build linux

package nodeagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// Run is the node agent: CNI config, routes, and (with Enforce) the
// enforcer, until ctx ends. Leaving keeps the CNI config, routes and the
// pinned programs in place, so a restart never interrupts pods' traffic or
// their policies.
func Run(ctx context.Context, o Options) error {
	o.defaults()
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(o.Log, time.Now().UTC().Format("15:04:05.000")+" "+format+"\n", args...)
	}
	if o.Node == "" {
		return errors.New("node-agent: no node name (set --node or NODE_NAME)")
	}
	cfg, err := restConfig(o.Kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("node-agent: API client: %w", err)
	}

	var ready sync.Once
	readyCh := make(chan struct{})
	var rec *Reconciler
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-readyCh:
			fmt.Fprintln(w, "ok")
		default:
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, _ *http.Request) {
		st := Status{Node: o.Node}
		if rec != nil {
			st = rec.Status()
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(st)
	})
	ln, err := net.Listen("tcp", o.StatusAddr)
	if err != nil {
		return fmt.Errorf("node-agent: status server: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	// 1. CNI configuration for this node's podCIDR.
	node, cidr, err := waitPodCIDR(ctx, client, o.Node, logf)
	if err != nil {
		return err
	}
	plugin, err := ChoosePlugin(o.CNIBinDir)
	if err != nil {
		return err
	}
	mtu := 1500
	if ip, ok := NodeIP(node); ok {
		if l, err := linkWithAddr(ip); err == nil {
			mtu = l.Attrs().MTU
		}
	}
	conf, err := CNIConfig(plugin, cidr, mtu)
	if err != nil {
		return fmt.Errorf("node %s: %w", o.Node, err)
	}
	if changed, err := WriteCNIConfig(o.CNIConfDir, conf); err != nil {
		return err
	} else if changed {
		logf("wrote %s/%s: %s plugin, pods in %s", o.CNIConfDir, ConfigName, plugin, cidr)
	}
	if plugin == PluginBridge {
		// Replies between pods on one bridge must see kube-proxy's NAT.
		os.WriteFile("/proc/sys/net/bridge/bridge-nf-call-iptables", []byte("1"), 0o644)
	}

	// 2. Routes to the other nodes' pods, kept current by a Node informer.
	nodeFactory := informers.NewSharedInformerFactory(client, 30*time.Second)
	nodeLister := nodeFactory.Core().V1().Nodes().Lister()
	routesKick := make(chan struct{}, 1)
	kickRoutes := func() {
		select {
		case routesKick <- struct{}{}:
		default:
		}
	}
	nodeFactory.Core().V1().Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { kickRoutes() }, UpdateFunc: func(any, any) { kickRoutes() }, DeleteFunc: func(any) { kickRoutes() },
	})
	nodeFactory.Start(ctx.Done())
	nodeFactory.WaitForCacheSync(ctx.Done())
	go func() {
		var last string
		for {
			nodes, _ := nodeLister.List(labels.Everything())
			routes, err := Routes(o.Node, nodes)
			if err == nil {
				err = SyncRoutes(routes)
			}
			if msg := fmt.Sprint(routes, err); msg != last {
				logf("routes: %v (error: %v)", routes, err)
				last = msg
			}
			select {
			case <-ctx.Done():
				return
			case <-routesKick:
			case <-time.After(30 * time.Second):
			}
		}
	}()

	if !o.Enforce {
		// A node switched from enforcing keeps its pinned programs:
		// empty their maps, so nothing is policed, as on a cluster whose
		// network plugin ignores NetworkPolicy.
		if d, err := enforcer.OpenMaps(o.PinDir); err == nil {
			if _, err := d.Sync(enforcer.State{}); err != nil {
				d.Close()
				return fmt.Errorf("node-agent: emptying the enforcer's maps: %w", err)
			}
			d.Close()
			logf("enforcer maps emptied")
		}
		logf("enforcer disabled: networking only")
		ready.Do(func() { close(readyCh) })
		<-ctx.Done()
		return nil
	}

	// 3. The enforcer: programs on every pod veth, maps from informers.
	d, err := enforcer.Open(o.PinDir)
	if err != nil {
		return fmt.Errorf("node-agent: %w", err)
	}
	defer d.Close()
	rec = NewReconciler(client, o.Node, d, logf)
	rec.SetHosts(NodeAddresses(node, cidr))
	if err := rec.Start(ctx); err != nil {
		return err
	}
	if _, err := rec.Reconcile(); err != nil {
		return fmt.Errorf("node-agent: first reconcile: %w", err)
	}
	nodeIP, _ := NodeIP(node)
	att := &attacher{d: d, skip: nodeIP, log: logf, attached: map[int]string{}}
	if err := att.scan(); err != nil {
		logf("attach: %v", err)
	}
	rec.setAttached(att.count())
	go rec.Run(ctx, 30*time.Second)
	ready.Do(func() { close(readyCh) })
	logf("ready: enforcing on %d veths", att.count())
	att.watch(ctx, func(n int) { rec.setAttached(n) })
	return nil
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("node-agent: kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("node-agent: in-cluster config: %w", err)
	}
	return cfg, nil
}

// waitPodCIDR waits until the controller manager has given the node a
// podCIDR.
func waitPodCIDR(ctx context.Context, client kubernetes.Interface, name string, logf func(string, ...any)) (*corev1.Node, netip.Prefix, error) {
	said := false
	for {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			if cidr, ok := PodCIDR(n); ok {
				return n, cidr, nil
			}
			if !said {
				logf("node %s has no spec.podCIDR yet; waiting", name)
				said = true
			}
		} else if !said {
			logf("getting node %s: %v; retrying", name, err)
			said = true
		}
		select {
		case <-ctx.Done():
			return nil, netip.Prefix{}, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// linkWithAddr returns the interface holding ip.
func linkWithAddr(ip netip.Addr) (netlink.Link, error) {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if a.IP.Equal(net.IP(ip.AsSlice())) {
			return netlink.LinkByIndex(a.LinkIndex)
		}
	}
	return nil, fmt.Errorf("no interface has %s", ip)
}

// attacher keeps the enforcer attached to every pod veth of the node: every
// veth except the node's own uplink (the one holding the node IP).
type attacher struct {
	d        *enforcer.Dataplane
	skip     netip.Addr
	log      func(string, ...any)
	mu       sync.Mutex
	attached map[int]string
}

func (a *attacher) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.attached)
}

// podVeths lists the host-side veths of pods: ifindex -> name.
func (a *attacher) podVeths() (map[int]string, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("listing links: %w", err)
	}
	uplink := -1
	if l, err := linkWithAddr(a.skip); err == nil {
		uplink = l.Attrs().Index
	}
	out := map[int]string{}
	for _, l := range links {
		if l.Type() != "veth" || l.Attrs().Index == uplink {
			continue
		}
		out[l.Attrs().Index] = l.Attrs().Name
	}
	return out, nil
}

// scan attaches to new pod veths and forgets vanished ones.
func (a *attacher) scan() error {
	want, err := a.podVeths()
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for idx, name := range want {
		if a.attached[idx] == name {
			continue
		}
		if err := a.d.Attach(idx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		a.attached[idx] = name
		a.log("attached to %s (ifindex %d)", name, idx)
	}
	for idx, name := range a.attached {
		if want[idx] != name {
			// The veth went with its pod: drop the pins and flows.
			if err := a.d.Detach(idx); err != nil {
				errs = append(errs, err)
			}
			delete(a.attached, idx)
		}
	}
	return errors.Join(errs...)
}

// watch rescans on every link change (and every few seconds) until ctx
// ends, reporting the number of attached veths.
func (a *attacher) watch(ctx context.Context, report func(int)) {
	updates := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.LinkSubscribe(updates, done); err != nil {
		a.log("link updates unavailable (%v); polling", err)
		updates = nil
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-updates:
			// Drain a burst before scanning.
			for len(updates) > 0 {
				<-updates
			}
		case <-time.After(3 * time.Second):
		}
		if err := a.scan(); err != nil {
			a.log("attach: %v", err)
		}
		report(a.count())
	}
}
