//go:build linux

package enforcer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/cilium/ebpf"
)

// maxPolicyName is the longest policy name the policy_names map can hold
// (the C value is 320 bytes including the terminating NUL); "namespace/name"
// of a Kubernetes object needs at most 63+1+253 = 317.
const maxPolicyName = len(netpolPolicyName{}.Name) - 1

// Map sizes, mirrored from bpf/netpol.c for validation before any write.
const (
	maxEndpoints = 65536
	maxClasses   = 16384
	maxRules     = 262144
)

// Flags of an endpoint in the endpoints map.
const (
	flagIsolatedIngress = 1
	flagIsolatedEgress  = 2
)

// kernelState is a State in the exact form of the map keys and values.
type kernelState struct {
	endpoints map[uint32]netpolEndpoint
	classes   map[netpolLpmKey]uint32
	rules     map[netpolPolicyKey]netpolPolicyVal
	names     map[uint32]netpolPolicyName
	services  map[uint32]uint32
	hosts     map[uint32]uint32
	config    map[uint32]netpolConfig
}

// Switches of the config map, mirrored from bpf/netpol.c.
const cfgEgressAtDest = 1

// Map sizes of services and hosts, mirrored from bpf/netpol.c.
const (
	maxServices = 16384
	maxHosts    = 256
)

// addrKey turns an IPv4 address into the map's __u32 in network byte order.
func addrKey(a netip.Addr) uint32 {
	b := a.As4()
	return binary.NativeEndian.Uint32(b[:])
}

func keyAddr(k uint32) netip.Addr {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], k)
	return netip.AddrFrom4(b)
}

// compile validates s and converts it to map form. It fails without side
// effects, which is what lets Sync reject a bad State before writing.
func compile(s State) (*kernelState, error) {
	ks := &kernelState{
		endpoints: make(map[uint32]netpolEndpoint, len(s.Endpoints)),
		classes:   make(map[netpolLpmKey]uint32, len(s.Classes)),
		rules:     make(map[netpolPolicyKey]netpolPolicyVal, len(s.Rules)),
		names:     make(map[uint32]netpolPolicyName, len(s.Policies)),
		services:  make(map[uint32]uint32, len(s.Services)),
		hosts:     make(map[uint32]uint32, len(s.Hosts)),
		config:    map[uint32]netpolConfig{0: {}},
	}
	if s.EgressAtDestination {
		ks.config[0] = netpolConfig{Flags: cfgEgressAtDest}
	}
	for _, a := range s.Services {
		a = a.Unmap()
		if !a.Is4() {
			return nil, fmt.Errorf("service %v: only IPv4 is supported", a)
		}
		ks.services[addrKey(a)] = 1
	}
	if len(ks.services) > maxServices {
		return nil, fmt.Errorf("%d services, the map holds %d", len(ks.services), maxServices)
	}
	for _, a := range s.Hosts {
		a = a.Unmap()
		if !a.Is4() {
			return nil, fmt.Errorf("host %v: only IPv4 is supported", a)
		}
		ks.hosts[addrKey(a)] = 1
	}
	if len(ks.hosts) > maxHosts {
		return nil, fmt.Errorf("%d host addresses, the map holds %d", len(ks.hosts), maxHosts)
	}

	for a, ep := range s.Endpoints {
		a = a.Unmap()
		if !a.Is4() {
			return nil, fmt.Errorf("endpoint %v: only IPv4 is supported", a)
		}
		var flags uint32
		if ep.IsolatedIngress {
			flags |= flagIsolatedIngress
		}
		if ep.IsolatedEgress {
			flags |= flagIsolatedEgress
		}
		ks.endpoints[addrKey(a)] = netpolEndpoint{Identity: ep.Identity, Flags: flags}
	}
	if len(ks.endpoints) > maxEndpoints {
		return nil, fmt.Errorf("%d endpoints, the map holds %d", len(ks.endpoints), maxEndpoints)
	}

	for p, class := range s.Classes {
		if !p.IsValid() || !p.Addr().Unmap().Is4() {
			return nil, fmt.Errorf("class %v: only IPv4 prefixes are supported", p)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked()
		k := netpolLpmKey{Prefixlen: uint32(p.Bits()), Addr: addrKey(p.Addr())}
		if old, dup := ks.classes[k]; dup && old != class {
			return nil, fmt.Errorf("class %v: prefix given twice with classes %d and %d", p, old, class)
		}
		ks.classes[k] = class
	}
	if len(ks.classes) > maxClasses {
		return nil, fmt.Errorf("%d CIDR classes, the map holds %d", len(ks.classes), maxClasses)
	}

	for k, ranges := range s.Rules {
		if k.Dir != Ingress && k.Dir != Egress {
			return nil, fmt.Errorf("rule %+v: invalid direction", k)
		}
		if k.Proto != ProtoTCP && k.Proto != ProtoUDP && k.Proto != ProtoSCTP {
			return nil, fmt.Errorf("rule %+v: protocol %d is not TCP, UDP or SCTP", k, k.Proto)
		}
		if len(ranges) > MaxRanges {
			return nil, fmt.Errorf("rule %+v: %d port ranges, at most %d fit", k, len(ranges), MaxRanges)
		}
		if len(ranges) == 0 {
			continue
		}
		var v netpolPolicyVal
		v.N = uint32(len(ranges))
		for i, r := range ranges {
			if r.Lo > r.Hi {
				return nil, fmt.Errorf("rule %+v: port range %d-%d is empty", k, r.Lo, r.Hi)
			}
			v.R[i].Lo, v.R[i].Hi, v.R[i].Policy, v.R[i].Rule = r.Lo, r.Hi, r.Policy, r.Rule
		}
		ks.rules[netpolPolicyKey{Subject: k.Subject, Peer: k.Peer, Dir: uint8(k.Dir), Proto: k.Proto}] = v
	}
	if len(ks.rules) > maxRules {
		return nil, fmt.Errorf("%d policy keys, the map holds %d", len(ks.rules), maxRules)
	}

	if len(s.Policies) >= NoPolicy {
		return nil, fmt.Errorf("%d policies, at most %d can be indexed", len(s.Policies), NoPolicy)
	}
	for i, name := range s.Policies {
		if len(name) > maxPolicyName {
			return nil, fmt.Errorf("policy %d: name %.40q... is longer than %d bytes", i, name, maxPolicyName)
		}
		if bytes.IndexByte([]byte(name), 0) >= 0 {
			return nil, fmt.Errorf("policy %d: name contains a NUL byte", i)
		}
		var n netpolPolicyName
		for j := 0; j < len(name); j++ {
			n.Name[j] = int8(name[j])
		}
		ks.names[uint32(i)] = n
	}
	return ks, nil
}

// read dumps the maps into a kernelState.
func (d *Dataplane) read() (*kernelState, error) {
	ks := &kernelState{}
	var err error
	if ks.endpoints, err = dump[uint32, netpolEndpoint](d.objs.Endpoints); err != nil {
		return nil, fmt.Errorf("reading endpoints: %w", err)
	}
	if ks.classes, err = dump[netpolLpmKey, uint32](d.objs.CidrClasses); err != nil {
		return nil, fmt.Errorf("reading cidr_classes: %w", err)
	}
	if ks.rules, err = dump[netpolPolicyKey, netpolPolicyVal](d.objs.Policy); err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	if ks.names, err = dump[uint32, netpolPolicyName](d.objs.PolicyNames); err != nil {
		return nil, fmt.Errorf("reading policy_names: %w", err)
	}
	if ks.services, err = dump[uint32, uint32](d.objs.Services); err != nil {
		return nil, fmt.Errorf("reading services: %w", err)
	}
	if ks.hosts, err = dump[uint32, uint32](d.objs.Hosts); err != nil {
		return nil, fmt.Errorf("reading hosts: %w", err)
	}
	if ks.config, err = dump[uint32, netpolConfig](d.objs.Config); err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	// Ranges beyond n are never looked at: compare values on what counts.
	for k, v := range ks.rules {
		ks.rules[k] = normalizeVal(v)
	}
	return ks, nil
}

func normalizeVal(v netpolPolicyVal) netpolPolicyVal {
	clear(v.R[min(int(v.N), MaxRanges):])
	return v
}

func dump[K comparable, V any](m *ebpf.Map) (map[K]V, error) {
	out := make(map[K]V)
	var (
		k K
		v V
	)
	it := m.Iterate()
	for it.Next(&k, &v) {
		out[k] = v
	}
	return out, it.Err()
}

// Sync makes the maps hold exactly s. It validates s first and changes
// nothing if s is invalid (for example a key with more than MaxRanges
// ranges). It then reads the maps and writes only the difference: all
// updates first (policy names, rules, classes, endpoints), then deletes in
// the reverse order, so that an endpoint never points at rules that are not
// there yet. Conntrack is left alone: forward packets are checked against
// policy on every packet, so a removed rule cuts its flows at the next one.
func (d *Dataplane) Sync(s State) (SyncStats, error) {
	want, err := compile(s)
	if err != nil {
		return SyncStats{}, fmt.Errorf("sync: invalid state: %w", err)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	have, err := d.read()
	if err != nil {
		return SyncStats{}, fmt.Errorf("sync: %w", err)
	}

	var st SyncStats
	names := diff(have.names, want.names, nil)
	rules := diff(have.rules, want.rules, &st)
	classes := diff(have.classes, want.classes, &st)
	endpoints := diff(have.endpoints, want.endpoints, &st)
	services := diff(have.services, want.services, &st)
	hosts := diff(have.hosts, want.hosts, &st)
	config := diff(have.config, want.config, &st)
	config.del = nil // an array map's entries cannot be deleted

	steps := []struct {
		what string
		run  func() error
	}{
		{"updating policy_names", func() error { return names.update(d.objs.PolicyNames) }},
		{"updating policy", func() error { return rules.update(d.objs.Policy) }},
		{"updating cidr_classes", func() error { return classes.update(d.objs.CidrClasses) }},
		{"updating endpoints", func() error { return endpoints.update(d.objs.Endpoints) }},
		{"updating services", func() error { return services.update(d.objs.Services) }},
		{"updating hosts", func() error { return hosts.update(d.objs.Hosts) }},
		{"updating config", func() error { return config.update(d.objs.Config) }},
		{"deleting hosts", func() error { return hosts.delete(d.objs.Hosts) }},
		{"deleting services", func() error { return services.delete(d.objs.Services) }},
		{"deleting endpoints", func() error { return endpoints.delete(d.objs.Endpoints) }},
		{"deleting cidr_classes", func() error { return classes.delete(d.objs.CidrClasses) }},
		{"deleting policy", func() error { return rules.delete(d.objs.Policy) }},
		{"deleting policy_names", func() error { return names.delete(d.objs.PolicyNames) }},
	}
	for _, step := range steps {
		if err := step.run(); err != nil {
			return st, fmt.Errorf("sync: %s: %w", step.what, err)
		}
	}
	return st, nil
}

// changes is the difference between two map contents.
type changes[K comparable, V comparable] struct {
	put map[K]V
	del []K
}

func diff[K comparable, V comparable](have, want map[K]V, st *SyncStats) changes[K, V] {
	c := changes[K, V]{put: make(map[K]V)}
	for k, v := range want {
		old, ok := have[k]
		switch {
		case !ok:
			c.put[k] = v
			if st != nil {
				st.Added++
			}
		case old != v:
			c.put[k] = v
			if st != nil {
				st.Changed++
			}
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			c.del = append(c.del, k)
			if st != nil {
				st.Removed++
			}
		}
	}
	return c
}

func (c changes[K, V]) update(m *ebpf.Map) error {
	for k, v := range c.put {
		if err := m.Put(k, v); err != nil {
			return fmt.Errorf("key %+v: %w", k, err)
		}
	}
	return nil
}

func (c changes[K, V]) delete(m *ebpf.Map) error {
	for _, k := range c.del {
		if err := m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("key %+v: %w", k, err)
		}
	}
	return nil
}

// Current returns what the maps hold now, as a State. Policy indexes with no
// stored name come back as "".
func (d *Dataplane) Current() (State, error) {
	ks, err := d.read()
	if err != nil {
		return State{}, fmt.Errorf("current state: %w", err)
	}
	s := State{
		Endpoints: make(map[netip.Addr]EndpointInfo, len(ks.endpoints)),
		Classes:   make(map[netip.Prefix]uint32, len(ks.classes)),
		Rules:     make(map[PolicyKey][]PortRange, len(ks.rules)),
	}
	for k, ep := range ks.endpoints {
		s.Endpoints[keyAddr(k)] = EndpointInfo{
			Identity:        ep.Identity,
			IsolatedIngress: ep.Flags&flagIsolatedIngress != 0,
			IsolatedEgress:  ep.Flags&flagIsolatedEgress != 0,
		}
	}
	for k, class := range ks.classes {
		s.Classes[netip.PrefixFrom(keyAddr(k.Addr), int(k.Prefixlen))] = class
	}
	for k, v := range ks.rules {
		ranges := make([]PortRange, 0, v.N)
		for i := 0; i < int(v.N) && i < MaxRanges; i++ {
			r := v.R[i]
			ranges = append(ranges, PortRange{Lo: r.Lo, Hi: r.Hi, Policy: r.Policy, Rule: r.Rule})
		}
		s.Rules[PolicyKey{Subject: k.Subject, Peer: k.Peer, Dir: Direction(k.Dir), Proto: k.Proto}] = ranges
	}
	for k := range ks.services {
		s.Services = append(s.Services, keyAddr(k))
	}
	slices.SortFunc(s.Services, netip.Addr.Compare)
	for k := range ks.hosts {
		s.Hosts = append(s.Hosts, keyAddr(k))
	}
	slices.SortFunc(s.Hosts, netip.Addr.Compare)
	s.EgressAtDestination = ks.config[0].Flags&cfgEgressAtDest != 0
	for i, n := range ks.names {
		if int(i) >= NoPolicy {
			continue
		}
		for len(s.Policies) <= int(i) {
			s.Policies = append(s.Policies, "")
		}
		s.Policies[i] = nameString(n)
	}
	return s, nil
}

func nameString(n netpolPolicyName) string {
	b := make([]byte, 0, len(n.Name))
	for _, c := range n.Name {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}
