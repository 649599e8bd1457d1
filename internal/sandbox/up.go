package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/dns"
	"github.com/netlab/netlab/internal/hostnet"
	"github.com/netlab/netlab/internal/netpol"
	"github.com/netlab/netlab/internal/statefile"
	"github.com/netlab/netlab/internal/world"
	"github.com/vishvananda/netlink"
)

// Options for Up.
type Options struct {
	Name     string
	Scenario string // recorded for status; the world is what counts
	// Progress receives one line per step (nil: quiet).
	Progress io.Writer
	// Self is the netlab binary agents and the enforcer run as (default:
	// this executable).
	Self string
	// Enforcement is EnforceEBPF (default) or EnforceNone.
	Enforcement string
}

// Up brings a lab up: node namespace, bridge, one namespace per pod, the
// enforcer attached to every pod and loaded with the world's policies, the
// agents serving every port, DNS, and the internet host. On any failure it
// removes what it made. Calling Up for a lab that is already up with the
// same world is a no-op.
func Up(ctx context.Context, w *world.World, o Options) (*State, error) {
	if err := ValidateName(o.Name); err != nil {
		return nil, err
	}
	if err := ValidateEnforcement(o.Enforcement); err != nil {
		return nil, err
	}
	if o.Self == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		o.Self = self
	}
	step := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, " • "+format+"\n", args...)
		}
	}
	w, err := addressPods(w)
	if err != nil {
		return nil, err
	}
	for _, p := range w.Pods {
		if !Gateway.Masked().Contains(p.IP) || p.IP == Gateway.Addr() {
			return nil, fmt.Errorf("pod %s: IP %s is outside the sandbox's pod network %s (or is its gateway)", p.Key(), p.IP, Gateway.Masked())
		}
	}
	engine := netpol.New(w)
	dp, err := engine.Lower()
	if err != nil {
		return nil, fmt.Errorf("compiling policies: %w", err)
	}
	// The lock first, and the state read under it: of two concurrent ups
	// exactly one makes the lab, and the other touches nothing. The state
	// directory and its lock exist before any other resource, so even an up
	// killed halfway leaves its lab recognisable (host.go).
	unlock, err := statefile.Lock(lockPath(o.Name), true, false)
	if errors.Is(err, statefile.ErrLocked) {
		if _, serr := os.Stat(statePath(o.Name)); serr != nil {
			return nil, fmt.Errorf("lab %q is being brought up or down by another netlab command (pid %d): wait for it, then see 'netlab status'",
				o.Name, statefile.LockHolder(lockPath(o.Name)))
		}
		// A running lab that a command is changing: wait for it.
		unlock, err = statefile.Lock(lockPath(o.Name), true, true)
	}
	if err != nil {
		return nil, fmt.Errorf("locking lab %s: %w", o.Name, err)
	}
	defer func() { unlock() }()
	if old, err := Load(o.Name); err == nil {
		if !sameTopology(old.World, w) {
			return nil, fmt.Errorf("lab %q is already up with a different world: 'netlab down --name %s' first", o.Name, o.Name)
		}
		if old.Enforcing() != (o.Enforcement != EnforceNone) {
			return nil, fmt.Errorf("lab %q is already up with --enforcer %s: 'netlab down --name %s' first", o.Name, orEBPF(old.Enforcement), o.Name)
		}
		step("lab %s is already up", o.Name)
		if !sameWorld(old.World, w) {
			step("keeping its policies and labels as they were changed since it started ('netlab down' first to start over)")
		}
		if err := repair(ctx, old, o.Self, step); err != nil {
			return nil, err
		}
		return old, nil
	}
	// No state: whatever of this lab is on the host was left by an up that
	// was killed or a state directory that was lost, and is in the way.
	if left := onHost(o.Name); len(left) > 1 {
		step("removing %d things an earlier lab %s left on the host", len(left)-1, o.Name)
		if err := teardown(&State{Name: o.Name}, io.Discard); err != nil {
			return nil, err
		}
		// teardown removed the directory holding our lock: take it anew.
		unlock()
		if unlock, err = statefile.Lock(lockPath(o.Name), true, false); err != nil {
			unlock = func() {}
			return nil, fmt.Errorf("lab %q: locking it after removing leftovers: %w", o.Name, err)
		}
	}

	s := &State{Name: o.Name, Created: time.Now().UTC(), Scenario: o.Scenario, NodeNS: nodeNS(o.Name), World: w, Enforcement: o.Enforcement}
	ok := false
	defer func() {
		if !ok {
			teardown(s, io.Discard)
		}
	}()
	start := time.Now()
	step("node namespace %s with bridge br0 (%s)", s.NodeNS, Gateway)
	if err := createNode(s.NodeNS); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(Dir(o.Name), "ready"), 0o755); err != nil {
		return nil, err
	}
	step("%d pods as network namespaces", len(w.Pods))
	err = hostnet.InNamespace(s.NodeNS, func() error {
		for i, p := range w.Pods {
			pod := Pod{Key: p.Key(), NetNS: podNS(o.Name, i), HostVeth: fmt.Sprintf("veth%d", i)}
			idx, err := hostnet.CreatePod(pod.NetNS, "br0", pod.HostVeth, netip.PrefixFrom(p.IP, Gateway.Bits()), Gateway.Addr())
			if err != nil {
				return err
			}
			pod.Ifindex = idx
			s.Pods = append(s.Pods, pod)
		}
		s.Internet = Pod{Key: "internet", NetNS: internetNS(o.Name), HostVeth: "inet0"}
		idx, err := hostnet.CreatePod(s.Internet.NetNS, "br0", "inet0", netip.PrefixFrom(InternetIP, InternetGW.Bits()), InternetGW.Addr())
		s.Internet.Ifindex = idx
		return err
	})
	if err != nil {
		return nil, err
	}
	step("eBPF enforcer on %d veths (maps pinned in %s)", len(s.Pods), PinDir(o.Name))
	d, err := enforcer.Open(PinDir(o.Name))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if _, err := d.Sync(mapsFor(s, dp)); err != nil {
		return nil, fmt.Errorf("loading policies: %w", err)
	}
	err = hostnet.InNamespace(s.NodeNS, func() error {
		for _, p := range s.Pods {
			if err := d.Attach(p.Ifindex); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	step("agents serving every container port, DNS, internet host %s", InternetIP)
	if err := startAgents(s, o.Self); err != nil {
		return nil, err
	}
	if err := waitReady(ctx, s, 15*time.Second); err != nil {
		return nil, err
	}
	// The enforcer reads the state, so it starts once the state exists.
	if err := s.save(); err != nil {
		return nil, err
	}
	pid, err := spawn(o.Self, filepath.Join(Dir(o.Name), "enforcer.log"), "", "enforcer", "run", "--name", o.Name)
	if err != nil {
		return nil, err
	}
	s.EnforcerPID = pid
	if err := s.save(); err != nil {
		return nil, err
	}
	ok = true
	step("ready in %s", time.Since(start).Round(time.Millisecond))
	return s, nil
}

// sameTopology reports whether a and b have the same namespaces, pods
// (addresses and ports) and services: the same lab, whatever policies and
// labels were changed since it started.
func sameTopology(a, b *world.World) bool {
	type pod struct {
		Key   string
		IP    netip.Addr
		Ports []world.Port
	}
	shape := func(w *world.World) string {
		var ns []string
		for _, n := range w.Namespaces {
			ns = append(ns, n.Name)
		}
		var pods []pod
		for _, p := range w.Pods {
			pods = append(pods, pod{p.Key(), p.IP, p.Ports})
		}
		j, _ := json.Marshal([]any{ns, pods, w.Services})
		return string(j)
	}
	return shape(a) == shape(b)
}

func orEBPF(mode string) string {
	if mode == "" {
		return EnforceEBPF
	}
	return mode
}

func sameWorld(a, b *world.World) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// createNode makes the lab's node namespace: loopback, IP forwarding (for
// the route to the internet host), a bridge with the pods' gateway and the
// internet's gateway addresses.
func createNode(name string) error {
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("creating node namespace %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return hostnet.InNamespace(name, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return err
		}
		if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
			return fmt.Errorf("enabling forwarding in %s: %w", name, err)
		}
		if _, err := hostnet.CreateBridge("br0", Gateway); err != nil {
			return err
		}
		br, err := netlink.LinkByName("br0")
		if err != nil {
			return err
		}
		addr, _ := netlink.ParseAddr(InternetGW.String())
		return netlink.AddrAdd(br, addr)
	})
}

// startAgents runs one agent per pod (and the internet host) inside its
// namespace, the DNS server in the kube-dns pod.
func startAgents(s *State, self string) error {
	records := dnsRecords(s.World)
	data, _ := json.Marshal(records)
	if err := os.WriteFile(dnsFile(s.Name), data, 0o644); err != nil {
		return err
	}
	for i, p := range s.World.Pods {
		if p.Labels["k8s-app"] == "kube-dns" && p.Namespace == "kube-system" {
			s.DNS = p.IP.String()
		}
		if err := startAgent(s, self, i); err != nil {
			return err
		}
	}
	return startAgent(s, self, -1)
}

func dnsFile(lab string) string { return filepath.Join(Dir(lab), "dns.json") }

// startAgent runs pod i's agent (the internet host's for -1) and records
// its pid.
func startAgent(s *State, self string, i int) error {
	if i < 0 {
		args := []string{"agent", "serve", "--pod", "internet", "--ready", readyFile(s.Name, -1)}
		for _, cp := range InternetPort {
			args = append(args, "--port", cp.String())
		}
		pid, err := spawn(self, filepath.Join(Dir(s.Name), "agent-internet.log"), s.Internet.NetNS, args...)
		s.Internet.PID = pid
		return err
	}
	p := s.World.Pods[i]
	args := []string{"agent", "serve", "--pod", p.Key(), "--ready", readyFile(s.Name, i)}
	for _, cp := range p.Ports {
		args = append(args, "--port", cp.String())
	}
	if p.Labels["k8s-app"] == "kube-dns" && p.Namespace == "kube-system" {
		args = append(args, "--dns-records", dnsFile(s.Name))
	}
	pid, err := spawn(self, filepath.Join(Dir(s.Name), fmt.Sprintf("agent-%d.log", i)), s.Pods[i].NetNS, args...)
	if err != nil {
		return err
	}
	s.Pods[i].PID = pid
	return nil
}

func readyFile(lab string, i int) string {
	if i < 0 {
		return filepath.Join(Dir(lab), "ready", "internet")
	}
	return filepath.Join(Dir(lab), "ready", fmt.Sprint(i))
}

func waitReady(ctx context.Context, s *State, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		missing := ""
		for i := -1; i < len(s.Pods); i++ {
			if _, err := os.Stat(readyFile(s.Name, i)); err != nil {
				if i >= 0 {
					missing = s.Pods[i].Key
				} else {
					missing = "internet"
				}
				break
			}
		}
		if missing == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("agent of %s not ready after %s (see %s)", missing, timeout, Dir(s.Name))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// spawn starts self with args as a daemon (own session, output to log),
// inside the named network namespace when netns is set.
func spawn(self, logPath, netns string, args ...string) (int, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	name, argv := self, args
	if netns != "" {
		name, argv = "ip", append([]string{"netns", "exec", netns, self}, args...)
	}
	cmd := exec.Command(name, argv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", strings.Join(args[:2], " "), err)
	}
	pid := cmd.Process.Pid
	go cmd.Wait() // reap if it dies while we run
	return pid, nil
}

// dnsRecords is what the lab's kube-dns answers: <pod>.<ns> and
// <pod>.<ns>.pod.cluster.local for pods, <svc>.<ns>.svc.cluster.local for
// services (the endpoints' pod IPs: the sandbox has no kube-proxy, so
// services resolve like headless ones).
func dnsRecords(w *world.World) dns.Records {
	r := dns.Records{}
	for _, p := range w.Pods {
		r[fmt.Sprintf("%s.%s.", p.Name, p.Namespace)] = []netip.Addr{p.IP}
		r[fmt.Sprintf("%s.%s.pod.cluster.local.", p.Name, p.Namespace)] = []netip.Addr{p.IP}
	}
	for _, s := range w.Services {
		var ips []netip.Addr
		for _, p := range w.ServiceEndpoints(s) {
			ips = append(ips, p.IP)
		}
		r[fmt.Sprintf("%s.%s.svc.cluster.local.", s.Name, s.Namespace)] = ips
	}
	return r
}
