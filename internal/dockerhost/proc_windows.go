package dockerhost

import (
	"errors"
	"syscall"
)

// Processes netlab starts and signals are Linux ones; these exist so that
// netlab builds on Windows, where the sandbox and Docker setup never run.

func detached() *syscall.SysProcAttr { return nil }

func kill(int, syscall.Signal) error { return errors.New("signals need a Unix system") }
