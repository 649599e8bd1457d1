//go:build unix

package statefile

import (
	"os"
	"syscall"
)

// Lock takes an exclusive lock on f, waiting as long as another process
// holds it. The kernel drops it when the process dies, so a killed command
// never wedges the state it guarded.
func Lock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }

// Unlock releases the lock Lock took.
func Unlock(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
