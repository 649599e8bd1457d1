//go:build !linux

package enforcer

import "context"

// Outside Linux the package has its pure types (State, Event) and the
// programs' decision in Go (State.Verdict), so that the engine, sim and
// grading build everywhere; the kernel side fails with ErrUnsupported.

// Dataplane is a loaded copy of the programs and their maps (Linux only).
type Dataplane struct{}

func Open(string) (*Dataplane, error)     { return nil, ErrUnsupported }
func OpenMaps(string) (*Dataplane, error) { return nil, ErrUnsupported }
func Remove(string) error                 { return ErrUnsupported }

func (d *Dataplane) PinDir() string                               { return "" }
func (d *Dataplane) Close() error                                 { return ErrUnsupported }
func (d *Dataplane) Attach(int) error                             { return ErrUnsupported }
func (d *Dataplane) Detach(int) error                             { return ErrUnsupported }
func (d *Dataplane) Sync(State) (SyncStats, error)                { return SyncStats{}, ErrUnsupported }
func (d *Dataplane) Current() (State, error)                      { return State{}, ErrUnsupported }
func (d *Dataplane) Events(context.Context) (<-chan Event, error) { return nil, ErrUnsupported }
func (d *Dataplane) Counters() (Counters, error)                  { return Counters{}, ErrUnsupported }

// LinkInfo is a TCX link that runs one of netlab's programs (Linux only).
type LinkInfo struct {
	ID      uint32 `json:"id"`
	Program string `json:"program"`
	Ifindex uint32 `json:"ifindex"`
}

func Links() ([]LinkInfo, error)             { return nil, ErrUnsupported }
func PinnedLinkIDs(string) ([]uint32, error) { return nil, ErrUnsupported }
