package world

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
)

// Source says where an object came from: the file, the document inside it
// (0-based, counting YAML documents), the line the document starts on, and
// for items of a List their index.
type Source struct {
	File string
	Doc  int
	Line int
	Item int // -1 when the object is not inside a List
}

func (s Source) String() string {
	out := fmt.Sprintf("%s: document %d (line %d)", s.File, s.Doc, s.Line)
	if s.Item >= 0 {
		out += fmt.Sprintf(", items[%d]", s.Item)
	}
	return out
}

// Error is one bad object or document. It names the file, the document, the
// object and the fields, like the API server does.
type Error struct {
	Source    Source
	Kind      string
	Namespace string
	Name      string
	Fields    field.ErrorList
	Err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source.String())
	b.WriteString(": ")
	if e.Kind != "" {
		b.WriteString(e.Kind)
		if e.Name != "" {
			b.WriteString(" ")
			if e.Namespace != "" {
				b.WriteString(e.Namespace + "/")
			}
			b.WriteString(e.Name)
		}
		b.WriteString(" is invalid: ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	for i, fe := range e.Fields {
		if i > 0 || e.Err != nil {
			b.WriteString("; ")
		}
		b.WriteString(fe.Error())
	}
	return b.String()
}

// Errors is every problem found in one load; nothing of a load with errors
// is used.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Objects is what a set of manifests holds, each object with its source,
// before it is assembled into a World.
type Objects struct {
	Namespaces []Object[*corev1.Namespace]
	Pods       []Object[*corev1.Pod]
	Services   []Object[*corev1.Service]
	Policies   []Object[*networkingv1.NetworkPolicy]
}

// Object is a decoded Kubernetes object and where it came from.
type Object[T any] struct {
	Source Source
	Obj    T
}

// Load reads manifests from files and directories (YAML, multi-document
// YAML, JSON, kind: List) and builds a validated World. Notes about ignored
// kinds and assigned IPs go to notes (may be nil). A path of "-" reads
// standard input.
func Load(paths []string, notes io.Writer) (*World, error) {
	objs, err := Read(paths, notes)
	if err != nil {
		return nil, err
	}
	return Build(objs, notes)
}

func decodeObject(src Source, js []byte, objs *Objects, notes io.Writer) Errors {
	var tm struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(js, &tm); err != nil {
		return Errors{{Source: src, Err: fmt.Errorf("not a Kubernetes object: %v", err)}}
	}
	if tm.Kind == "" {
		obj := tm.Metadata.Name
		if tm.Metadata.Namespace != "" {
			obj = tm.Metadata.Namespace + "/" + obj
		}
		return Errors{{Source: src, Namespace: tm.Metadata.Namespace, Name: tm.Metadata.Name,
			Err: fmt.Errorf("Object 'Kind' is missing in object %q", obj)}}
	}
	bad := func(fields field.ErrorList, err error) Errors {
		return Errors{{Source: src, Kind: tm.Kind, Namespace: tm.Metadata.Namespace, Name: tm.Metadata.Name, Fields: fields, Err: err}}
	}
	if strings.HasSuffix(tm.Kind, "List") && tm.Items != nil {
		var errs Errors
		for i, item := range tm.Items {
			s := src
			s.Item = i
			errs = append(errs, decodeObject(s, item, objs, notes)...)
		}
		return errs
	}
	want := map[string]string{"Namespace": "v1", "Pod": "v1", "Service": "v1", "NetworkPolicy": "networking.k8s.io/v1"}[tm.Kind]
	if want == "" {
		fmt.Fprintf(notes, "note: %s: ignoring %s %s (netlab reads Namespace, Pod, Service and NetworkPolicy)\n", src, tm.Kind, tm.Metadata.Name)
		return nil
	}
	if tm.APIVersion != want {
		return bad(field.ErrorList{field.NotSupported(field.NewPath("apiVersion"), tm.APIVersion, []string{want})}, nil)
	}
	var fields field.ErrorList
	switch tm.Kind {
	case "Namespace":
		o := &corev1.Namespace{}
		if err := strict(js, o); err != nil {
			return bad(nil, err)
		}
		slim(&o.ObjectMeta)
		if fields = ValidateNamespace(o); len(fields) == 0 {
			objs.Namespaces = append(objs.Namespaces, Object[*corev1.Namespace]{src, o})
		}
	case "Pod":
		o := &corev1.Pod{}
		if err := strict(js, o); err != nil {
			return bad(nil, err)
		}
		slim(&o.ObjectMeta)
		if o.Namespace == "" {
			o.Namespace = metav1.NamespaceDefault
		}
		if fields = ValidatePod(o); len(fields) == 0 {
			warn(notes, src, "Pod", o.Namespace, o.Name, PodWarnings(o))
			o.Status.PodIP = canonicalIP(o.Status.PodIP)
			objs.Pods = append(objs.Pods, Object[*corev1.Pod]{src, o})
		}
	case "Service":
		o := &corev1.Service{}
		if err := strict(js, o); err != nil {
			return bad(nil, err)
		}
		slim(&o.ObjectMeta)
		if o.Namespace == "" {
			o.Namespace = metav1.NamespaceDefault
		}
		if fields = ValidateService(o); len(fields) == 0 {
			if o.Spec.ClusterIP != corev1.ClusterIPNone {
				o.Spec.ClusterIP = canonicalIP(o.Spec.ClusterIP)
			}
			objs.Services = append(objs.Services, Object[*corev1.Service]{src, o})
		}
	case "NetworkPolicy":
		o := &networkingv1.NetworkPolicy{}
		if err := strict(js, o); err != nil {
			return bad(nil, err)
		}
		slim(&o.ObjectMeta)
		if o.Namespace == "" {
			o.Namespace = metav1.NamespaceDefault
		}
		DefaultNetworkPolicy(o)
		if fields = ValidateNetworkPolicy(o); len(fields) == 0 {
			warn(notes, src, "NetworkPolicy", o.Namespace, o.Name, NetworkPolicyWarnings(o))
			objs.Policies = append(objs.Policies, Object[*networkingv1.NetworkPolicy]{src, o})
		}
	}
	if len(fields) > 0 {
		return bad(fields, nil)
	}
	return nil
}

// slim drops what a cluster dump carries that netlab never reads and that
// can be most of a decoded object's memory: managedFields and kubectl's
// last-applied-configuration (a copy of the whole object).
func slim(m *metav1.ObjectMeta) {
	m.ManagedFields = nil
	delete(m.Annotations, corev1.LastAppliedConfigAnnotation)
}

// warn prints the API server's warnings for an accepted object, as kubectl
// shows them ("Warning: ...").
func warn(notes io.Writer, src Source, kind, ns, name string, warns []string) {
	for _, w := range warns {
		fmt.Fprintf(notes, "Warning: %s: %s %s/%s: %s\n", src, kind, ns, name, w)
	}
}

// strict decodes like the API server with strict field validation: unknown
// and duplicate fields are errors that name the field path.
func strict(js []byte, into any) error {
	strictErrs, err := sigsjson.UnmarshalStrict(js, into)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, len(strictErrs))
		for i, e := range strictErrs {
			msgs[i] = e.Error()
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

// DefaultNetworkPolicy fills in what the API server defaults: protocol TCP
// on every port and policyTypes from the rules present.
func DefaultNetworkPolicy(np *networkingv1.NetworkPolicy) {
	tcp := corev1.ProtocolTCP
	for i := range np.Spec.Ingress {
		for j := range np.Spec.Ingress[i].Ports {
			if np.Spec.Ingress[i].Ports[j].Protocol == nil {
				np.Spec.Ingress[i].Ports[j].Protocol = &tcp
			}
		}
	}
	for i := range np.Spec.Egress {
		for j := range np.Spec.Egress[i].Ports {
			if np.Spec.Egress[i].Ports[j].Protocol == nil {
				np.Spec.Egress[i].Ports[j].Protocol = &tcp
			}
		}
	}
	if len(np.Spec.PolicyTypes) == 0 {
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) > 0 {
			np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
}

// Build assembles decoded objects into a World: implied namespaces, IPs for
// services that have none, and checks that span objects (duplicate names,
// duplicate pod IPs). A pod without status.podIP gets no address (see
// AssignPodIPs). Pods that are not running (status.phase Succeeded or
// Failed) are left out, with a note: they have no network, and their old
// addresses may belong to running pods already. hostNetwork pods keep
// their node's address, which they share with each other.
func Build(objs *Objects, notes io.Writer) (*World, error) {
	if notes == nil {
		notes = io.Discard
	}
	var errs Errors
	w := &World{}
	dup := map[string]Source{}
	seen := func(kind, ns, name string, src Source) bool {
		k := kind + "/" + ns + "/" + name
		if first, ok := dup[k]; ok {
			errs = append(errs, &Error{Source: src, Kind: kind, Namespace: ns, Name: name,
				Fields: field.ErrorList{field.Duplicate(field.NewPath("metadata", "name"), name)},
				Err:    fmt.Errorf("already defined at %s", first)})
			return true
		}
		dup[k] = src
		return false
	}
	for _, o := range objs.Namespaces {
		if seen("Namespace", "", o.Obj.Name, o.Source) {
			continue
		}
		labels := cloneLabels(o.Obj.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[NamespaceNameLabel] = o.Obj.Name
		w.Namespaces = append(w.Namespaces, &Namespace{Name: o.Obj.Name, Labels: labels})
	}
	w.Sort()
	usedIPs := map[netip.Addr]string{}
	notRunning, finished := 0, []string{}
	for _, o := range objs.Pods {
		p := o.Obj
		if seen("Pod", p.Namespace, p.Name, o.Source) {
			continue
		}
		if !running(p) {
			notRunning++
			finished = append(finished, p.Namespace+"/"+p.Name)
			continue
		}
		pod := &Pod{Namespace: p.Namespace, Name: p.Name, Labels: cloneLabels(p.Labels), Node: p.Spec.NodeName, HostNetwork: p.Spec.HostNetwork}
		if pod.Labels == nil {
			pod.Labels = map[string]string{}
		}
		for _, c := range p.Spec.Containers {
			for _, cp := range c.Ports {
				proto := cp.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				pod.Ports = append(pod.Ports, Port{Name: cp.Name, Port: cp.ContainerPort, Protocol: proto})
			}
		}
		sort.SliceStable(pod.Ports, func(i, j int) bool {
			if pod.Ports[i].Port != pod.Ports[j].Port {
				return pod.Ports[i].Port < pod.Ports[j].Port
			}
			return pod.Ports[i].Protocol < pod.Ports[j].Protocol
		})
		pod.Ports = dedupePorts(pod.Ports)
		if p.Status.PodIP != "" {
			pod.IP = netip.MustParseAddr(p.Status.PodIP) // validated
			if other, ok := usedIPs[pod.IP]; ok && !pod.HostNetwork {
				errs = append(errs, &Error{Source: o.Source, Kind: "Pod", Namespace: p.Namespace, Name: p.Name,
					Fields: field.ErrorList{field.Duplicate(field.NewPath("status", "podIP"), p.Status.PodIP)},
					Err:    fmt.Errorf("pod %s has the same IP", other)})
				continue
			}
			if !pod.HostNetwork { // hostNetwork pods share their node's address
				usedIPs[pod.IP] = pod.Key()
			}
		}
		w.Pods = append(w.Pods, pod)
		w.EnsureNamespace(pod.Namespace)
	}
	for _, o := range objs.Services {
		s := o.Obj
		if seen("Service", s.Namespace, s.Name, o.Source) {
			continue
		}
		svc := &Service{Namespace: s.Namespace, Name: s.Name, Selector: cloneLabels(s.Spec.Selector)}
		if ip := s.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
			svc.ClusterIP = netip.MustParseAddr(ip)
		}
		for _, sp := range s.Spec.Ports {
			proto := sp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			tp := sp.TargetPort
			if tp.IntValue() == 0 && tp.StrVal == "" {
				tp.IntVal = sp.Port
			}
			svc.Ports = append(svc.Ports, ServicePort{Name: sp.Name, Port: sp.Port, TargetPort: tp, Protocol: proto})
		}
		w.Services = append(w.Services, svc)
		w.EnsureNamespace(svc.Namespace)
	}
	for _, o := range objs.Policies {
		np := o.Obj
		if seen("NetworkPolicy", np.Namespace, np.Name, o.Source) {
			continue
		}
		w.Policies = append(w.Policies, np)
		w.EnsureNamespace(np.Namespace)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	w.Sort()
	assignServiceIPs(w)
	if notRunning > 0 {
		fmt.Fprintf(notes, "note: left out %s that %s not running (status.phase Succeeded or Failed: %s): finished pods have no network, and running pods may already reuse their addresses\n",
			plural(notRunning, "pod"), isAre(notRunning), shortList(finished))
	}
	return w, nil
}

// dedupePorts merges a port/protocol listed more than once (in one
// container or several) into one entry, so it is one destination, not
// several identical ones; ports must be sorted. Only two different names
// for the same port stay apart, so both names resolve.
func dedupePorts(ports []Port) []Port {
	out := ports[:0]
	for _, p := range ports {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.Port == p.Port && last.Protocol == p.Protocol && (last.Name == p.Name || p.Name == "" || last.Name == "") {
				if last.Name == "" {
					last.Name = p.Name
				}
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// DefaultPodCIDR is the pod network of netlab's sandbox: pods of built-in
// scenarios and labs get their addresses from it (AssignIPs), in name
// order, exactly as the sandbox gives them when it runs the pods.
var DefaultPodCIDR = netip.MustParsePrefix("10.244.0.0/16")

// DefaultServiceCIDR is where services without spec.clusterIP get theirs.
var DefaultServiceCIDR = netip.MustParsePrefix("10.96.0.0/16")

// AssignIPs gives every pod without an address the next free address of
// DefaultPodCIDR (the sandbox's pod network) and every service without a
// ClusterIP one of DefaultServiceCIDR, in name order, so the same world
// always gets the same addresses. Only worlds that the sandbox runs (or
// that stand for one) should get pod addresses this way; Build leaves pods
// without status.podIP without an address. Pod assignments are reported on
// notes.
func AssignIPs(w *World, notes io.Writer) {
	// DefaultPodCIDR has room for about 65,000 pods. AssignPodIPs gives
	// all or nothing, so a bigger world keeps its pods without addresses,
	// and the engine reports what that leaves undecided.
	_ = AssignPodIPs(w, DefaultPodCIDR, nil, notes)
	assignServiceIPs(w)
}

// assignServiceIPs gives every service without a ClusterIP the next free
// address of DefaultServiceCIDR, in name order.
func assignServiceIPs(w *World) {
	used := usedAddrs(w)
	for _, s := range w.Services {
		if !s.ClusterIP.IsValid() {
			s.ClusterIP = nextFree(DefaultServiceCIDR, used)
			s.IPAssigned = true
		}
	}
}

// Merge appends every object of o to objs.
func (objs *Objects) Merge(o *Objects) {
	objs.Namespaces = append(objs.Namespaces, o.Namespaces...)
	objs.Pods = append(objs.Pods, o.Pods...)
	objs.Services = append(objs.Services, o.Services...)
	objs.Policies = append(objs.Policies, o.Policies...)
}

// PolicyList returns the decoded policies without their sources.
func (objs *Objects) PolicyList() []*networkingv1.NetworkPolicy {
	out := make([]*networkingv1.NetworkPolicy, len(objs.Policies))
	for i, o := range objs.Policies {
		out[i] = o.Obj
	}
	return out
}
