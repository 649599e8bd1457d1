//go:build linux

package enforcer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// DefaultPinDir is where netlab pins its maps and links unless told otherwise.
const DefaultPinDir = "/sys/fs/bpf/netlab"

// bpffsRoot is the conventional bpffs mount point; Open mounts it on demand.
const bpffsRoot = "/sys/fs/bpf"

// Dataplane is a loaded copy of the netpol programs together with the maps
// pinned under one pin directory. Several Dataplanes (in one process or
// across restarts) opened on the same pin directory share the same maps.
type Dataplane struct {
	pinDir string
	objs   objects

	// mu serializes Sync so that two diffs never interleave.
	mu sync.Mutex

	// forceNetlink makes Attach use clsact + cls_bpf even when TCX works,
	// so that tests exercise the fallback on kernels that have TCX.
	forceNetlink bool
}

// objects is what Open loads: the programs and the maps, but not the
// unused_event global that only exists to emit struct event into BTF.
type objects struct {
	netpolPrograms
	netpolMaps
}

func (o *objects) Close() error {
	return errors.Join(o.netpolPrograms.Close(), o.netpolMaps.Close())
}

// Open loads the netpol programs and their maps. Maps are pinned by name
// under pinDir; when pins already exist (a previous process opened the same
// pinDir) they are reused, so state and enforcement carry over a restart.
// pinDir must be on a bpf filesystem; /sys/fs/bpf is mounted if needed.
func Open(pinDir string) (*Dataplane, error) {
	if err := ensurePinDir(pinDir); err != nil {
		return nil, err
	}
	// Kernels >= 5.11 account BPF memory to the cgroup and this is a no-op.
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("removing memlock limit: %w", err)
	}

	spec, err := loadNetpol()
	if err != nil {
		return nil, fmt.Errorf("loading eBPF spec: %w", err)
	}
	d := &Dataplane{pinDir: pinDir}
	opts := &ebpf.CollectionOptions{Maps: ebpf.MapOptions{PinPath: pinDir}}
	if err := spec.LoadAndAssign(&d.objs, opts); err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return nil, fmt.Errorf("loading eBPF objects: %+v", verr)
		}
		return nil, fmt.Errorf("loading eBPF objects with pins in %s (remove stale pins with enforcer.Remove): %w", pinDir, err)
	}
	return d, nil
}

// OpenMaps opens only the maps pinned under pinDir (creating them if they
// do not exist yet), without loading the programs: enough for Sync,
// Current, Events and Counters, and an order of magnitude cheaper than
// Open, so a policy change is enforced in milliseconds. Attach needs Open.
func OpenMaps(pinDir string) (*Dataplane, error) {
	if err := ensurePinDir(pinDir); err != nil {
		return nil, err
	}
	spec, err := loadNetpol()
	if err != nil {
		return nil, fmt.Errorf("loading eBPF spec: %w", err)
	}
	d := &Dataplane{pinDir: pinDir}
	opts := &ebpf.CollectionOptions{Maps: ebpf.MapOptions{PinPath: pinDir}}
	if err := spec.LoadAndAssign(&d.objs.netpolMaps, opts); err != nil {
		return nil, fmt.Errorf("opening eBPF maps pinned in %s: %w", pinDir, err)
	}
	return d, nil
}

// PinDir returns the directory holding this Dataplane's pins.
func (d *Dataplane) PinDir() string { return d.pinDir }

// Close releases this process's file descriptors. Pins, attached programs
// and map contents stay, so enforcement goes on without the process.
func (d *Dataplane) Close() error {
	if err := d.objs.Close(); err != nil {
		return fmt.Errorf("closing eBPF objects: %w", err)
	}
	return nil
}

// Remove detaches every program attached through pinDir and deletes all its
// pins, which frees the maps once nothing else holds them. Traffic on the
// formerly enforced interfaces is no longer policed afterwards. Removing a
// pinDir that does not exist is not an error.
func Remove(pinDir string) error {
	if _, err := os.Stat(pinDir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var errs []error

	// cls_bpf filters are not pinned: find ours by the maps they use.
	if mapID, ok := pinnedMapID(filepath.Join(pinDir, netpolMapEndpoints)); ok {
		if err := removeNetlinkFilters(0, mapID); err != nil {
			errs = append(errs, err)
		}
	}

	entries, err := os.ReadDir(linksDir(pinDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("listing pinned links: %w", err))
	}
	for _, e := range entries {
		if err := unpinLink(filepath.Join(linksDir(pinDir), e.Name())); err != nil {
			errs = append(errs, err)
		}
	}

	if err := os.RemoveAll(pinDir); err != nil {
		errs = append(errs, fmt.Errorf("removing pins in %s: %w", pinDir, err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("removing enforcer pinned at %s: %w", pinDir, errors.Join(errs...))
	}
	return nil
}

// ensurePinDir mounts bpffs at /sys/fs/bpf when pinDir lives there and it is
// not mounted yet, then creates pinDir and checks that it is on bpffs.
func ensurePinDir(pinDir string) error {
	clean := filepath.Clean(pinDir)
	if (clean == bpffsRoot || strings.HasPrefix(clean, bpffsRoot+"/")) && !isBPFFS(bpffsRoot) {
		if err := os.MkdirAll(bpffsRoot, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", bpffsRoot, err)
		}
		if err := unix.Mount("bpf", bpffsRoot, "bpf", 0, "mode=0700"); err != nil {
			return fmt.Errorf("mounting bpffs at %s: %w", bpffsRoot, err)
		}
	}
	if err := os.MkdirAll(clean, 0o700); err != nil {
		return fmt.Errorf("creating pin dir: %w", err)
	}
	if !isBPFFS(clean) {
		return fmt.Errorf("pin dir %s is not on a bpf filesystem", clean)
	}
	return nil
}

func isBPFFS(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.BPF_FS_MAGIC
}

// pinnedMapID returns the kernel id of the map pinned at path.
func pinnedMapID(path string) (ebpf.MapID, bool) {
	m, err := ebpf.LoadPinnedMap(path, nil)
	if err != nil {
		return 0, false
	}
	defer m.Close()
	info, err := m.Info()
	if err != nil {
		return 0, false
	}
	return info.ID()
}
