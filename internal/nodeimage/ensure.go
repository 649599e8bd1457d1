package nodeimage

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/defaults"
)

// KindDefaultImage is the node image the kind library uses when none is
// given.
const KindDefaultImage = defaults.Image

// pullTimeout bounds the attempt to pull kind's image: on a machine without
// a registry it fails fast, behind a black-holing firewall it would hang.
const pullTimeout = 90 * time.Second

// EnsureOptions configure Ensure.
type EnsureOptions struct {
	Options
	// Offline skips trying kind's default image and always uses the
	// locally built one.
	Offline bool
}

// Ensure returns a node image that kind can create clusters from: kind's
// default image when Docker has it or can pull it, otherwise netlab's
// locally built image (built now, or found in the cache). built reports
// whether any build stage had to run. It says on opts.Log which image it
// chose and why.
func Ensure(ctx context.Context, opts EnsureOptions) (imageName string, built bool, err error) {
	o := opts.Options.withDefaults()
	if !opts.Offline {
		if ImageExists(ctx, KindDefaultImage) {
			fmt.Fprintf(o.Log, "using kind's default node image %s (present locally)\n", KindDefaultImage)
			return KindDefaultImage, false, nil
		}
		pctx, cancel := context.WithTimeout(ctx, pullTimeout)
		_, perr := docker(pctx, nil, "pull", KindDefaultImage)
		cancel()
		if perr == nil {
			fmt.Fprintf(o.Log, "using kind's default node image %s (pulled)\n", KindDefaultImage)
			return KindDefaultImage, false, nil
		}
		fmt.Fprintf(o.Log, "cannot pull kind's default node image (%s); using netlab's locally built node image %s\n",
			firstLine(perr.Error()), o.Image)
	} else {
		fmt.Fprintf(o.Log, "offline: using netlab's locally built node image %s\n", o.Image)
	}
	img, built, err := Build(ctx, o)
	if err != nil {
		return "", built, fmt.Errorf("build node image: %w", err)
	}
	return img, built, nil
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
