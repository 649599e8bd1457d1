//go:build !unix

package course

import "os"

// openFlags: elsewhere there is no O_NONBLOCK; the check before opening
// refuses what is not a regular file.
const openFlags = os.O_RDONLY
