package statefile

import (
	"os"

	"golang.org/x/sys/windows"
)

// Lock takes an exclusive lock on f, waiting as long as another process
// holds it. The system drops it when the process dies.
func Lock(f *os.File) error {
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &windows.Overlapped{})
}

// Unlock releases the lock Lock took.
func Unlock(f *os.File) error {
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &windows.Overlapped{})
}
