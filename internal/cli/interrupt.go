package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
)

// interrupted is the cause of a context cancelled by a signal.
type interrupted struct{ sig os.Signal }

func (e interrupted) Error() string { return fmt.Sprintf("interrupted by %s", signalName(e.sig)) }

// exitCode is the shell's status for a process ended by the signal.
func (e interrupted) exitCode() int { return 128 + signalNumber(e.sig) }

// onInterrupt returns a context that is cancelled, with an interrupted
// cause, on the first of the signals that end a command run by a person
// or a CI job (see interruptSignals). The signals stay caught until stop
// is called, so that a second Ctrl-C or a SIGPIPE from writing to a
// closed stderr does not kill the process half-way through the cleanup
// the first one started. After stop, context.Cause(ctx) says whether a
// signal came (one still pending when stop is called counts), and the
// signals have their default effect again (a write to a closed stdout
// ends the process with SIGPIPE, as any command's).
func onInterrupt(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, interruptSignals...)
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case sig := <-ch:
			cancel(interrupted{sig})
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			<-exited
			select {
			case sig := <-ch:
				cancel(interrupted{sig})
			default:
				cancel(nil)
			}
		})
	}
}

// ignoreInterrupts makes the interrupt signals do nothing from now on: a
// command that was interrupted and has cleaned up reports it and exits
// with its status, which neither a second Ctrl-C nor a write to a closed
// stderr (SIGPIPE) may change.
func ignoreInterrupts() { signal.Ignore(interruptSignals...) }
