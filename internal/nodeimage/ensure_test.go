package nodeimage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/dockerhost"
	"github.com/netlab/netlab/internal/testenv"
)

// TestEnsureSaysWhichImage checks that Ensure hands back an image Docker
// has, and says whether it is kind's or netlab's.
func TestEnsureSaysWhichImage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	testenv.Require(t, os.Geteuid() == 0, "needs root")
	_, err := dockerhost.DaemonInfo(ctx)
	testenv.Require(t, err == nil, fmt.Sprintf("needs Docker: %v", err))
	opts := Options{}.withDefaults()
	testenv.Require(t, ImageExists(ctx, opts.Image) || ImageExists(ctx, KindDefaultImage),
		fmt.Sprintf("neither %s nor kind's image is here (sudo netlab node-image build)", opts.Image))

	var log bytes.Buffer
	img, _, err := Ensure(ctx, EnsureOptions{Options: Options{Log: &log}})
	if err != nil {
		t.Fatalf("Ensure: %v\n%s", err, log.String())
	}
	switch img {
	case KindDefaultImage:
		if !strings.Contains(log.String(), "using kind's default node image") {
			t.Errorf("chose kind's image without saying so:\n%s", log.String())
		}
	case opts.Image:
		if !strings.Contains(log.String(), "using netlab's locally built node image") {
			t.Errorf("chose the local image without saying so:\n%s", log.String())
		}
	default:
		t.Fatalf("Ensure returned %q", img)
	}
	if !ImageExists(ctx, img) {
		t.Errorf("Ensure returned %s, which Docker does not have", img)
	}

	t.Logf("Ensure said:\n%s", log.String())
	log.Reset()
	img, built, err := Ensure(ctx, EnsureOptions{Options: Options{Log: &log}, Offline: true})
	if err != nil || img != opts.Image || built {
		t.Errorf("offline Ensure = %q, built=%v, err=%v; want cached %s\n%s", img, built, err, opts.Image, log.String())
	}
	t.Logf("offline Ensure said:\n%s", log.String())
}
