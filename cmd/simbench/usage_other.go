//go:build !unix

package main

import (
	"errors"
	"os"
	"time"
)

// childUsage needs getrusage: simbench measures on Unix systems only.
func childUsage(*os.ProcessState) (time.Duration, int64, error) {
	return 0, 0, errors.New("simbench measures CPU time and peak RSS on Unix systems only")
}
