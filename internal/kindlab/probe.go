package kindlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/internal/agent"
	"github.com/netlab/netlab/internal/clusterworld"
	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/netlabimage"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/nodeagent"
	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
)

// Snapshot is the lab as the API server holds it now: the world the engine
// and the node agents judge, and which pods run netlab's agent (the only
// ones a probe can start from).
type Snapshot struct {
	World *world.World
	// Agents are the keys of pods running netlab's agent image: they
	// answer the agent's probes on their ports.
	Agents map[string]bool
	// Probers are the pods a probe can start from, and the container to
	// exec in: the agent pods, and the cluster's CoreDNS through netlab's
	// ephemeral container, which shares its network namespace.
	Probers map[string]ExecTarget
	// Aliases map a pod's real key to the scenario's name for it (the
	// cluster's CoreDNS): World and Probe show it under that name.
	Aliases map[string]string
}

// TakeSnapshot lists everything from the API server.
func TakeSnapshot(ctx context.Context, c kubernetes.Interface) (*Snapshot, error) {
	var o clusterworld.Objects
	nss, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing namespaces: %w", err)
	}
	pods, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	svcs, err := c.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing services: %w", err)
	}
	pols, err := c.NetworkingV1().NetworkPolicies("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing networkpolicies: %w", err)
	}
	snap := &Snapshot{Agents: map[string]bool{}, Probers: map[string]ExecTarget{}, Aliases: map[string]string{}}
	for i := range nss.Items {
		o.Namespaces = append(o.Namespaces, &nss.Items[i])
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		o.Pods = append(o.Pods, p)
		if alias := p.Annotations[PodKeyAnnotation]; alias != "" && alias != p.Namespace+"/"+p.Name {
			snap.Aliases[p.Namespace+"/"+p.Name] = alias
		}
		if clusterworld.OnPodNetwork(p) && p.DeletionTimestamp == nil && agentRunning(p) &&
			strings.HasPrefix(p.Spec.Containers[0].Image, netlabimage.Repository+":") {
			snap.Agents[p.Namespace+"/"+p.Name] = true
			snap.Probers[p.Namespace+"/"+p.Name] = ExecTarget{Namespace: p.Namespace, Pod: p.Name, Container: AgentContainer}
		}
		if clusterworld.OnPodNetwork(p) && p.DeletionTimestamp == nil && probeContainerRunning(p) {
			snap.Probers[p.Namespace+"/"+p.Name] = ExecTarget{Namespace: p.Namespace, Pod: p.Name, Container: ProbeContainer}
		}
	}
	for i := range svcs.Items {
		o.Services = append(o.Services, &svcs.Items[i])
	}
	for i := range pols.Items {
		o.Policies = append(o.Policies, &pols.Items[i])
	}
	if snap.World, err = clusterworld.Build(o); err != nil {
		return nil, err
	}
	return snap, nil
}

// agentRunning reports whether p runs netlab's agent now (Ready or not:
// a policy may block kubelet's probes on some clusters, not the exec).
func agentRunning(p *corev1.Pod) bool {
	if len(p.Spec.Containers) == 0 || !strings.HasPrefix(p.Spec.Containers[0].Image, netlabimage.Repository+":") {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == p.Spec.Containers[0].Name {
			return cs.State.Running != nil
		}
	}
	return false
}

// World returns the lab's world as the API server holds it.
func World(ctx context.Context, name string) (*world.World, error) {
	c, _, err := Client(name)
	if err != nil {
		return nil, err
	}
	snap, err := TakeSnapshot(ctx, c)
	if err != nil {
		return nil, err
	}
	snap.applyAliases()
	return snap.World, nil
}

// WaitEnforced waits until every node agent reports enforcing the world
// the API server holds now, and returns how long that took. With
// --enforcer=none it returns at once.
func WaitEnforced(ctx context.Context, name string, timeout time.Duration) (time.Duration, error) {
	st, err := Load(name)
	if err != nil {
		return 0, err
	}
	if st.Enforcement == EnforceNone {
		return 0, nil
	}
	c, _, err := Client(name)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = poll(ctx, 20*time.Millisecond, "waiting for the node agents to enforce the change", func() error {
		snap, err := TakeSnapshot(ctx, c)
		if err != nil {
			return err
		}
		want := clusterworld.Hash(snap.World)
		statuses, err := NodeAgentStatus(ctx, c)
		if err != nil {
			return err
		}
		for _, s := range statuses {
			if s.Error != "" {
				return fmt.Errorf("node %s: %s", s.Node, s.Error)
			}
			if s.WorldHash != want {
				return fmt.Errorf("node %s enforces world %s, the API holds %s", s.Node, s.WorldHash, want)
			}
		}
		return nil
	})
	return time.Since(start), err
}

// NodeAgentStatus asks every node agent for its status, through the API
// server's proxy to the agent's status port.
func NodeAgentStatus(ctx context.Context, c kubernetes.Interface) ([]nodeagent.Status, error) {
	pl, err := c.CoreV1().Pods(SystemNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + NodeAgentName})
	if err != nil {
		return nil, fmt.Errorf("listing node agents: %w", err)
	}
	if len(pl.Items) == 0 {
		return nil, errors.New("no node agent pods in " + SystemNamespace)
	}
	out := make([]nodeagent.Status, len(pl.Items))
	errs := make([]error, len(pl.Items))
	var wg sync.WaitGroup
	for i := range pl.Items {
		wg.Go(func() {
			p := &pl.Items[i]
			raw, err := c.CoreV1().Pods(SystemNamespace).ProxyGet("http", p.Name, fmt.Sprint(nodeagent.StatusPort), "/status", nil).DoRaw(ctx)
			if err != nil {
				errs[i] = fmt.Errorf("node agent %s: %w", p.Name, err)
				return
			}
			errs[i] = json.Unmarshal(raw, &out[i])
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// ProbeOptions select and shape a probe.
type ProbeOptions struct {
	Timeout time.Duration
	// From and To keep only pods whose "ns/name", name or "ns/" matches one
	// of the entries (empty: all).
	From, To []string
	// ByName connects to DNS names through the cluster's DNS: the pod's
	// A record (a-b-c-d.ns.pod.cluster.local), or with Services the
	// Service's name (svc.ns.svc.cluster.local).
	ByName bool
	// Services reaches each destination port through the ClusterIP of a
	// Service that selects the pod and exposes that port (cells no Service
	// covers are left out). The cell is still the destination pod's port,
	// as the engine judges it.
	Services bool
}

// Probe measures the lab's matrix: from every agent pod of the lab's
// namespaces, one exec through the API server runs `netlab agent probe`
// with all of that pod's targets, which it tries at once. Destinations are
// the lab's pods and the cluster DNS pods.
func Probe(ctx context.Context, name string, o ProbeOptions) (*matrix.Matrix, error) {
	st, err := Load(name)
	if err != nil {
		return nil, err
	}
	c, cfg, err := Client(name)
	if err != nil {
		return nil, err
	}
	snap, err := TakeSnapshot(ctx, c)
	if err != nil {
		return nil, err
	}
	snap.applyAliases()
	return probeSnapshot(ctx, c, cfg, st, snap, o)
}

func inLab(st *State, p *world.Pod) bool {
	return slices.Contains(st.Namespaces, p.Namespace) || IsClusterDNS(p)
}

// Targets lists what one source probes, as agent targets.
func Targets(snap *Snapshot, st *State, src *world.Pod, o ProbeOptions) []agent.Target {
	var out []agent.Target
	for _, dst := range snap.World.Pods {
		if dst == src || !inLab(st, dst) || !dst.Selected(o.To) {
			continue
		}
		for _, p := range dst.Ports {
			t := agent.Target{Host: dst.IP.String(), Port: int(p.Port), Protocol: string(p.Protocol), Name: dst.Key(),
				DNS: !snap.Agents[dst.Key()] && p.Protocol == corev1.ProtocolUDP && p.Port == 53}
			if o.ByName {
				t.Host = strings.ReplaceAll(dst.IP.String(), ".", "-") + "." + dst.Namespace + ".pod.cluster.local"
			}
			if o.Services {
				svc, port, ok := serviceFor(snap.World, dst, p)
				if !ok {
					continue
				}
				t.Host, t.Port = svc.ClusterIP.String(), int(port)
				if o.ByName {
					t.Host = svc.Name + "." + svc.Namespace + ".svc.cluster.local"
				}
			}
			out = append(out, t)
		}
	}
	return out
}

// serviceFor finds a Service that selects dst and exposes its container
// port p, and the Service port that maps to it. Only a Service whose only
// endpoint is dst qualifies: through one with several, the cell would be
// whichever endpoint kube-proxy picked.
func serviceFor(w *world.World, dst *world.Pod, p world.Port) (*world.Service, int32, bool) {
	for _, s := range w.Services {
		if s.Namespace != dst.Namespace || !s.ClusterIP.Is4() {
			continue
		}
		eps := w.ServiceEndpoints(s)
		if len(eps) != 1 || eps[0] != dst {
			continue
		}
		for _, sp := range s.Ports {
			if sp.Protocol != p.Protocol {
				continue
			}
			if (sp.TargetPort.StrVal != "" && sp.TargetPort.StrVal == p.Name) || (sp.TargetPort.StrVal == "" && sp.TargetPort.IntVal == p.Port) {
				return s, sp.Port, true
			}
		}
	}
	return nil, 0, false
}

func probeSnapshot(ctx context.Context, c kubernetes.Interface, cfg *rest.Config, st *State, snap *Snapshot, o ProbeOptions) (*matrix.Matrix, error) {
	if o.Timeout <= 0 {
		o.Timeout = agent.DefaultTimeout
	}
	type batch struct {
		src     *world.Pod
		at      ExecTarget
		targets []agent.Target
		results []agent.Result
		err     error
	}
	var batches []*batch
	for _, src := range snap.World.Pods {
		at, ok := snap.Probers[src.Key()]
		if !ok || !inLab(st, src) || !src.Selected(o.From) {
			continue
		}
		if ts := Targets(snap, st, src, o); len(ts) > 0 {
			batches = append(batches, &batch{src: src, at: at, targets: ts})
		}
	}
	var wg sync.WaitGroup
	for _, b := range batches {
		wg.Go(func() { b.results, b.err = execProbe(ctx, c, cfg, b.at, b.targets, o.Timeout) })
	}
	wg.Wait()
	m := &matrix.Matrix{Results: []matrix.Cell{}}
	for _, b := range batches {
		if b.err != nil {
			return nil, fmt.Errorf("probing from %s: %w", b.src.Key(), b.err)
		}
		for _, r := range b.results {
			m.Results = append(m.Results, Cell(b.src.Key(), r, snap.World))
		}
	}
	m.Sort()
	return m, nil
}

// Cell turns an agent result into a matrix cell. A target reached through
// a Service is reported as the destination pod's container port (the one
// the engine judges).
func Cell(from string, r agent.Result, w *world.World) matrix.Cell {
	cell := matrix.Cell{From: from, To: r.Target.Name, Port: int32(r.Target.Port), Protocol: r.Target.Protocol, Allowed: r.Allowed, Detail: r.Detail}
	if dst := w.Pod(r.Target.Name); dst != nil {
		ip, err := netip.ParseAddr(r.Target.Host)
		if err != nil || ip != dst.IP {
			// Through a Service (by ClusterIP or name): find the container port.
			for _, p := range dst.Ports {
				if _, port, ok := serviceFor(w, dst, p); ok && int(port) == r.Target.Port && string(p.Protocol) == r.Target.Protocol {
					cell.Port = p.Port
					break
				}
			}
		}
	}
	return cell
}

// execProbe runs `netlab agent probe` in the source pod, as kubectl exec
// does (WebSocket, falling back to SPDY), with the targets on stdin.
func execProbe(ctx context.Context, c kubernetes.Interface, cfg *rest.Config, at ExecTarget, targets []agent.Target, timeout time.Duration) ([]agent.Result, error) {
	in, err := json.Marshal(targets)
	if err != nil {
		return nil, err
	}
	cmd := []string{netlabimage.BinaryPath, "agent", "probe", "--timeout", timeout.String()}
	if at.Container == ProbeContainer {
		// CoreDNS resolves with the node's resolv.conf (dnsPolicy
		// Default), which knows no cluster names: ask CoreDNS itself.
		cmd = append(cmd, "--dns", "127.0.0.1:53")
	}
	req := c.CoreV1().RESTClient().Post().Resource("pods").Namespace(at.Namespace).Name(at.Pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: at.Container,
			Command:   cmd,
			Stdin:     true,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec)
	exec, err := newExecutor(cfg, req.URL())
	if err != nil {
		return nil, err
	}
	var out, errOut bytes.Buffer
	err = exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: bytes.NewReader(in), Stdout: &out, Stderr: &errOut})
	if err != nil {
		return nil, fmt.Errorf("exec: %v: %s", err, strings.TrimSpace(errOut.String()))
	}
	return agent.ParseResults(&out)
}

func newExecutor(cfg *rest.Config, u *url.URL) (remotecommand.Executor, error) {
	ws, err := remotecommand.NewWebSocketExecutor(cfg, http.MethodGet, u.String())
	if err != nil {
		return nil, err
	}
	spdy, err := remotecommand.NewSPDYExecutor(cfg, http.MethodPost, u)
	if err != nil {
		return nil, err
	}
	return remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
}

// waitMatrix probes until the measured matrix agrees with the engine's
// prediction for the world the API holds (every cell allowed when there
// are no policies): the dataplane is then ready for the learner.
func waitMatrix(ctx context.Context, name string) error {
	st, err := Load(name)
	if err != nil {
		return err
	}
	c, cfg, err := Client(name)
	if err != nil {
		return err
	}
	return poll(ctx, time.Second, "waiting for the probed matrix to agree with the policies", func() error {
		snap, err := TakeSnapshot(ctx, c)
		if err != nil {
			return err
		}
		m, err := probeSnapshot(ctx, c, cfg, st, snap, ProbeOptions{Timeout: agent.DefaultTimeout})
		if err != nil {
			return err
		}
		if st.Enforcement == EnforceNone {
			snap.World.Policies = nil
		}
		if bad := Disagreements(snap.World, m); len(bad) > 0 {
			return fmt.Errorf("%d cells disagree, e.g. %s", len(bad), bad[0])
		}
		return nil
	})
}

// Disagreements lists the cells of m the engine judges differently for w.
func Disagreements(w *world.World, m *matrix.Matrix) []string {
	e := netpol.New(w)
	var out []string
	for _, cell := range m.Results {
		src, dst := w.Pod(cell.From), w.Pod(cell.To)
		if src == nil || dst == nil {
			out = append(out, cell.Key().String()+": pod not in the world")
			continue
		}
		want := e.Allowed(netpol.PodEndpoint(src), netpol.PodEndpoint(dst), cell.Port, corev1.Protocol(cell.Protocol))
		if want != cell.Allowed {
			out = append(out, fmt.Sprintf("%s was %v, engine says %v (%s)", cell.Key(), cell.Allowed, want, cell.Detail))
		}
	}
	return out
}
