package cli

import "github.com/netlab/netlab/internal/backend"

// find returns the lab --name means (or the current lab, or the only one
// running), on whichever backend runs it.
func (f *labFlag) find() (backend.Lab, error) {
	return backend.Find(f.meant(), "")
}
