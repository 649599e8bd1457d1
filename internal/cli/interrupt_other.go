//go:build !unix

package cli

import "os"

// interruptSignals: elsewhere only Ctrl-C (os.Interrupt) is portable.
var interruptSignals = []os.Signal{os.Interrupt}

func signalNumber(os.Signal) int { return 2 }

func signalName(s os.Signal) string { return s.String() }
