//go:build linux

package enforcer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// Events streams decoded verdict events until ctx is done, then closes the
// channel. The ring buffer has a single consumer position: run one Events
// reader per pin directory at a time.
func (d *Dataplane) Events(ctx context.Context) (<-chan Event, error) {
	rd, err := ringbuf.NewReader(d.objs.Events)
	if err != nil {
		return nil, fmt.Errorf("opening events ring buffer: %w", err)
	}
	offset, err := monotonicOffset()
	if err != nil {
		rd.Close()
		return nil, err
	}

	out := make(chan Event, 256)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		rd.Close() // unblocks Read
	}()
	go func() {
		defer close(out)
		defer close(done)
		names := d.objs.PolicyNames
		for {
			rec, err := rd.Read()
			if err != nil {
				if errors.Is(err, ringbuf.ErrClosed) || ctx.Err() != nil {
					return
				}
				continue
			}
			var raw netpolEvent
			if err := binary.Read(bytes.NewReader(rec.RawSample), binary.NativeEndian, &raw); err != nil {
				continue
			}
			ev := decodeEvent(raw, offset, names)
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// monotonicOffset converts bpf_ktime_get_ns (CLOCK_MONOTONIC) to wall time.
func monotonicOffset() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, fmt.Errorf("reading monotonic clock: %w", err)
	}
	return time.Duration(time.Now().UnixNano() - ts.Nano()), nil
}

func decodeEvent(raw netpolEvent, offset time.Duration, names *ebpf.Map) Event {
	ev := Event{
		Time:        time.Unix(0, int64(raw.Ts)+int64(offset)),
		Ifindex:     int(raw.Ifindex),
		Dir:         Direction(raw.Dir),
		Allowed:     raw.Verdict == 1,
		Src:         keyAddr(raw.Saddr),
		Dst:         keyAddr(raw.Daddr),
		SrcPort:     raw.Sport,
		DstPort:     raw.Dport,
		Proto:       ProtoName(raw.Proto),
		Subject:     raw.Subject,
		Peer:        raw.Peer,
		PolicyIndex: -1,
		Rule:        -1,
	}
	if raw.Policy != NoPolicy {
		ev.PolicyIndex = int(raw.Policy)
		ev.Rule = int(raw.Rule)
		var n netpolPolicyName
		if err := names.Lookup(uint32(raw.Policy), &n); err == nil {
			ev.Policy = nameString(n)
		}
	}
	return ev
}

// Counters reads the per-CPU counters and sums them.
func (d *Dataplane) Counters() (Counters, error) {
	var sums [5]uint64
	for i := range sums {
		var perCPU []uint64
		if err := d.objs.Counters.Lookup(uint32(i), &perCPU); err != nil {
			return Counters{}, fmt.Errorf("reading counter %d: %w", i, err)
		}
		for _, v := range perCPU {
			sums[i] += v
		}
	}
	return Counters{
		AllowedNew: sums[0],
		Denied:     sums[1],
		Reply:      sums[2],
		NotPoliced: sums[3],
		EventsLost: sums[4],
	}, nil
}
