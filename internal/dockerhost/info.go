package dockerhost

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// Info is the part of `docker info` that netlab relies on.
type Info struct {
	ServerVersion  string
	Driver         string
	CgroupDriver   string
	CgroupVersion  string
	DefaultRuntime string
	Runtimes       map[string]struct {
		Path string `json:"path"`
	}
	DockerRootDir string
}

// RuntimePath is the binary dockerd runs for its default runtime.
func (i Info) RuntimePath() string {
	if r, ok := i.Runtimes[i.DefaultRuntime]; ok {
		return r.Path
	}
	return ""
}

// DaemonInfo asks the running daemon for its configuration. It fails when
// the docker CLI is missing or no daemon answers.
func DaemonInfo(ctx context.Context) (Info, error) {
	var info Info
	out, err := dockerOutput(ctx, "info", "--format", "{{json .}}")
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return info, fmt.Errorf("parse docker info: %w", err)
	}
	if info.ServerVersion == "" {
		return info, fmt.Errorf("docker info: no server answered")
	}
	return info, nil
}

func dockerOutput(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return out, fmt.Errorf("docker %s: %s", strings.Join(args, " "), msg)
	}
	return out, nil
}
