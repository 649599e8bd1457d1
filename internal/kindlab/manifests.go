package kindlab

import (
	"maps"
	"sort"

	"github.com/netlab/netlab/internal/netlabimage"
	"github.com/netlab/netlab/internal/nodeagent"
	"github.com/netlab/netlab/internal/world"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Names of netlab's own objects.
const (
	NodeAgentName = "netlab-node-agent"
	// ManagedByLabel marks the objects netlab created (on the objects, not
	// on pods' selectable labels: it lives in annotations of scenario
	// pods so that it never changes what a selector matches).
	ManagedByAnnotation = "netlab.io/managed-by"
	// PodKeyAnnotation holds the world key a scenario pod was made from.
	PodKeyAnnotation = "netlab.io/pod"
	// AgentContainer is the scenario pods' container name, used for exec.
	AgentContainer = "agent"
)

// SystemObjects are the node agent's namespace, RBAC and DaemonSet.
type SystemObjects struct {
	Namespace          *corev1.Namespace
	ServiceAccount     *corev1.ServiceAccount
	ClusterRole        *rbacv1.ClusterRole
	ClusterRoleBinding *rbacv1.ClusterRoleBinding
	DaemonSet          *appsv1.DaemonSet
}

// NodeAgentManifests returns the objects that install netlab's networking
// and enforcer: a privileged host-network DaemonSet on every node
// (tolerating every taint: nodes are NotReady until it has written their
// CNI config), allowed to watch what it compiles.
func NodeAgentManifests(image, enforcement string) SystemObjects {
	labels := map[string]string{"app.kubernetes.io/name": NodeAgentName}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: SystemNamespace, Labels: maps.Clone(labels)}
	}
	privileged := true
	bidirectional := corev1.MountPropagationBidirectional
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	hostPath := func(name, path string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path, Type: &dirOrCreate}}}
	}
	maxUnavailable := intstr.FromString("100%")
	return SystemObjects{
		Namespace: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: SystemNamespace,
			Labels: map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}}},
		ServiceAccount: &corev1.ServiceAccount{ObjectMeta: meta(NodeAgentName)},
		ClusterRole: &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: NodeAgentName, Labels: maps.Clone(labels)},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"pods", "namespaces", "services", "nodes"}, Verbs: []string{"get", "list", "watch"}},
				{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"get", "list", "watch"}},
			},
		},
		ClusterRoleBinding: &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: NodeAgentName, Labels: maps.Clone(labels)},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: NodeAgentName},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: NodeAgentName, Namespace: SystemNamespace}},
		},
		DaemonSet: &appsv1.DaemonSet{
			ObjectMeta: meta(NodeAgentName),
			Spec: appsv1.DaemonSetSpec{
				Selector: &metav1.LabelSelector{MatchLabels: maps.Clone(labels)},
				UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
					Type:          appsv1.RollingUpdateDaemonSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &maxUnavailable},
				},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(labels)},
					Spec: corev1.PodSpec{
						ServiceAccountName:            NodeAgentName,
						HostNetwork:                   true,
						PriorityClassName:             "system-node-critical",
						TerminationGracePeriodSeconds: ptr(int64(2)),
						Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
						Containers: []corev1.Container{{
							Name:            "node-agent",
							Image:           image,
							ImagePullPolicy: corev1.PullNever,
							Command:         []string{netlabimage.BinaryPath, "node-agent", "--enforcer", enforcement},
							Env: []corev1.EnvVar{{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{
								FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
							SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
							ReadinessProbe: &corev1.Probe{
								ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
									Path: "/healthz", Port: intstr.FromInt32(nodeagent.StatusPort), Host: "127.0.0.1"}},
								PeriodSeconds: 1,
							},
							VolumeMounts: []corev1.VolumeMount{
								{Name: "cni-conf", MountPath: "/etc/cni/net.d"},
								{Name: "cni-bin", MountPath: "/opt/cni/bin", ReadOnly: true},
								{Name: "bpffs", MountPath: "/sys/fs/bpf", MountPropagation: &bidirectional},
							},
						}},
						Volumes: []corev1.Volume{
							hostPath("cni-conf", "/etc/cni/net.d"),
							hostPath("cni-bin", "/opt/cni/bin"),
							hostPath("bpffs", "/sys/fs/bpf"),
						},
					},
				},
			},
		},
	}
}

// ScenarioObjects are a world's objects as the kind lab creates them.
type ScenarioObjects struct {
	Namespaces []*corev1.Namespace
	Pods       []*corev1.Pod
	Services   []*corev1.Service
	Policies   []*networkingv1.NetworkPolicy
}

// IsClusterDNS reports whether a world pod stands for the cluster's DNS
// server (kube-system, k8s-app=kube-dns). On kind the real CoreDNS plays
// that part, so such pods are not created.
func IsClusterDNS(p *world.Pod) bool {
	return p.Namespace == "kube-system" && p.Labels["k8s-app"] == "kube-dns"
}

// ScenarioManifests turns a world into the objects to create: namespaces
// with their labels, one pod per world pod running `netlab agent serve` on
// its container ports (placed round-robin on nodes, so a scenario always
// spans nodes when there are several), its services and policies. Pod IPs
// and ClusterIPs netlab assigned for the sandbox are left to the cluster;
// a ClusterIP the world states is kept.
func ScenarioManifests(w *world.World, image string, nodes []string) ScenarioObjects {
	var out ScenarioObjects
	for _, ns := range w.Namespaces {
		out.Namespaces = append(out.Namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.Name, Labels: maps.Clone(ns.Labels)}})
	}
	i := 0
	for _, p := range w.Pods {
		if IsClusterDNS(p) {
			continue
		}
		args := []string{netlabimage.BinaryPath, "agent", "serve", "--pod", p.Key()}
		c := corev1.Container{
			Name:            AgentContainer,
			Image:           image,
			ImagePullPolicy: corev1.PullNever,
		}
		for _, cp := range p.Ports {
			args = append(args, "--port", cp.String())
			c.Ports = append(c.Ports, corev1.ContainerPort{Name: cp.Name, ContainerPort: cp.Port, Protocol: cp.Protocol})
		}
		c.Command = args
		for _, cp := range p.Ports {
			if cp.Protocol == corev1.ProtocolTCP {
				c.ReadinessProbe = &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(cp.Port)}},
					PeriodSeconds: 1,
				}
				break
			}
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Namespace:   p.Namespace,
				Name:        p.Name,
				Labels:      maps.Clone(p.Labels),
				Annotations: map[string]string{ManagedByAnnotation: "netlab", PodKeyAnnotation: p.Key()},
			},
			Spec: corev1.PodSpec{
				Containers:                    []corev1.Container{c},
				TerminationGracePeriodSeconds: ptr(int64(1)),
				AutomountServiceAccountToken:  ptr(false),
				EnableServiceLinks:            ptr(false),
			},
		}
		switch {
		case p.Node != "" && contains(nodes, p.Node):
			pod.Spec.NodeName = p.Node
		case len(nodes) > 0:
			pod.Spec.NodeName = nodes[i%len(nodes)]
			i++
		}
		out.Pods = append(out.Pods, pod)
	}
	for _, s := range w.Services {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name, Annotations: map[string]string{ManagedByAnnotation: "netlab"}},
			Spec:       corev1.ServiceSpec{Selector: maps.Clone(s.Selector)},
		}
		if !s.IPAssigned && s.ClusterIP.IsValid() {
			svc.Spec.ClusterIP = s.ClusterIP.String()
		}
		for _, sp := range s.Ports {
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: sp.Name, Port: sp.Port, TargetPort: sp.TargetPort, Protocol: sp.Protocol})
		}
		out.Services = append(out.Services, svc)
	}
	for _, np := range w.Policies {
		out.Policies = append(out.Policies, np.DeepCopy())
	}
	return out
}

// SchedulableNodes is where scenario pods go, round-robin: the workers,
// then the control plane. With two nodes a scenario spans both, so
// traffic crosses nodes in every lab.
func SchedulableNodes(nodes []corev1.Node) []string {
	var workers, cps []string
	for _, n := range nodes {
		if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; cp {
			cps = append(cps, n.Name)
		} else {
			workers = append(workers, n.Name)
		}
	}
	sort.Strings(workers)
	sort.Strings(cps)
	return append(workers, cps...)
}

func ptr[T any](v T) *T { return &v }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
