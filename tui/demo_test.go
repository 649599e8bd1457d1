package tui

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestDemo runs the TUI on the fake lab in the real terminal, for looking
// at it by eye without root or a lab:
//
//	go test -c -o /tmp/tui.test ./tui && NETLAB_TUI_DEMO=1 /tmp/tui.test -test.run TestDemo
//
// A "learner" applies a wrong policy after 3 s and the right one after
// 12 s, with verdict events; press c to check in between.
func TestDemo(t *testing.T) {
	if os.Getenv("NETLAB_TUI_DEMO") == "" {
		t.Skip("set NETLAB_TUI_DEMO=1 and run the test binary in a terminal")
	}
	f := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-time.After(3 * time.Second):
		case <-ctx.Done():
			return
		}
		f.lesson.apply("backend-deny", gridWith(kClientBackend, kDNSBackend, kFrontendBackend),
			Event{Time: time.Now(), Text: "DROP netpol-lab/frontend -> backend:8080 (no ingress rule of backend-deny matches)"},
			Event{Time: time.Now(), Text: "DROP netpol-lab/client -> backend:8080 (no ingress rule of backend-deny matches)"})
		select {
		case <-time.After(9 * time.Second):
		case <-ctx.Done():
			return
		}
		f.lesson.apply("backend-allow", gridWith(kClientBackend, kDNSBackend),
			Event{Time: time.Now(), Allowed: true, Text: "ALLOW netpol-lab/frontend -> backend:8080 (backend-allow ingress rule 0)"},
			Event{Time: time.Now(), Text: "DROP netpol-lab/client -> backend:8080 (no ingress rule of backend-allow matches)"})
	}()
	if err := Run(ctx, f, Options{AltScreen: os.Getenv("NETLAB_TUI_DEMO_ALT") != ""}); err != nil {
		t.Fatal(err)
	}
}
