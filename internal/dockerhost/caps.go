package dockerhost

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// capNames are the Linux capabilities by number, as the OCI runtime spec
// spells them.
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// CapSet is a set of capabilities as a bit mask (bit n = capability n), the
// way /proc/PID/status prints them.
type CapSet uint64

// Has reports whether the set holds the named capability ("CAP_BPF").
// Unknown names are reported as present: the kernel may know capabilities
// newer than this table, and the wrapper must never drop what it cannot judge.
func (s CapSet) Has(name string) bool {
	for i, n := range capNames {
		if n == name {
			return s&(1<<uint(i)) != 0
		}
	}
	return true
}

// Missing lists the known capabilities that are not in the set, in number
// order.
func (s CapSet) Missing() []string {
	var out []string
	for i, n := range capNames {
		if s&(1<<uint(i)) == 0 {
			out = append(out, n)
		}
	}
	return out
}

// BoundingSet reads the calling process's capability bounding set (CapBnd)
// from /proc/self/status. Nothing started from this process, containers
// included, can hold a capability outside it.
func BoundingSet() (CapSet, error) {
	return readCapField("/proc/self/status", "CapBnd")
}

func readCapField(path, field string) (CapSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s in %s: %w", field, path, err)
		}
		return CapSet(n), nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s line in %s", field, path)
}
