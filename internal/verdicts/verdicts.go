// Package verdicts collects the enforcer's verdict events while a probe
// runs and attaches them to the probe's cells ('netlab probe --why'): for
// each cell, what the kernel itself decided on the source's egress side
// and on the destination's ingress side, and why.
package verdicts

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/world"
)

// Log gathers events from a stream, keeping only those that happened
// after it started: a ring buffer keeps what nobody read, and verdicts
// from before the probe (under earlier policies) are not the probe's.
type Log struct {
	stop func()
	done chan struct{}

	mu     sync.Mutex
	events []enforcer.Event
	last   time.Time
}

// Collect starts reading events; stop ends the stream (it must close the
// channel).
func Collect(events <-chan enforcer.Event, stop func()) *Log {
	start := time.Now()
	l := &Log{stop: stop, done: make(chan struct{}), last: start}
	go func() {
		defer close(l.done)
		for ev := range events {
			if ev.Time.Before(start) {
				continue
			}
			l.mu.Lock()
			l.events = append(l.events, ev)
			l.last = time.Now()
			l.mu.Unlock()
		}
	}()
	return l
}

// Stop waits until the stream has been quiet briefly (events trail the
// packets by microseconds to milliseconds, more through an exec), then
// stops reading and returns what was collected.
func (l *Log) Stop(quiet time.Duration) []enforcer.Event {
	deadline := time.Now().Add(10 * quiet)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		q := time.Since(l.last)
		l.mu.Unlock()
		if q > quiet {
			break
		}
		time.Sleep(quiet / 5)
	}
	l.stop()
	<-l.done
	return l.events
}

// Annotate sets each cell's Why to the distinct verdicts reported for
// packets from its source to its destination port: the source's egress
// side first, then the destination's ingress. extra names addresses that
// are not pods (e.g. the internet host, keyed by its cell name).
func Annotate(events []enforcer.Event, w *world.World, m *matrix.Matrix, extra map[string]netip.Addr) {
	name := map[netip.Addr]string{}
	ip := map[string]netip.Addr{}
	for _, p := range w.Pods {
		name[p.IP], ip[p.Key()] = p.Key(), p.IP
	}
	for k, a := range extra {
		ip[k] = a
	}
	type flow struct {
		src, dst netip.Addr
		port     uint16
		proto    string
	}
	byFlow := map[flow][]string{}
	seen := map[string]bool{}
	for _, dir := range []enforcer.Direction{enforcer.Egress, enforcer.Ingress} {
		for _, ev := range events {
			if ev.Dir != dir {
				continue
			}
			f := flow{ev.Src, ev.Dst, ev.DstPort, ev.Proto}
			subject := ev.Dst
			if dir == enforcer.Egress {
				subject = ev.Src
			}
			who := name[subject]
			if who == "" {
				who = subject.String()
			}
			line := fmt.Sprintf("%s of %s: %s", dir, who, ev.Reason())
			if k := fmt.Sprint(f, line); !seen[k] {
				seen[k] = true
				byFlow[f] = append(byFlow[f], line)
			}
		}
	}
	for i := range m.Results {
		c := &m.Results[i]
		c.Why = byFlow[flow{ip[c.From], ip[c.To], uint16(c.Port), c.Protocol}]
	}
}
