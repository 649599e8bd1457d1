package sandbox

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/netlab/netlab/enforcer"
	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/verdicts"
	"github.com/netlab/netlab/internal/world"
)

// verdictLog collects the enforcer's verdict events during a probe.
type verdictLog struct{ log *verdicts.Log }

// watchVerdicts starts reading the lab's event ring buffer.
func watchVerdicts(ctx context.Context, name string) (*verdictLog, error) {
	ctx, cancel := context.WithCancel(ctx)
	ch, err := Events(ctx, name)
	if err != nil {
		cancel()
		return nil, err
	}
	return &verdictLog{log: verdicts.Collect(ch, cancel)}, nil
}

// annotate stops reading and attaches the verdicts to the cells.
func (v *verdictLog) annotate(w *world.World, m *matrix.Matrix) {
	events := v.log.Stop(100 * time.Millisecond)
	verdicts.Annotate(events, w, m, map[string]netip.Addr{InternetIP.String(): InternetIP})
}

// Events streams the lab's verdict events until ctx is done. The ring
// buffer has one reader: run one stream per lab at a time.
func Events(ctx context.Context, name string) (<-chan enforcer.Event, error) {
	d, err := enforcer.OpenMaps(PinDir(name))
	if err != nil {
		return nil, err
	}
	ch, err := d.Events(ctx)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("reading verdict events: %w", err)
	}
	out := make(chan enforcer.Event, 64)
	go func() {
		defer close(out)
		defer d.Close()
		for ev := range ch {
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
