// Package world is netlab's model of a cluster: namespaces, pods with labels,
// IPs and container ports, services, and the NetworkPolicies that apply to
// them. Every backend and the engine start from a World; it is read from
// ordinary Kubernetes manifests (see Load) and only ever holds objects that
// passed validation.
package world

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// NamespaceNameLabel is the label the API server puts on every namespace.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Namespace is a namespace and its labels (always including
// NamespaceNameLabel).
type Namespace struct {
	Name   string
	Labels map[string]string
	// Implied is true when no Namespace object was given and the namespace
	// exists only because a pod, service or policy names it.
	Implied bool
}

// Port is one container port of a pod.
type Port struct {
	Name     string
	Port     int32
	Protocol corev1.Protocol
}

// String renders the port as "80/TCP".
func (p Port) String() string { return fmt.Sprintf("%d/%s", p.Port, p.Protocol) }

// Pod is a pod: where it lives, what it is labelled, its IP and the ports its
// containers declare. IP is the zero Addr when the pod has no address (no
// status.podIP, none assigned): such a pod matches no ipBlock, and the
// engine reports cells that only an ipBlock could decide as undecided.
type Pod struct {
	Namespace string
	Name      string
	Labels    map[string]string
	IP        netip.Addr
	Ports     []Port
	// IPAssigned is true when the manifest had no status.podIP and netlab
	// chose one.
	IPAssigned bool
	// Node is spec.nodeName, if any (used by multi-node backends).
	Node string
	// HostNetwork is spec.hostNetwork: the pod is its node as far as the
	// network goes. IP is the node's address (shared by every hostNetwork
	// pod of the node), no NetworkPolicy selects the pod, and only ipBlock
	// peers match its traffic, as for any node traffic.
	HostNetwork bool `json:",omitempty"`
}

// Key is "namespace/name".
func (p *Pod) Key() string { return p.Namespace + "/" + p.Name }

// Selected reports whether the pod matches one of filters, as the
// --from/--to flags spell them: "ns/name", "name", "ns/" or "ns/*". No
// filters select every pod.
func (p *Pod) Selected(filters []string) bool {
	if len(filters) == 0 {
		return true
	}
	for _, f := range filters {
		if f == p.Key() || f == p.Namespace+"/" || f == p.Namespace+"/*" || (!strings.Contains(f, "/") && f == p.Name) {
			return true
		}
	}
	return false
}

// NamedPort returns the container port called name with the given protocol.
func (p *Pod) NamedPort(name string, proto corev1.Protocol) (Port, bool) {
	for _, cp := range p.Ports {
		if cp.Name == name && cp.Protocol == proto {
			return cp, true
		}
	}
	return Port{}, false
}

// ServicePort is one port of a service.
type ServicePort struct {
	Name       string
	Port       int32
	TargetPort intstr.IntOrString
	Protocol   corev1.Protocol
}

// Service is a ClusterIP service: a name, a virtual IP and the pods its
// selector picks.
type Service struct {
	Namespace string
	Name      string
	Selector  map[string]string
	ClusterIP netip.Addr
	Ports     []ServicePort
	// IPAssigned is true when the manifest had no spec.clusterIP.
	IPAssigned bool
}

// Key is "namespace/name".
func (s *Service) Key() string { return s.Namespace + "/" + s.Name }

// World is the whole model. Slices are sorted by namespace then name, so
// everything derived from a World is deterministic.
type World struct {
	Namespaces []*Namespace
	Pods       []*Pod
	Services   []*Service
	Policies   []*networkingv1.NetworkPolicy
}

// Namespace returns the namespace called name, or nil.
func (w *World) Namespace(name string) *Namespace {
	i := sort.Search(len(w.Namespaces), func(i int) bool { return w.Namespaces[i].Name >= name })
	if i < len(w.Namespaces) && w.Namespaces[i].Name == name {
		return w.Namespaces[i]
	}
	return nil
}

// Pod returns the pod with key "namespace/name", or nil.
func (w *World) Pod(key string) *Pod {
	for _, p := range w.Pods {
		if p.Key() == key {
			return p
		}
	}
	return nil
}

// PodByIP returns the pod on the pod network that has ip, or nil. A node's
// address (that hostNetwork pods share) is no pod's.
func (w *World) PodByIP(ip netip.Addr) *Pod {
	for _, p := range w.Pods {
		if p.IP == ip && ip.IsValid() && !p.HostNetwork {
			return p
		}
	}
	return nil
}

// Policy returns the policy namespace/name, or nil.
func (w *World) Policy(namespace, name string) *networkingv1.NetworkPolicy {
	for _, p := range w.Policies {
		if p.Namespace == namespace && p.Name == name {
			return p
		}
	}
	return nil
}

// Clone returns a copy that can be changed (labels, policies) without
// touching w.
func (w *World) Clone() *World {
	c := &World{}
	for _, ns := range w.Namespaces {
		n := *ns
		n.Labels = cloneLabels(ns.Labels)
		c.Namespaces = append(c.Namespaces, &n)
	}
	for _, p := range w.Pods {
		q := *p
		q.Labels = cloneLabels(p.Labels)
		q.Ports = append([]Port(nil), p.Ports...)
		c.Pods = append(c.Pods, &q)
	}
	for _, s := range w.Services {
		t := *s
		t.Selector = cloneLabels(s.Selector)
		t.Ports = append([]ServicePort(nil), s.Ports...)
		c.Services = append(c.Services, &t)
	}
	for _, np := range w.Policies {
		c.Policies = append(c.Policies, np.DeepCopy())
	}
	return c
}

func cloneLabels(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Sort puts every slice in canonical order.
func (w *World) Sort() {
	sort.Slice(w.Namespaces, func(i, j int) bool { return w.Namespaces[i].Name < w.Namespaces[j].Name })
	sort.Slice(w.Pods, func(i, j int) bool { return w.Pods[i].Key() < w.Pods[j].Key() })
	sort.Slice(w.Services, func(i, j int) bool { return w.Services[i].Key() < w.Services[j].Key() })
	sort.Slice(w.Policies, func(i, j int) bool {
		a, b := w.Policies[i], w.Policies[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

// EnsureNamespace adds an implied namespace called name if the world has
// none, so that every object's namespace exists with its name label.
func (w *World) EnsureNamespace(name string) *Namespace {
	if ns := w.Namespace(name); ns != nil {
		return ns
	}
	ns := &Namespace{Name: name, Labels: map[string]string{NamespaceNameLabel: name}, Implied: true}
	w.Namespaces = append(w.Namespaces, ns)
	sort.Slice(w.Namespaces, func(i, j int) bool { return w.Namespaces[i].Name < w.Namespaces[j].Name })
	return ns
}

// ServiceEndpoints returns the pods a service's selector picks (none for a
// service without a selector).
func (w *World) ServiceEndpoints(s *Service) []*Pod {
	if len(s.Selector) == 0 {
		return nil
	}
	var out []*Pod
	for _, p := range w.Pods {
		if p.Namespace != s.Namespace {
			continue
		}
		match := true
		for k, v := range s.Selector {
			if p.Labels[k] != v {
				match = false
				break
			}
		}
		if match {
			out = append(out, p)
		}
	}
	return out
}
