package sandbox

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/world"
)

// verdictLog collects the enforcer's verdict events during a probe.
type verdictLog struct {
	cancel context.CancelFunc
	d      *enforcer.Dataplane
	done   chan struct{}

	mu     sync.Mutex
	events []enforcer.Event
	last   time.Time
}

// watchVerdicts starts reading the lab's event ring buffer.
func watchVerdicts(ctx context.Context, name string) (*verdictLog, error) {
	d, err := enforcer.OpenMaps(PinDir(name))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	ch, err := d.Events(ctx)
	if err != nil {
		cancel()
		d.Close()
		return nil, fmt.Errorf("reading verdict events: %w", err)
	}
	start := time.Now()
	v := &verdictLog{cancel: cancel, d: d, done: make(chan struct{}), last: start}
	go func() {
		defer close(v.done)
		for ev := range ch {
			// The ring buffer keeps what nobody read: verdicts from
			// before this probe (earlier policies) are not its own.
			if ev.Time.Before(start) {
				continue
			}
			v.mu.Lock()
			v.events = append(v.events, ev)
			v.last = time.Now()
			v.mu.Unlock()
		}
	}()
	return v, nil
}

// stop waits until the ring buffer has been quiet briefly (events trail the
// packets by microseconds to milliseconds), then stops reading.
func (v *verdictLog) stop() {
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		v.mu.Lock()
		quiet := time.Since(v.last)
		v.mu.Unlock()
		if quiet > 100*time.Millisecond {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	v.cancel()
	<-v.done
	v.d.Close()
}

// annotate stops reading and attaches to each cell the distinct verdicts
// the kernel reported for packets from its source to its destination
// port: the source's egress side first, then the destination's ingress.
func (v *verdictLog) annotate(w *world.World, m *matrix.Matrix) {
	v.stop()
	name := map[netip.Addr]string{}
	ip := map[string]netip.Addr{}
	for _, p := range w.Pods {
		name[p.IP], ip[p.Key()] = p.Key(), p.IP
	}
	ip[InternetIP.String()] = InternetIP
	type flow struct {
		src, dst netip.Addr
		port     uint16
		proto    string
	}
	byFlow := map[flow][]string{}
	seen := map[string]bool{}
	for _, dir := range []enforcer.Direction{enforcer.Egress, enforcer.Ingress} {
		for _, ev := range v.events {
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
		f := flow{ip[c.From], ip[c.To], uint16(c.Port), c.Protocol}
		c.Why = byFlow[f]
	}
}
