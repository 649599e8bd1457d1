//go:build unix

package statefile

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on f: waiting as long as another
// process holds it, or with wait false failing with ErrLocked at once. The
// kernel drops it when the process dies.
func lockFile(f *os.File, wait bool) error {
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	err := syscall.Flock(int(f.Fd()), how)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}

// unlockFile releases the lock lockFile took.
func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
