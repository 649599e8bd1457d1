//go:build unix

package main

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// childUsage is the CPU time (user+system) and peak RSS the kernel
// accounted to a finished child.
func childUsage(ps *os.ProcessState) (time.Duration, int64, error) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0, errors.New("no rusage for the child")
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), int64(ru.Maxrss) << 10, nil // KiB on Linux
}
