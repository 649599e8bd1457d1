package dockerhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// RuntimeName is the name under which the wrapper is registered with
	// dockerd.
	RuntimeName = "netlab-runc"
	// LibDir holds the wrapper script and the copy of netlab it runs.
	LibDir = "/usr/local/lib/netlab"
	// DaemonConfig is dockerd's configuration file; Setup merges its keys
	// into it and keeps everything else.
	DaemonConfig = "/etc/docker/daemon.json"
	// DaemonLog receives the output of a dockerd that Setup started itself
	// (on hosts without systemd).
	DaemonLog = "/var/log/netlab-dockerd.log"
	// Packages are the Debian packages the kind backend and the node image
	// build need.
	Packages = "docker.io debootstrap"
)

// WrapperScript is the path dockerd runs as its default runtime.
var WrapperScript = filepath.Join(LibDir, "runc")

// wrapperBinary is the copy of the netlab binary the script runs; a copy,
// so that deleting or rebuilding the netlab the user ran breaks nothing.
var wrapperBinary = filepath.Join(LibDir, "netlab")

// Options tune Setup.
type Options struct {
	// Executable implements the hidden `runc-wrapper` command (see
	// WrapperMain); empty means the running binary.
	Executable string
	// Log receives one line per action; nil discards.
	Log io.Writer
}

// Setup makes Docker usable for kind nodes, doing only what is missing:
// installs the Debian packages, registers the runc wrapper as the default
// runtime when the bounding set lacks capabilities, and starts (or reloads)
// dockerd. Running it twice changes nothing the second time.
func Setup(ctx context.Context, opts Options) error {
	logf := func(format string, a ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", a...)
		}
	}
	if err := installPackages(ctx, logf); err != nil {
		return err
	}
	bnd, err := BoundingSet()
	if err != nil {
		return err
	}
	wantWrapper := len(bnd.Missing()) > 0
	configChanged := false
	if wantWrapper {
		realRunc, err := realRuncPath()
		if err != nil {
			return err
		}
		exe := opts.Executable
		if exe == "" {
			if exe, err = os.Executable(); err != nil {
				return fmt.Errorf("find netlab binary for the runc wrapper: %w", err)
			}
		}
		changed, err := installWrapper(exe, realRunc)
		if err != nil {
			return fmt.Errorf("install runc wrapper: %w", err)
		}
		if changed {
			logf("installed runc wrapper %s (drops %s)", WrapperScript, strings.Join(bnd.Missing(), ", "))
		}
		if configChanged, err = registerRuntime(DaemonConfig); err != nil {
			return fmt.Errorf("register runc wrapper in %s: %w", DaemonConfig, err)
		}
		if configChanged {
			logf("set %s as default runtime in %s", RuntimeName, DaemonConfig)
		}
	}
	info, err := DaemonInfo(ctx)
	switch {
	case err != nil:
		logf("starting dockerd")
		if err := startDaemon(ctx); err != nil {
			return err
		}
	case wantWrapper && info.DefaultRuntime != RuntimeName:
		logf("reloading dockerd to use %s", RuntimeName)
		if err := reloadDaemon(); err != nil {
			return err
		}
	}
	info, err = waitDaemon(ctx, 60*time.Second, func(i Info) bool {
		return !wantWrapper || i.DefaultRuntime == RuntimeName
	})
	if err != nil {
		return err
	}
	logf("docker %s is up (storage %s, cgroup %s v%s, default runtime %s)",
		info.ServerVersion, info.Driver, info.CgroupDriver, info.CgroupVersion, info.DefaultRuntime)
	return nil
}

func installPackages(ctx context.Context, logf func(string, ...any)) error {
	var missing []string
	for _, p := range [][2]string{{"dockerd", "docker.io"}, {"debootstrap", "debootstrap"}} {
		if _, err := exec.LookPath(p[0]); err != nil {
			missing = append(missing, p[1])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	logf("installing %s with apt-get", strings.Join(missing, " "))
	for _, args := range [][]string{{"update", "-qq"}, append([]string{"install", "-y", "-qq"}, missing...)} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %v\n%s", strings.Join(args, " "), err, tail(out, 20))
		}
	}
	return nil
}

// realRuncPath finds the runc that the wrapper hands over to.
func realRuncPath() (string, error) {
	p, err := exec.LookPath("runc")
	if err != nil {
		return "", fmt.Errorf("runc not found (apt-get install runc): %w", err)
	}
	if p, err = filepath.EvalSymlinks(p); err != nil {
		return "", err
	}
	if strings.HasPrefix(p, LibDir+"/") {
		return "", fmt.Errorf("runc on PATH is netlab's wrapper %s", p)
	}
	return p, nil
}

// installWrapper writes the wrapper binary and script when their content
// differs from what is there, atomically, and reports whether it wrote.
func installWrapper(exe, realRunc string) (bool, error) {
	if err := os.MkdirAll(LibDir, 0o755); err != nil {
		return false, err
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		return false, err
	}
	c1, err := writeIfChanged(wrapperBinary, bin, 0o755)
	if err != nil {
		return false, err
	}
	script := fmt.Sprintf(`#!/bin/sh
# Generated by netlab (internal/dockerhost); dockerd's default runtime.
# Removes capabilities missing from this host's bounding set from the OCI
# spec, then runs the real runc.
exec %s runc-wrapper --runc %s -- "$@"
`, wrapperBinary, realRunc)
	c2, err := writeIfChanged(WrapperScript, []byte(script), 0o755)
	return c1 || c2, err
}

func writeIfChanged(path string, data []byte, mode os.FileMode) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, path)
}

// registerRuntime merges the runtime and default-runtime keys into
// daemon.json, keeping all other keys, and reports whether it changed it.
func registerRuntime(path string) (bool, error) {
	conf := map[string]any{}
	raw, err := os.ReadFile(path)
	switch {
	case err == nil && len(bytes.TrimSpace(raw)) > 0:
		if err := json.Unmarshal(raw, &conf); err != nil {
			return false, fmt.Errorf("parse: %w", err)
		}
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return false, err
	}
	runtimes, _ := conf["runtimes"].(map[string]any)
	if runtimes == nil {
		runtimes = map[string]any{}
	}
	runtimes[RuntimeName] = map[string]any{"path": WrapperScript}
	conf["runtimes"] = runtimes
	conf["default-runtime"] = RuntimeName
	out, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	return writeIfChanged(path, append(out, '\n'), 0o644)
}

func systemdRunning() bool {
	_, err := os.Stat("/run/systemd/system")
	return err == nil
}

// startDaemon starts dockerd: through systemd when it runs the host,
// otherwise as a detached process logging to DaemonLog.
func startDaemon(ctx context.Context) error {
	if systemdRunning() {
		if out, err := exec.CommandContext(ctx, "systemctl", "start", "docker").CombinedOutput(); err != nil {
			return fmt.Errorf("systemctl start docker: %v: %s", err, out)
		}
		return nil
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		return fmt.Errorf("dockerd not found: %w", err)
	}
	logFile, err := os.OpenFile(DaemonLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(dockerd)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dockerd: %w", err)
	}
	return cmd.Process.Release()
}

// reloadDaemon makes a running dockerd re-read daemon.json; runtimes and
// default-runtime are among the keys it reloads live.
func reloadDaemon() error {
	if systemdRunning() {
		if out, err := exec.Command("systemctl", "reload-or-restart", "docker").CombinedOutput(); err != nil {
			return fmt.Errorf("systemctl reload docker: %v: %s", err, out)
		}
		return nil
	}
	raw, err := os.ReadFile("/var/run/docker.pid")
	if err != nil {
		return fmt.Errorf("find dockerd to reload: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return fmt.Errorf("parse /var/run/docker.pid: %w", err)
	}
	return kill(pid, syscall.SIGHUP)
}

func waitDaemon(ctx context.Context, timeout time.Duration, ok func(Info) bool) (Info, error) {
	deadline := time.Now().Add(timeout)
	for {
		info, err := DaemonInfo(ctx)
		if err == nil && ok(info) {
			return info, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("default runtime is %q, want %q", info.DefaultRuntime, RuntimeName)
			}
			return info, fmt.Errorf("dockerd not ready after %s (log: %s): %w", timeout, DaemonLog, err)
		}
		select {
		case <-ctx.Done():
			return info, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func tail(b []byte, lines int) string {
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// WrapperMain runs the wrapper from the arguments the generated script
// passes: "--runc PATH -- RUNC-ARGS...".
func WrapperMain(args []string) error {
	if len(args) < 3 || args[0] != "--runc" || args[2] != "--" {
		return fmt.Errorf("usage: netlab runc-wrapper --runc PATH -- RUNC-ARGS")
	}
	return RuncWrapper(args[1], args[3:])
}
