//go:build unix

package sandbox

import "syscall"

// detached starts a process in a session of its own, so that signals to
// the terminal netlab was started from do not reach it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// kill sends sig to the process pid.
func kill(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }
