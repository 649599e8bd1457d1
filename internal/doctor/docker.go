package doctor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/netlab/netlab/internal/dockerhost"
)

const fixDocker = "sudo netlab doctor --backend kind --fix"

// checkDocker checks what kind nodes need from Docker: the daemon installed
// and answering, and a default runtime that copes with capabilities missing
// from the host's bounding set.
func checkDocker(ctx context.Context) []Check {
	kind := []string{Kind}
	installed := Check{Name: "docker installed", NeededBy: kind}
	dockerd, err := exec.LookPath("dockerd")
	_, cliErr := exec.LookPath("docker")
	switch {
	case err != nil && cliErr != nil:
		installed.Status, installed.Detail = Fail, "neither docker nor dockerd found"
	case err != nil:
		installed.Status, installed.Detail = Warn, "docker CLI found but no dockerd here (fine if DOCKER_HOST points elsewhere)"
	default:
		installed.Status, installed.Detail = OK, dockerd
	}
	if installed.Status != OK {
		installed.Fix, installed.Fixable = "apt-get install -y "+dockerhost.Packages+"   (or: "+fixDocker+")", true
	}

	daemon := Check{Name: "docker daemon", NeededBy: kind}
	info, infoErr := dockerhost.DaemonInfo(ctx)
	if infoErr != nil {
		daemon.Status, daemon.Detail = Fail, firstLine(infoErr.Error())
		daemon.Fix, daemon.Fixable = fixDocker+"   (starts dockerd, log in "+dockerhost.DaemonLog+")", true
	} else {
		daemon.Status = OK
		daemon.Detail = fmt.Sprintf("Docker %s, storage %s, cgroup driver %s, cgroup v%s",
			info.ServerVersion, info.Driver, info.CgroupDriver, info.CgroupVersion)
	}

	runtime := Check{Name: "docker runtime", NeededBy: kind}
	bnd, bndErr := dockerhost.BoundingSet()
	missing := bnd.Missing()
	switch {
	case bndErr != nil:
		runtime.Status, runtime.Detail = Warn, bndErr.Error()
	case infoErr != nil:
		runtime.Status, runtime.Detail = Fail, "unknown: no daemon"
		runtime.Fix, runtime.Fixable = fixDocker, true
	case len(missing) == 0:
		runtime.Status, runtime.Detail = OK, "default runtime "+info.DefaultRuntime+"; the bounding set has every capability"
	case info.DefaultRuntime != dockerhost.RuntimeName:
		runtime.Status = Fail
		runtime.Detail = fmt.Sprintf("bounding set lacks %s and the default runtime is %s: privileged containers (kind nodes) fail with \"unable to apply caps\"",
			strings.Join(missing, ", "), info.DefaultRuntime)
		runtime.Fix, runtime.Fixable = fixDocker+"   (registers netlab's runc wrapper as default runtime)", true
	default:
		if _, err := os.Stat(info.RuntimePath()); err != nil {
			runtime.Status, runtime.Detail = Fail, "default runtime "+info.DefaultRuntime+" points to a missing file: "+err.Error()
			runtime.Fix, runtime.Fixable = fixDocker, true
		} else {
			runtime.Status = OK
			runtime.Detail = fmt.Sprintf("default runtime %s (%s) drops %s", info.DefaultRuntime, info.RuntimePath(), strings.Join(missing, ", "))
		}
	}
	return []Check{installed, daemon, runtime}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
