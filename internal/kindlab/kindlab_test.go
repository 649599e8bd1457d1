package kindlab

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/netlab/netlab/internal/agent"
	"github.com/netlab/netlab/internal/nodeagent"
	"github.com/netlab/netlab/internal/world"
	"github.com/netlab/netlab/scenarios"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func netpolLab(t testing.TB) *world.World {
	t.Helper()
	name, data, err := scenarios.Get("netpol-lab")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := world.Parse(name, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := world.Build(objs, nil)
	if err != nil {
		t.Fatal(err)
	}
	world.AssignIPs(w, nil) // as a lab's world
	return w
}

func TestScenarioManifests(t *testing.T) {
	w := netpolLab(t)
	const img = "netlab.local/netlab:0123456789abcdef"
	o := ScenarioManifests(w, img, []string{"lab-worker", "lab-worker2"})

	var pods []string
	nodes := map[string]bool{}
	for _, p := range o.Pods {
		pods = append(pods, p.Namespace+"/"+p.Name)
		nodes[p.Spec.NodeName] = true
		c := p.Spec.Containers[0]
		if c.Image != img || c.ImagePullPolicy != corev1.PullNever || c.Name != AgentContainer {
			t.Errorf("pod %s: container %+v", p.Name, c)
		}
		if p.Annotations[PodKeyAnnotation] != p.Namespace+"/"+p.Name {
			t.Errorf("pod %s: annotations %v", p.Name, p.Annotations)
		}
		if _, ok := p.Labels[ManagedByAnnotation]; ok {
			t.Errorf("pod %s: netlab put a label on it (%v): selectors would see it", p.Name, p.Labels)
		}
	}
	// kube-system/coredns stands for the cluster's DNS: kind has a real one.
	if want := []string{"netpol-lab/backend", "netpol-lab/client", "netpol-lab/frontend"}; !slices.Equal(pods, want) {
		t.Errorf("pods = %v, want %v", pods, want)
	}
	if len(nodes) != 2 {
		t.Errorf("pods on nodes %v, want both workers used", nodes)
	}
	fe := o.Pods[2]
	if got := strings.Join(fe.Spec.Containers[0].Command, " "); got != "/netlab agent serve --pod netpol-lab/frontend --port 80/TCP" {
		t.Errorf("frontend command = %q", got)
	}
	if cp := fe.Spec.Containers[0].Ports; len(cp) != 1 || cp[0].Name != "http" || cp[0].ContainerPort != 80 {
		t.Errorf("frontend ports = %+v", cp)
	}
	if fe.Spec.Containers[0].ReadinessProbe == nil || o.Pods[1].Spec.Containers[0].ReadinessProbe != nil {
		t.Error("readiness: want a TCP probe on pods with a TCP port, none on the client")
	}
	// The kube-dns ClusterIP the scenario states is kept; assigned ones are
	// left to the API server.
	for _, s := range o.Services {
		switch s.Name {
		case "kube-dns":
			if s.Spec.ClusterIP != "10.96.0.10" {
				t.Errorf("kube-dns ClusterIP = %q", s.Spec.ClusterIP)
			}
		default:
			if s.Spec.ClusterIP != "" {
				t.Errorf("service %s: ClusterIP %q was assigned by netlab, must be left to the cluster", s.Name, s.Spec.ClusterIP)
			}
		}
	}
}

func TestNodeAgentManifests(t *testing.T) {
	o := NodeAgentManifests("netlab.local/netlab:x", EnforceNone)
	spec := o.DaemonSet.Spec.Template.Spec
	if !spec.HostNetwork || len(spec.Tolerations) != 1 || spec.Tolerations[0].Operator != corev1.TolerationOpExists {
		t.Errorf("daemonset must run on the host network of every node, even NotReady ones: %+v", spec)
	}
	c := spec.Containers[0]
	if got := strings.Join(c.Command, " "); got != "/netlab node-agent --enforcer none" {
		t.Errorf("command = %q", got)
	}
	if c.SecurityContext == nil || c.SecurityContext.Privileged == nil || !*c.SecurityContext.Privileged {
		t.Error("node agent must be privileged (routes, CNI config, bpf)")
	}
	if c.ReadinessProbe.HTTPGet.Port.IntValue() != nodeagent.StatusPort {
		t.Errorf("readiness port = %v", c.ReadinessProbe.HTTPGet.Port)
	}
	var mounts []string
	for _, m := range c.VolumeMounts {
		mounts = append(mounts, m.MountPath)
	}
	if !slices.Equal(mounts, []string{"/etc/cni/net.d", "/opt/cni/bin", "/sys/fs/bpf"}) {
		t.Errorf("mounts = %v", mounts)
	}
	if o.ClusterRoleBinding.Subjects[0].Namespace != SystemNamespace || o.ClusterRoleBinding.RoleRef.Name != o.ClusterRole.Name {
		t.Errorf("binding = %+v", o.ClusterRoleBinding)
	}
}

func TestSchedulableNodes(t *testing.T) {
	cp := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "lab-control-plane", Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}}}
	w1 := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "lab-worker"}}
	w2 := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "lab-worker2"}}
	if got := SchedulableNodes([]corev1.Node{cp}); !slices.Equal(got, []string{"lab-control-plane"}) {
		t.Errorf("single node: %v", got)
	}
	if got := SchedulableNodes([]corev1.Node{w2, cp, w1}); !slices.Equal(got, []string{"lab-worker", "lab-worker2", "lab-control-plane"}) {
		t.Errorf("workers: %v", got)
	}
}

// labSnapshot is netpol-lab as a cluster would hold it: kind's CoreDNS in
// place of the scenario's, the agents in the lab namespace.
func labSnapshot(t *testing.T) (*Snapshot, *State) {
	t.Helper()
	w := netpolLab(t)
	// The cluster's CoreDNS is no agent.
	snap := &Snapshot{World: w, Agents: map[string]bool{}}
	for _, p := range w.Pods {
		if !IsClusterDNS(p) {
			snap.Agents[p.Key()] = true
		}
	}
	return snap, &State{Name: "t", Namespaces: []string{"netpol-lab"}}
}

func TestTargets(t *testing.T) {
	snap, st := labSnapshot(t)
	client := snap.World.Pod("netpol-lab/client")
	backend := snap.World.Pod("netpol-lab/backend")
	dns := snap.World.Pod("kube-system/coredns")
	key := func(ts []agent.Target) []string {
		var out []string
		for _, t := range ts {
			s := t.Name + " " + t.Host + ":" + itoa(t.Port) + "/" + t.Protocol
			if t.DNS {
				s += " dns"
			}
			out = append(out, s)
		}
		return out
	}

	byIP := key(Targets(snap, st, client, ProbeOptions{}))
	want := []string{
		"netpol-lab/backend " + backend.IP.String() + ":8080/TCP",
		"netpol-lab/frontend " + snap.World.Pod("netpol-lab/frontend").IP.String() + ":80/TCP",
		"kube-system/coredns " + dns.IP.String() + ":53/TCP",
		"kube-system/coredns " + dns.IP.String() + ":53/UDP dns",
	}
	slices.Sort(byIP)
	slices.Sort(want)
	if !slices.Equal(byIP, want) {
		t.Errorf("by IP:\n got %v\nwant %v", byIP, want)
	}

	byName := Targets(snap, st, client, ProbeOptions{ByName: true, To: []string{"netpol-lab/backend"}})
	if len(byName) != 1 || byName[0].Host != strings.ReplaceAll(backend.IP.String(), ".", "-")+".netpol-lab.pod.cluster.local" {
		t.Errorf("by name: %+v", byName)
	}

	// Through Services: the backend's 8080 through its ClusterIP, kube-dns
	// through its own; the cell stays the pod's container port.
	svc := Targets(snap, st, client, ProbeOptions{Services: true})
	var backendSvc *agent.Target
	for i := range svc {
		if svc[i].Name == "netpol-lab/backend" {
			backendSvc = &svc[i]
		}
	}
	var backendService *world.Service
	for _, s := range snap.World.Services {
		if s.Name == "backend" {
			backendService = s
		}
	}
	if backendSvc == nil || backendSvc.Host != backendService.ClusterIP.String() || backendSvc.Port != 8080 {
		t.Fatalf("backend through its Service: %+v", backendSvc)
	}
	r := agent.Result{Target: *backendSvc, Allowed: true}
	if c := Cell("netpol-lab/client", r, snap.World); c.To != "netpol-lab/backend" || c.Port != 8080 || !c.Allowed {
		t.Errorf("cell through a Service = %+v", c)
	}
	byService := Targets(snap, st, client, ProbeOptions{Services: true, ByName: true, To: []string{"netpol-lab/frontend"}})
	if len(byService) != 1 || byService[0].Host != "frontend.netpol-lab.svc.cluster.local" || byService[0].Port != 80 {
		t.Errorf("service by name: %+v", byService)
	}

	// A source is never its own target, and filters apply.
	for _, tg := range Targets(snap, st, backend, ProbeOptions{}) {
		if tg.Name == backend.Key() {
			t.Errorf("backend probes itself: %+v", tg)
		}
	}
}

// TestServiceMappingNamedAndNumeric checks the Service lookup on a port
// published under another number and by name.
func TestServiceMappingNamedAndNumeric(t *testing.T) {
	pod := &world.Pod{Namespace: "x", Name: "a", Labels: map[string]string{"app": "a"}, IP: netip.MustParseAddr("10.244.1.5"),
		Ports: []world.Port{{Name: "web", Port: 8080, Protocol: "TCP"}, {Port: 9090, Protocol: "UDP"}}}
	other := &world.Pod{Namespace: "x", Name: "b", Labels: map[string]string{"app": "b"}, IP: netip.MustParseAddr("10.244.1.6")}
	w := &world.World{Pods: []*world.Pod{pod, other}, Services: []*world.Service{
		{Namespace: "x", Name: "named", Selector: map[string]string{"app": "a"}, ClusterIP: netip.MustParseAddr("10.96.1.1"),
			Ports: []world.ServicePort{{Port: 80, TargetPort: intstrName("web"), Protocol: "TCP"}}},
		{Namespace: "x", Name: "numeric", Selector: map[string]string{"app": "a"}, ClusterIP: netip.MustParseAddr("10.96.1.2"),
			Ports: []world.ServicePort{{Port: 53, TargetPort: intstrInt(9090), Protocol: "UDP"}}},
	}}
	if s, port, ok := serviceFor(w, pod, pod.Ports[0]); !ok || s.Name != "named" || port != 80 {
		t.Errorf("named targetPort: %v %d %v", s, port, ok)
	}
	if s, port, ok := serviceFor(w, pod, pod.Ports[1]); !ok || s.Name != "numeric" || port != 53 {
		t.Errorf("numeric targetPort: %v %d %v", s, port, ok)
	}
	if _, _, ok := serviceFor(w, other, world.Port{Port: 8080, Protocol: "TCP"}); ok {
		t.Error("a Service that does not select the pod was used")
	}
}

func TestValidateName(t *testing.T) {
	for _, n := range []string{"", "UPPER", "a_b", strings.Repeat("x", 21)} {
		if ValidateName(n) == nil {
			t.Errorf("ValidateName(%q) accepted", n)
		}
	}
	if err := ValidateName("netlab"); err != nil {
		t.Error(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func intstrName(s string) intstr.IntOrString { return intstr.FromString(s) }

func intstrInt(n int32) intstr.IntOrString { return intstr.FromInt32(n) }
