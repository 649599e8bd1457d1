package hostnet

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// Bridged traffic between two pods never leaves the bridge, but when
// br_netfilter is loaded with net.bridge.bridge-nf-call-iptables=1 the
// kernel still runs it through the iptables FORWARD chain. Docker loads
// br_netfilter and sets the FORWARD policy to DROP, which silently drops
// pod-to-pod traffic on any bridge that is not Docker's. netlab inserts
//
//	-I FORWARD -i BRIDGE -o BRIDGE -j ACCEPT
//
// for its own bridge while a lab runs.
//
// On hosts where `iptables` is the nf_tables variant but legacy xtables
// tables are also in use, a packet must get through both FORWARD chains;
// the rule then also goes into the legacy chain when that chain could drop.

const (
	bridgeNFCallIPTables = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	// thread-self, not self: the calling thread may be in another network
	// namespace than the process's main thread (InNamespace).
	legacyTableNames = "/proc/thread-self/net/ip_tables_names"
	ipForward        = "/proc/sys/net/ipv4/ip_forward"
)

// iptables is one iptables command (the default, or the legacy variant).
type iptables struct {
	path   string
	label  string // "iptables" or "iptables-legacy"
	legacy bool   // an extra legacy backend next to an nf_tables default
}

// run runs the command with args and returns its combined output and exit
// code; err is only for failures to run it at all.
func (t iptables) run(args ...string) (out string, code int, err error) {
	// -w: wait for the xtables lock instead of failing when another
	// program (Docker, kube-proxy) holds it.
	cmd := exec.Command(t.path, append([]string{"-w", "5"}, args...)...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return buf.String(), exit.ExitCode(), nil
	}
	if err != nil {
		return "", -1, fmt.Errorf("run %s: %w", t.path, err)
	}
	return buf.String(), 0, nil
}

// forwardRule is netlab's rule for bridge, without the chain operation.
func forwardRule(bridge string) []string {
	return []string{"FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"}
}

// has reports whether the rule for bridge is in the chain (iptables -C:
// exit status 1 means "no such rule", also when the table does not exist).
func (t iptables) has(bridge string) (bool, error) {
	out, code, err := t.run(append([]string{"-C"}, forwardRule(bridge)...)...)
	switch {
	case err != nil:
		return false, err
	case code == 0:
		return true, nil
	case code == 1:
		return false, nil
	default:
		return false, fmt.Errorf("%s -C FORWARD: exit status %d: %s", t.label, code, strings.TrimSpace(out))
	}
}

// forwardChain returns the FORWARD chain's policy and rules (iptables -S).
func (t iptables) forwardChain() (policy string, rules []string, err error) {
	out, code, err := t.run("-S", "FORWARD")
	if err != nil {
		return "", nil, err
	}
	if code != 0 {
		return "", nil, fmt.Errorf("%s -S FORWARD: exit status %d: %s", t.label, code, strings.TrimSpace(out))
	}
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "-P FORWARD "):
			policy = strings.TrimPrefix(line, "-P FORWARD ")
		case strings.HasPrefix(line, "-A "):
			rules = append(rules, line)
		}
	}
	return policy, rules, nil
}

// tools returns the iptables commands whose FORWARD chains bridged traffic
// goes through: `iptables` if installed, plus `iptables-legacy` when
// `iptables` is the nf_tables variant and legacy tables are in use (read
// from /proc, since listing legacy rules would itself create them).
func tools() []iptables {
	path, err := exec.LookPath("iptables")
	if err != nil {
		return nil
	}
	list := []iptables{{path: path, label: "iptables"}}
	out, _, err := list[0].run("--version")
	if err != nil || !strings.Contains(out, "nf_tables") || !legacyTablesInUse() {
		return list
	}
	if legacy, err := exec.LookPath("iptables-legacy"); err == nil {
		list = append(list, iptables{path: legacy, label: "iptables-legacy", legacy: true})
	}
	return list
}

func legacyTablesInUse() bool {
	b, err := os.ReadFile(legacyTableNames)
	return err == nil && strings.Contains(string(b), "filter")
}

// bridgeNetfilter reports whether br_netfilter is loaded and, if so,
// whether it hands bridged IPv4 traffic to iptables.
func bridgeNetfilter() (loaded, callIPTables bool) {
	b, err := os.ReadFile(bridgeNFCallIPTables)
	if err != nil {
		return false, false
	}
	return true, strings.TrimSpace(string(b)) == "1"
}

// EnsureForwardAccept makes sure traffic between ports of bridge is
// accepted by the iptables FORWARD chain, inserting netlab's rule at the
// top unless it is there already. added reports whether a rule was
// inserted (so the caller knows to remove it at teardown).
//
// Without an iptables command nothing can be done: that is fine (added
// false, nil error) when br_netfilter does not send bridged traffic to
// iptables, and an error otherwise.
func EnsureForwardAccept(bridge string) (added bool, err error) {
	if err := checkIfName(bridge); err != nil {
		return false, fmt.Errorf("hostnet: forward accept: %w", err)
	}
	list := tools()
	if len(list) == 0 {
		if _, call := bridgeNetfilter(); call {
			return false, fmt.Errorf("hostnet: forward accept for %s: br_netfilter sends bridged traffic through iptables (net.bridge.bridge-nf-call-iptables=1) but no iptables command was found: install iptables, or set that sysctl to 0", bridge)
		}
		return false, nil
	}
	for _, t := range list {
		if t.legacy {
			// Only touch the legacy chain when it could drop: adding a
			// rule where none is needed would be one more leftover.
			policy, rules, err := t.forwardChain()
			if err != nil {
				return added, fmt.Errorf("hostnet: forward accept for %s: %w", bridge, err)
			}
			if policy == "ACCEPT" && len(rules) == 0 {
				continue
			}
		}
		ok, err := t.has(bridge)
		if err != nil {
			return added, fmt.Errorf("hostnet: forward accept for %s: %w", bridge, err)
		}
		if ok {
			continue
		}
		out, code, err := t.run(append([]string{"-I"}, forwardRule(bridge)...)...)
		if err == nil && code != 0 {
			err = fmt.Errorf("exit status %d: %s", code, strings.TrimSpace(out))
		}
		if err != nil {
			return added, fmt.Errorf("hostnet: forward accept for %s: %s -I FORWARD: %w", bridge, t.label, err)
		}
		added = true
	}
	return added, nil
}

// RemoveForwardAccept deletes netlab's FORWARD rule for bridge (every copy,
// from every iptables backend in use). A missing rule, or a host without
// iptables, is not an error.
func RemoveForwardAccept(bridge string) error {
	if err := checkIfName(bridge); err != nil {
		return fmt.Errorf("hostnet: remove forward accept: %w", err)
	}
	for _, t := range tools() {
		for range 16 { // bounded: a rule that will not go away is an error below
			ok, err := t.has(bridge)
			if err != nil {
				return fmt.Errorf("hostnet: remove forward accept for %s: %w", bridge, err)
			}
			if !ok {
				break
			}
			out, code, err := t.run(append([]string{"-D"}, forwardRule(bridge)...)...)
			if err == nil && code != 0 {
				err = fmt.Errorf("exit status %d: %s", code, strings.TrimSpace(out))
			}
			if err != nil {
				return fmt.Errorf("hostnet: remove forward accept for %s: %s -D FORWARD: %w", bridge, t.label, err)
			}
		}
		if ok, _ := t.has(bridge); ok {
			return fmt.Errorf("hostnet: remove forward accept for %s: %s still has the rule after repeated deletes", bridge, t.label)
		}
	}
	return nil
}

// ForwardingDiagnosis describes, one human-readable line per fact, whether
// this host's netfilter setup can drop traffic between pods on a bridge,
// and what netlab does about it. It is meant for `netlab doctor` and never
// changes anything.
func ForwardingDiagnosis() []string {
	var lines []string
	loaded, call := bridgeNetfilter()
	switch {
	case !loaded:
		lines = append(lines, "br_netfilter: not loaded: traffic between pods on a bridge bypasses iptables")
	case call:
		lines = append(lines, "br_netfilter: loaded, net.bridge.bridge-nf-call-iptables=1: traffic between pods on a bridge goes through the iptables FORWARD chain")
	default:
		lines = append(lines, "br_netfilter: loaded, net.bridge.bridge-nf-call-iptables=0: traffic between pods on a bridge bypasses iptables")
	}

	list := tools()
	if len(list) == 0 {
		if call {
			lines = append(lines, "iptables: not found, yet bridged traffic goes through iptables: netlab cannot add its FORWARD exception; install iptables")
		} else {
			lines = append(lines, "iptables: not found (not needed while bridged traffic bypasses iptables)")
		}
	}
	drops := false
	for _, t := range list {
		version, _, _ := t.run("--version")
		policy, rules, err := t.forwardChain()
		if err != nil {
			lines = append(lines, fmt.Sprintf("%s (%s): cannot read the FORWARD chain: %v", t.label, strings.TrimSpace(version), err))
			continue
		}
		line := fmt.Sprintf("%s (%s, %s): FORWARD policy %s, %d rule(s)", t.label, t.path, strings.TrimSpace(version), policy, len(rules))
		if policy != "ACCEPT" {
			drops = true
			line += " — the DROP policy Docker sets; netlab inserts '-i BRIDGE -o BRIDGE -j ACCEPT' for its bridge while a lab runs"
		}
		if docker := dockerChains(rules); len(docker) > 0 {
			line += "; Docker manages this chain (" + strings.Join(docker, ", ") + ")"
		}
		if t.legacy {
			line += "; legacy tables are in use next to nf_tables, and a packet must pass both"
		}
		lines = append(lines, line)
	}

	if b, err := os.ReadFile(ipForward); err == nil {
		lines = append(lines, fmt.Sprintf("net.ipv4.ip_forward=%s: not needed by the sandbox (pods talk through one bridge, not through the host's routing)", strings.TrimSpace(string(b))))
	}
	switch {
	case !call:
		lines = append(lines, "verdict: iptables cannot drop pod-to-pod traffic in the sandbox")
	case len(list) == 0:
		lines = append(lines, "verdict: pod-to-pod traffic may be dropped by iptables and netlab cannot prevent it")
	case drops:
		lines = append(lines, "verdict: without netlab's ACCEPT rule, pod-to-pod traffic on the sandbox bridge would be silently dropped")
	default:
		lines = append(lines, "verdict: iptables accepts forwarded traffic; netlab still adds its ACCEPT rule in case the policy changes (e.g. Docker starts)")
	}
	return lines
}

// dockerChains lists the Docker chains that FORWARD jumps to.
func dockerChains(rules []string) []string {
	var out []string
	for _, r := range rules {
		fields := strings.Fields(r)
		for i, f := range fields {
			if f == "-j" && i+1 < len(fields) && strings.HasPrefix(fields[i+1], "DOCKER") && !slices.Contains(out, fields[i+1]) {
				out = append(out, fields[i+1])
			}
		}
	}
	return out
}
