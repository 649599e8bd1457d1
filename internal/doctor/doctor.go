// Package doctor checks that a host can run netlab's backends and says, for
// every problem, the exact command that fixes it. It can also apply the
// fixes that need no judgement (install Docker, start dockerd with the runc
// wrapper, install iproute2/iptables).
package doctor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/netlab/netlab/internal/dockerhost"
)

// Backend names as `netlab up --backend` spells them.
const (
	Sandbox = "sandbox"
	Kind    = "kind"
)

// Status is a check's verdict.
type Status string

// Verdicts. Warn is a problem that does not stop the backend.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check is one verdict about the host.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	// Fix is the command (or step) that repairs the problem; empty when OK.
	Fix string `json:"fix,omitempty"`
	// Fixable says that Fix applies it (netlab doctor --fix).
	Fixable bool `json:"fixable,omitempty"`
	// NeededBy lists the backends that cannot work while this check fails.
	NeededBy []string `json:"neededBy"`
}

// Needed reports whether backend needs this check to pass.
func (c Check) Needed(backend string) bool {
	for _, b := range c.NeededBy {
		if b == backend {
			return true
		}
	}
	return false
}

// Report is the result of Run.
type Report struct {
	Backend string  `json:"backend"`
	Checks  []Check `json:"checks"`
	// Broken is true when a check the backend needs failed.
	Broken bool `json:"broken"`
}

// Run performs every check. The backend decides which failures count.
func Run(ctx context.Context, backend string) Report {
	var checks []Check
	checks = append(checks, checkRoot())
	checks = append(checks, checkTools()...)
	checks = append(checks, checkCapabilities())
	checks = append(checks, checkBPF()...)
	checks = append(checks, checkCgroups())
	checks = append(checks, checkDocker(ctx)...)
	checks = append(checks, checkDisk())
	r := Report{Backend: backend, Checks: checks}
	for _, c := range checks {
		if c.Status == Fail && c.Needed(backend) {
			r.Broken = true
		}
	}
	return r
}

// Fix applies what can be applied without judgement, for the backend: the
// Debian packages the sandbox needs, and for kind Docker itself (installed,
// running, with the runc wrapper as default runtime when needed).
// executable is the netlab binary that implements `runc-wrapper`.
func Fix(ctx context.Context, backend, executable string, log func(string)) error {
	if missing := missingTools(); len(missing) > 0 {
		log("installing " + strings.Join(missing, " "))
		if err := aptInstall(ctx, missing...); err != nil {
			return err
		}
	}
	if backend != Kind {
		return nil
	}
	return dockerhost.Setup(ctx, dockerhost.Options{Executable: executable, Log: lineWriter(log)})
}

func checkRoot() Check {
	c := Check{Name: "root", NeededBy: []string{Sandbox, Kind}}
	if os.Geteuid() == 0 {
		c.Status, c.Detail = OK, "running as root"
		return c
	}
	c.Status, c.Detail = Fail, fmt.Sprintf("running as uid %d; network namespaces, BPF and the Docker socket need root", os.Geteuid())
	c.Fix = "sudo netlab ..."
	return c
}

// tools are the commands the sandbox runs and their Debian packages.
var tools = [][2]string{{"ip", "iproute2"}, {"iptables", "iptables"}}

func missingTools() []string {
	var pkgs []string
	for _, t := range tools {
		if _, err := exec.LookPath(t[0]); err != nil {
			pkgs = append(pkgs, t[1])
		}
	}
	return pkgs
}

func checkTools() []Check {
	var out []Check
	for _, t := range tools {
		c := Check{Name: t[0], NeededBy: []string{Sandbox}}
		if p, err := exec.LookPath(t[0]); err == nil {
			c.Status, c.Detail = OK, p
		} else {
			c.Status, c.Detail = Fail, t[0]+" not found"
			c.Fix, c.Fixable = "apt-get install -y "+t[1], true
		}
		out = append(out, c)
	}
	return out
}

func aptInstall(ctx context.Context, pkgs ...string) error {
	for _, args := range [][]string{{"update", "-qq"}, append([]string{"install", "-y", "-qq"}, pkgs...)} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// lineWriter adapts a line logger to io.Writer for packages that print.
type lineWriter func(string)

func (w lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w(l)
	}
	return len(p), nil
}
