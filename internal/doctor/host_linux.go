//go:build linux

package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/netlab/netlab/internal/dockerhost"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// checkCapabilities reports the bounding set: the sandbox needs NET_ADMIN
// and SYS_ADMIN (or BPF) itself; anything else missing only matters to
// Docker, which the docker runtime check covers.
func checkCapabilities() Check {
	c := Check{Name: "capabilities", NeededBy: []string{Sandbox}}
	bnd, err := dockerhost.BoundingSet()
	if err != nil {
		c.Status, c.Detail = Fail, err.Error()
		return c
	}
	var lacking []string
	for _, need := range []string{"CAP_NET_ADMIN", "CAP_SYS_ADMIN"} {
		if !bnd.Has(need) {
			lacking = append(lacking, need)
		}
	}
	missing := bnd.Missing()
	switch {
	case len(lacking) > 0:
		c.Status = Fail
		c.Detail = "bounding set lacks " + strings.Join(lacking, ", ")
		c.Fix = "run netlab on a host (or container started with --privileged) that has " + strings.Join(lacking, ", ")
	case len(missing) > 0:
		c.Status = OK
		c.Detail = fmt.Sprintf("CapBnd %016x; lacks %s (Docker needs the runc wrapper, see docker runtime)", uint64(bnd), strings.Join(missing, ", "))
	default:
		c.Status, c.Detail = OK, fmt.Sprintf("CapBnd %016x: all capabilities", uint64(bnd))
	}
	return c
}

// checkBPF checks the kernel side of the enforcer: bpffs mounted, a
// program loads, and it attaches with TCX (or, failing that, that the tc
// fallback will be used).
func checkBPF() []Check {
	both := []string{Sandbox, Kind}
	fs := Check{Name: "bpffs", NeededBy: []string{Sandbox}}
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/bpf", &st); err == nil && st.Type == unix.BPF_FS_MAGIC {
		fs.Status, fs.Detail = OK, "/sys/fs/bpf is a bpf filesystem"
	} else {
		fs.Status, fs.Detail = Fail, "/sys/fs/bpf is not a bpf filesystem (pinned enforcer state cannot outlive netlab)"
		fs.Fix = "mount -t bpf bpf /sys/fs/bpf"
	}

	load := Check{Name: "bpf program", NeededBy: both}
	tcx := Check{Name: "bpf tcx", NeededBy: nil}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.SchedCLS,
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, -1), asm.Return()}, // TC_ACT_UNSPEC / TCX_NEXT
	})
	if err != nil {
		load.Status, load.Detail = Fail, "cannot load a trivial tc program: "+err.Error()
		load.Fix = "run as root on a kernel with CONFIG_BPF_SYSCALL and CONFIG_NET_CLS_BPF (5.x or newer)"
		tcx.Status, tcx.Detail = Warn, "not tried: no program"
		return []Check{fs, load, tcx}
	}
	defer prog.Close()
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	load.Status, load.Detail = OK, "loaded a tc program on kernel "+unix.ByteSliceToString(uts.Release[:])
	if err := tryTCX(prog); err != nil {
		tcx.Status = Warn
		tcx.Detail = "TCX attach failed (" + err.Error() + "); the enforcer falls back to clsact + cls_bpf"
		tcx.Fix = "none needed; kernel 6.6+ has TCX"
	} else {
		tcx.Status, tcx.Detail = OK, "TCX attach works (tried in a throw-away network namespace)"
	}
	return []Check{fs, load, tcx}
}

// tryTCX attaches prog to the loopback of a new, empty network namespace,
// so that the check touches nothing on the host.
func tryTCX(prog *ebpf.Program) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("new netns: %w", err)
	}
	defer ns.Close()
	l, attachErr := link.AttachTCX(link.TCXOptions{Interface: 1, Program: prog, Attach: ebpf.AttachTCXIngress})
	if attachErr == nil {
		l.Close()
	}
	if err := netns.Set(orig); err != nil {
		// Leave the thread locked: it is stuck in the wrong namespace and
		// the runtime must not reuse it.
		return fmt.Errorf("restore netns: %w", err)
	}
	runtime.UnlockOSThread()
	return attachErr
}

// checkCgroups says which cgroup layout the host has and whether kubelet
// (inside kind nodes) can live with it.
func checkCgroups() Check {
	c := Check{Name: "cgroups", NeededBy: []string{Kind}}
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		c.Status, c.Detail = Fail, "/sys/fs/cgroup: "+err.Error()
		c.Fix = "mount cgroups (a systemd host does this at boot)"
		return c
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		c.Status, c.Detail = OK, "cgroup v2 (unified): any Kubernetes version"
		return c
	}
	var missing []string
	for _, ctl := range []string{"cpu", "cpuacct", "cpuset", "memory", "pids", "devices"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", ctl)); err != nil {
			missing = append(missing, ctl)
		}
	}
	layout := "v1"
	if _, err := os.Stat("/sys/fs/cgroup/unified"); err == nil {
		layout = "v1 (hybrid)"
	}
	if len(missing) > 0 {
		c.Status = Fail
		c.Detail = fmt.Sprintf("cgroup %s without the %s controller(s) kubelet needs", layout, strings.Join(missing, ", "))
		c.Fix = "boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1) or enable the missing controllers"
		return c
	}
	c.Status = OK
	c.Detail = "cgroup " + layout + ": kubelet 1.34 runs; 1.35+ needs failCgroupV1: false (netlab's node image is 1.34)"
	return c
}

// minFreeGiB is what a node image build needs: Go build cache (~4 GiB),
// modules, the Debian root file system and the images themselves.
const minFreeGiB = 10

// checkDisk checks free space where Docker and netlab's cache keep images.
func checkDisk() Check {
	c := Check{Name: "disk", NeededBy: []string{Kind}}
	dir := "/var/lib/docker"
	for ; dir != "/"; dir = filepath.Dir(dir) {
		if _, err := os.Stat(dir); err == nil {
			break
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		c.Status, c.Detail = Warn, err.Error()
		return c
	}
	free := float64(st.Bavail) * float64(st.Bsize) / (1 << 30)
	if free < minFreeGiB {
		c.Status = Fail
		c.Detail = fmt.Sprintf("%.1f GiB free on %s; building and running kind node images needs %d GiB", free, dir, minFreeGiB)
		c.Fix = "free disk space (docker system prune; go clean -cache)"
		return c
	}
	c.Status, c.Detail = OK, fmt.Sprintf("%.1f GiB free on %s", free, dir)
	return c
}
