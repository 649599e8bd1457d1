//go:build unix

package course_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netlab/netlab/internal/course"
)

// TestSubmissionFIFO: a FIFO named remove.txt (or a manifest) is refused
// at once; before, opening remove.txt blocked grade forever.
func TestSubmissionFIFO(t *testing.T) {
	lab := mustLab(t, "default-deny")
	for _, name := range []string{"remove.txt", "p.yaml"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.Mkdir(filepath.Join(dir, "deny-all"), 0o755)
			fifo := filepath.Join(dir, "deny-all", name)
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Fatal(err)
			}
			done := make(chan []course.Answer, 1)
			go func() {
				answers, _ := course.ReadSubmission(dir, lab)
				done <- answers
			}()
			select {
			case answers := <-done:
				if e := answers[1].Err; e == nil || !strings.Contains(e.Error(), fifo) || !strings.Contains(e.Error(), "not a regular file") {
					t.Errorf("a FIFO %s: %v", name, e)
				}
			case <-time.After(20 * time.Second):
				// Unblock the reader so the test binary can finish.
				if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
				t.Fatalf("reading a submission with a FIFO %s hangs", name)
			}
		})
	}
}
