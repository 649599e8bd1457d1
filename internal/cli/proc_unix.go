//go:build unix

package cli

import "syscall"

// processAlive reports whether a process pid exists (signal 0).
func processAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }
