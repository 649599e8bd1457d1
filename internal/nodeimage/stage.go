package nodeimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// stage is one cached step of the build.
type stage struct {
	name string
	// inputs identify what the output depends on; their hash is the key.
	inputs []string
	// done reports whether the output exists (files, a Docker image).
	done func(ctx context.Context, key string) bool
	run  func(ctx context.Context) error
}

// key hashes a stage's inputs together with the recipe version.
func key(inputs ...string) string {
	h := sha256.New()
	fmt.Fprintln(h, recipe)
	for _, in := range inputs {
		fmt.Fprintln(h, in)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// runStages runs the stages in order, skipping those whose stamp matches
// their key and whose output exists, and prints one line per stage with its
// time. It reports whether any stage ran.
func (b *builder) runStages(ctx context.Context, stages []stage, offset, total int) (bool, error) {
	built := false
	for i, st := range stages {
		k := key(st.inputs...)
		// One stamp per stage and key, so that builds of several versions
		// or image names share the cache without evicting each other.
		stamp := filepath.Join(b.dir, "stamps", st.name+"-"+k)
		prefix := fmt.Sprintf("[%2d/%d] %-10s", offset+i+1, total, st.name)
		t0 := time.Now()
		if _, err := os.Stat(stamp); err == nil && st.done(ctx, k) {
			fmt.Fprintf(b.log, "%s cached\n", prefix)
			continue
		}
		fmt.Fprintf(b.log, "%s building ...\n", prefix)
		if err := st.run(ctx); err != nil {
			return built, fmt.Errorf("stage %s: %w", st.name, err)
		}
		if !st.done(ctx, k) {
			return built, fmt.Errorf("stage %s: finished but its output is missing", st.name)
		}
		if err := os.MkdirAll(filepath.Dir(stamp), 0o755); err != nil {
			return built, err
		}
		if err := os.WriteFile(stamp, []byte(k+"\n"), 0o644); err != nil {
			return built, err
		}
		built = true
		fmt.Fprintf(b.log, "%s done in %s\n", prefix, time.Since(t0).Round(100*time.Millisecond))
	}
	return built, nil
}

// filesExist is a done func for stages whose output is files.
func filesExist(paths ...string) func(context.Context, string) bool {
	return func(context.Context, string) bool {
		for _, p := range paths {
			if _, err := os.Stat(p); err != nil {
				return false
			}
		}
		return true
	}
}
