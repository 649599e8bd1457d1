package nodeagent

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/clusterworld"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/world"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
)

// Syncer is where the reconciler writes the desired maps;
// *enforcer.Dataplane is one, tests use a recorder.
type Syncer interface {
	Sync(enforcer.State) (enforcer.SyncStats, error)
}

// Desired is the enforcer state for w on a cluster node: the world lowered
// by the engine, every ClusterIP whose backends are pods, and the sender's
// egress judged at the receiver (see the package comment).
func Desired(w *world.World) (enforcer.State, error) {
	dp, err := netpol.New(w).Lower()
	if err != nil {
		return enforcer.State{}, fmt.Errorf("compiling policies: %w", err)
	}
	s := *dp
	s.EgressAtDestination = true
	for _, svc := range w.Services {
		if len(svc.Selector) > 0 && svc.ClusterIP.Is4() {
			s.Services = append(s.Services, svc.ClusterIP)
		}
	}
	return s, nil
}

// Status is what a node agent reports about its enforcement.
type Status struct {
	Node string `json:"node"`
	// WorldHash is clusterworld.Hash of the world last enforced.
	WorldHash  string    `json:"worldHash"`
	Generation int       `json:"generation"`
	Synced     time.Time `json:"synced"`
	Stats      string    `json:"stats"`
	Pods       int       `json:"pods"`
	Policies   int       `json:"policies"`
	Services   int       `json:"services"`
	Attached   int       `json:"attached"`
	Error      string    `json:"error,omitempty"`
}

// Reconciler keeps a Syncer equal to what the API server holds. Every
// change to a Pod, Namespace, Service or NetworkPolicy wakes it; it then
// compiles a fresh snapshot of the informer caches and syncs the
// difference, so a burst of changes costs one compilation.
type Reconciler struct {
	factory    informers.SharedInformerFactory
	namespaces corelisters.NamespaceLister
	pods       corelisters.PodLister
	services   corelisters.ServiceLister
	policies   networkinglisters.NetworkPolicyLister
	syncer     Syncer
	hosts      []netip.Addr
	log        func(format string, args ...any)
	kick       chan struct{}

	mu     sync.Mutex
	status Status
	// onSync, if set, runs after every successful sync (tests, attaching).
	onSync func(w *world.World)
}

// NewReconciler sets up informers on client. Nothing runs until Run.
func NewReconciler(client kubernetes.Interface, node string, s Syncer, log func(string, ...any)) *Reconciler {
	if log == nil {
		log = func(string, ...any) {}
	}
	f := informers.NewSharedInformerFactory(client, 0)
	r := &Reconciler{
		factory:    f,
		namespaces: f.Core().V1().Namespaces().Lister(),
		pods:       f.Core().V1().Pods().Lister(),
		services:   f.Core().V1().Services().Lister(),
		policies:   f.Networking().V1().NetworkPolicies().Lister(),
		syncer:     s,
		log:        log,
		kick:       make(chan struct{}, 1),
		status:     Status{Node: node},
	}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { r.Kick() },
		UpdateFunc: func(any, any) { r.Kick() },
		DeleteFunc: func(any) { r.Kick() },
	}
	for _, inf := range []cache.SharedIndexInformer{
		f.Core().V1().Namespaces().Informer(),
		f.Core().V1().Pods().Informer(),
		f.Core().V1().Services().Informer(),
		f.Networking().V1().NetworkPolicies().Informer(),
	} {
		inf.AddEventHandler(h)
	}
	return r
}

// SetHosts sets the node's own addresses (enforcer.State.Hosts): traffic
// between them and the node's pods is never policed. Call before Run.
func (r *Reconciler) SetHosts(hosts []netip.Addr) { r.hosts = hosts }

// Kick asks for a reconcile soon; kicks coalesce.
func (r *Reconciler) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Start starts the informers and waits until their caches are filled.
func (r *Reconciler) Start(ctx context.Context) error {
	r.factory.Start(ctx.Done())
	for typ, ok := range r.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("informer cache for %v did not sync", typ)
		}
	}
	return nil
}

// Run reconciles at start, on every kick and every resync interval, until
// ctx ends. Start must have returned first.
func (r *Reconciler) Run(ctx context.Context, resync time.Duration) {
	r.Kick()
	t := time.NewTicker(resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-t.C:
		}
		if _, err := r.Reconcile(); err != nil {
			r.log("reconcile: %v", err)
		}
	}
}

// Snapshot is the world the informer caches hold now.
func (r *Reconciler) Snapshot() (*world.World, error) {
	var o clusterworld.Objects
	var err error
	if o.Namespaces, err = r.namespaces.List(labels.Everything()); err != nil {
		return nil, err
	}
	if o.Pods, err = r.pods.List(labels.Everything()); err != nil {
		return nil, err
	}
	if o.Services, err = r.services.List(labels.Everything()); err != nil {
		return nil, err
	}
	if o.Policies, err = r.policies.List(labels.Everything()); err != nil {
		return nil, err
	}
	return clusterworld.Build(o)
}

// Reconcile compiles the current snapshot and syncs it.
func (r *Reconciler) Reconcile() (enforcer.SyncStats, error) {
	w, err := r.Snapshot()
	if err == nil {
		var s enforcer.State
		if s, err = Desired(w); err == nil {
			s.Hosts = r.hosts
			var stats enforcer.SyncStats
			if stats, err = r.syncer.Sync(s); err == nil {
				r.mu.Lock()
				r.status.Generation++
				r.status.WorldHash = clusterworld.Hash(w)
				r.status.Synced = time.Now().UTC()
				r.status.Stats = stats.String()
				r.status.Pods, r.status.Policies, r.status.Services = len(w.Pods), len(w.Policies), len(s.Services)
				r.status.Error = ""
				gen := r.status.Generation
				r.mu.Unlock()
				if stats != (enforcer.SyncStats{}) {
					r.log("generation %d: %d pods, %d policies: %s", gen, len(w.Pods), len(w.Policies), stats)
				}
				if r.onSync != nil {
					r.onSync(w)
				}
				return stats, nil
			}
		}
	}
	r.mu.Lock()
	r.status.Error = err.Error()
	r.mu.Unlock()
	return enforcer.SyncStats{}, err
}

// Status returns the last reconcile's outcome.
func (r *Reconciler) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

func (r *Reconciler) setAttached(n int) {
	r.mu.Lock()
	r.status.Attached = n
	r.mu.Unlock()
}

// servicesOf lists w's ClusterIPs with pod backends (for tests and logs).
func servicesOf(w *world.World) []netip.Addr {
	var out []netip.Addr
	for _, svc := range w.Services {
		if len(svc.Selector) > 0 && svc.ClusterIP.Is4() {
			out = append(out, svc.ClusterIP)
		}
	}
	return out
}
