//go:build unix

package nodeimage

import "syscall"

// lowerPriority makes the process pid nicer (10), best effort.
func lowerPriority(pid int) { _ = syscall.Setpriority(syscall.PRIO_PROCESS, pid, 10) }
