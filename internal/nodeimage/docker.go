package nodeimage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// keyLabel is the image label that records the stage key an image was built
// from, so that a cached image is only reused for the same inputs.
const keyLabel = "io.netlab.nodeimage.key"

// docker runs the docker CLI and returns its trimmed stdout; stdin may be
// nil.
func docker(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = lastLines(stdout.String(), 20)
		}
		return "", fmt.Errorf("docker %s: %v: %s", shortArgs(args), err, lastLines(msg, 30))
	}
	return strings.TrimSpace(stdout.String()), nil
}

func shortArgs(args []string) string {
	s := strings.Join(args, " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// imageKey returns the key label of a local image, "" when it does not
// exist.
func imageKey(ctx context.Context, image string) string {
	out, err := docker(ctx, nil, "image", "inspect", "--format", `{{index .Config.Labels "`+keyLabel+`"}}`, image)
	if err != nil {
		return ""
	}
	return out
}

// imageHasKey is a stage done func for stages that produce a Docker image.
func imageHasKey(image string) func(context.Context, string) bool {
	return func(ctx context.Context, k string) bool { return imageKey(ctx, image) == k }
}

// ImageExists reports whether Docker has the image locally.
func ImageExists(ctx context.Context, image string) bool {
	_, err := docker(ctx, nil, "image", "inspect", "--format", "{{.Id}}", image)
	return err == nil
}

// buildContainer is a container the build runs commands in and removes at
// the end, whatever happens.
type buildContainer struct{ name string }

func startContainer(ctx context.Context, name string, args ...string) (*buildContainer, error) {
	_, _ = docker(context.Background(), nil, "rm", "-f", name)
	if _, err := docker(ctx, nil, append([]string{"run", "-d", "--name", name}, args...)...); err != nil {
		return nil, err
	}
	return &buildContainer{name: name}, nil
}

func (c *buildContainer) exec(ctx context.Context, stdin io.Reader, cmd ...string) (string, error) {
	args := []string{"exec"}
	if stdin != nil {
		args = append(args, "-i")
	}
	return docker(ctx, stdin, append(append(args, c.name), cmd...)...)
}

func (c *buildContainer) sh(ctx context.Context, script string) (string, error) {
	return c.exec(ctx, nil, "sh", "-c", script)
}

// copyIn unpacks a tar stream at / in the container.
func (c *buildContainer) copyIn(ctx context.Context, tarStream io.Reader) error {
	_, err := docker(ctx, tarStream, "cp", "-", c.name+":/")
	return err
}

// commit saves the container as image, and removes the image that had that
// name before (when no container uses it) so that rebuilds leave no
// dangling images behind.
func (c *buildContainer) commit(ctx context.Context, image string, changes ...string) error {
	old, _ := docker(ctx, nil, "image", "inspect", "--format", "{{.Id}}", image)
	args := []string{"commit"}
	for _, ch := range changes {
		args = append(args, "--change", ch)
	}
	id, err := docker(ctx, nil, append(args, c.name, image)...)
	if err == nil && old != "" && old != id {
		_, _ = docker(ctx, nil, "rmi", old)
	}
	return err
}

func (c *buildContainer) remove() {
	_, _ = docker(context.Background(), nil, "rm", "-f", "-v", c.name)
}
