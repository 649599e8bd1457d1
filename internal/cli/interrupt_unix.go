//go:build unix

package cli

import (
	"os"
	"syscall"
)

// interruptSignals: Ctrl-C, a cancelled CI job (SIGTERM), a closed
// terminal (SIGHUP), and a closed stdout or stderr (SIGPIPE, which a
// process writing to fd 1 or 2 otherwise dies of at once).
var interruptSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE}

func signalNumber(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return int(n)
	}
	return int(syscall.SIGINT)
}

func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	}
	return s.String()
}
