package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/netlab/netlab/internal/agent"
	"github.com/netlab/netlab/internal/matrix"
)

// ProbeOptions select and shape a probe.
type ProbeOptions struct {
	Timeout time.Duration
	// From and To keep only pods whose "ns/name" or namespace ("ns/")
	// matches one of the entries (empty: all).
	From, To []string
	// ByName connects to "<pod>.<ns>" through the lab's DNS instead of the
	// pod IP; a failed lookup is reported as dns-failed.
	ByName bool
	// Internet adds cells to the internet host (its IP, ports 80 and 443).
	Internet bool
	// Why collects the enforcer's verdict events while probing and attaches
	// them to each cell (Cell.Why). It reads the lab's event ring buffer,
	// so it cannot run at the same time as 'netlab events'.
	Why  bool
	Self string
}

// Probe measures the matrix for real: for every source pod, one agent
// process inside the pod's namespace tries all of its targets at once, so
// the whole matrix costs about one timeout.
func Probe(ctx context.Context, name string, o ProbeOptions) (*matrix.Matrix, error) {
	s, err := Load(name)
	if err != nil {
		return nil, err
	}
	if o.Self == "" {
		if o.Self, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = agent.DefaultTimeout
	}
	type batch struct {
		src     int
		targets []agent.Target
		results []agent.Result
		err     error
	}
	var batches []*batch
	for i, src := range s.World.Pods {
		if !src.Selected(o.From) {
			continue
		}
		b := &batch{src: i}
		for _, dst := range s.World.Pods {
			if dst == src || !dst.Selected(o.To) {
				continue
			}
			host := dst.IP.String()
			if o.ByName {
				host = dst.Name + "." + dst.Namespace
			}
			for _, p := range dst.Ports {
				b.targets = append(b.targets, agent.Target{Host: host, Port: int(p.Port), Protocol: string(p.Protocol), Name: dst.Key()})
			}
		}
		if o.Internet {
			for _, p := range InternetPort {
				b.targets = append(b.targets, agent.Target{Host: InternetIP.String(), Port: int(p.Port), Protocol: string(p.Protocol), Name: InternetIP.String()})
			}
		}
		if len(b.targets) > 0 {
			batches = append(batches, b)
		}
	}
	var verdicts *verdictLog
	if o.Why {
		if verdicts, err = watchVerdicts(ctx, name); err != nil {
			return nil, err
		}
	}
	var wg sync.WaitGroup
	for _, b := range batches {
		wg.Add(1)
		go func(b *batch) {
			defer wg.Done()
			b.results, b.err = probeFrom(ctx, s, b.src, b.targets, o)
		}(b)
	}
	wg.Wait()
	m := &matrix.Matrix{}
	for _, b := range batches {
		if b.err != nil {
			return nil, fmt.Errorf("probing from %s: %w", s.World.Pods[b.src].Key(), b.err)
		}
		for _, r := range b.results {
			m.Results = append(m.Results, matrix.Cell{
				From: s.World.Pods[b.src].Key(), To: r.Target.Name, Port: int32(r.Target.Port),
				Protocol: r.Target.Protocol, Allowed: r.Allowed, Detail: r.Detail,
			})
		}
	}
	if verdicts != nil {
		verdicts.annotate(s.World, m)
	}
	m.Sort()
	return m, nil
}

// probeFrom runs `netlab agent probe` inside the source pod's namespace.
func probeFrom(ctx context.Context, s *State, src int, targets []agent.Target, o ProbeOptions) ([]agent.Result, error) {
	in, err := json.Marshal(targets)
	if err != nil {
		return nil, err
	}
	args := []string{"netns", "exec", s.Pods[src].NetNS, o.Self, "agent", "probe", "--timeout", o.Timeout.String()}
	if s.DNS != "" {
		args = append(args, "--dns", s.DNS+":53")
	}
	cmd := exec.CommandContext(ctx, "ip", args...)
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(errOut.String()))
	}
	return agent.ParseResults(&out)
}
