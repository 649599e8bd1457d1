//go:build linux

package enforcer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Fallback attachment (kernels without TCX): clsact qdisc + cls_bpf filter.
// The priority and handle are unusual on purpose, so that replacing our own
// filter never clobbers somebody else's.
const (
	netlinkFilterPrio   = 0x4e4c // "NL"
	netlinkFilterHandle = 1
	netlinkFilterPrefix = "netlab_"
)

// hook is one of the two attachment points on a host-side veth.
type hook struct {
	name   string          // program name, also used in pin and filter names
	prog   *ebpf.Program   // program to attach
	attach ebpf.AttachType // TCX attach type
	parent uint32          // clsact parent for the netlink fallback
}

// hooks: tc ingress of the host-side veth sees what the pod sends (its
// egress policy), tc egress sees what is delivered to it (its ingress policy).
func (d *Dataplane) hooks() []hook {
	return []hook{
		{netpolProgFromPod, d.objs.FromPod, ebpf.AttachTCXIngress, netlink.HANDLE_MIN_INGRESS},
		{netpolProgToPod, d.objs.ToPod, ebpf.AttachTCXEgress, netlink.HANDLE_MIN_EGRESS},
	}
}

func linksDir(pinDir string) string { return filepath.Join(pinDir, "links") }

func (d *Dataplane) linkPin(ifindex int, h hook) string {
	return filepath.Join(linksDir(d.pinDir), h.name+"_"+strconv.Itoa(ifindex))
}

// Attach enforces policy on the host-side veth with the given ifindex (in
// the caller's network namespace): from_pod at tc ingress, to_pod at tc
// egress. It uses TCX links, pinned under pinDir/links/ so that they outlive
// the process, and falls back to clsact + cls_bpf when the kernel has no
// TCX. Attaching again is harmless: existing links are switched over to this
// Dataplane's programs without a gap in enforcement.
func (d *Dataplane) Attach(ifindex int) error {
	if err := d.attach(ifindex); err != nil {
		return fmt.Errorf("attaching to ifindex %d: %w", ifindex, err)
	}
	return nil
}

func (d *Dataplane) attach(ifindex int) error {
	if ifindex <= 0 {
		return fmt.Errorf("invalid ifindex")
	}
	if err := os.MkdirAll(linksDir(d.pinDir), 0o700); err != nil {
		return fmt.Errorf("creating links dir: %w", err)
	}
	for _, h := range d.hooks() {
		if !d.forceNetlink {
			err := d.attachTCX(ifindex, h)
			if err == nil {
				continue
			}
			if !errors.Is(err, ebpf.ErrNotSupported) {
				return fmt.Errorf("%s: %w", h.name, err)
			}
		}
		if err := attachNetlink(ifindex, h); err != nil {
			return fmt.Errorf("%s (clsact fallback): %w", h.name, err)
		}
	}
	return nil
}

// attachTCX reuses a pinned link for this hook when it is still attached to
// ifindex (updating it to our program), and otherwise creates and pins one.
func (d *Dataplane) attachTCX(ifindex int, h hook) error {
	pin := d.linkPin(ifindex, h)
	l, err := link.LoadPinnedLink(pin, nil)
	switch {
	case err == nil:
		if tcxLinkAt(l, ifindex, h.attach) && l.Update(h.prog) == nil {
			return l.Close()
		}
		// A stale pin, e.g. the interface went away and the index came back.
		_ = l.Unpin()
		_ = l.Detach()
		_ = l.Close()
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("loading pinned link %s: %w", pin, err)
	}

	l, err = link.AttachTCX(link.TCXOptions{
		Interface: ifindex,
		Program:   h.prog,
		Attach:    h.attach,
	})
	if err != nil {
		return err
	}
	if err := l.Pin(pin); err != nil {
		_ = l.Close()
		return fmt.Errorf("pinning link: %w", err)
	}
	return l.Close()
}

// tcxLinkAt reports whether l is a live TCX link on ifindex at attach.
func tcxLinkAt(l link.Link, ifindex int, attach ebpf.AttachType) bool {
	info, err := l.Info()
	if err != nil {
		return false
	}
	tcx := info.TCX()
	return tcx != nil && int(tcx.Ifindex) == ifindex && uint32(tcx.AttachType) == uint32(attach)
}

// attachNetlink installs (or replaces) a direct-action cls_bpf filter under
// a clsact qdisc. The filter lives on with the interface; it is found again
// by name and by the maps its program uses.
func attachNetlink(ifindex int, h hook) error {
	qdisc := &netlink.GenericQdisc{
		QdiscAttrs: netlink.QdiscAttrs{
			LinkIndex: ifindex,
			Handle:    netlink.MakeHandle(0xffff, 0),
			Parent:    netlink.HANDLE_CLSACT,
		},
		QdiscType: "clsact",
	}
	if err := netlink.QdiscAdd(qdisc); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("adding clsact qdisc: %w", err)
	}
	filter := &netlink.BpfFilter{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: ifindex,
			Parent:    h.parent,
			Handle:    netlinkFilterHandle,
			Priority:  netlinkFilterPrio,
			Protocol:  unix.ETH_P_ALL,
		},
		Fd:           h.prog.FD(),
		Name:         netlinkFilterPrefix + h.name,
		DirectAction: true,
	}
	if err := netlink.FilterReplace(filter); err != nil {
		return fmt.Errorf("adding cls_bpf filter: %w", err)
	}
	return nil
}

// Detach stops enforcing on ifindex: it detaches and unpins the TCX links,
// removes fallback cls_bpf filters of this Dataplane, and forgets the
// conntrack entries recorded on that interface. Detaching an interface that
// is not attached, or no longer exists, is not an error.
func (d *Dataplane) Detach(ifindex int) error {
	var errs []error
	for _, h := range d.hooks() {
		if err := unpinLink(d.linkPin(ifindex, h)); err != nil {
			errs = append(errs, err)
		}
	}
	if info, err := d.objs.Endpoints.Info(); err == nil {
		if id, ok := info.ID(); ok {
			if err := removeNetlinkFilters(ifindex, id); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := d.flushConntrack(uint32(ifindex)); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("detaching from ifindex %d: %w", ifindex, errors.Join(errs...))
	}
	return nil
}

// unpinLink detaches the link pinned at path and removes the pin. A missing
// pin is not an error.
func unpinLink(path string) error {
	l, err := link.LoadPinnedLink(path, nil)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		// Not a loadable link: still do not leave the pin behind.
		if rmErr := os.Remove(path); rmErr != nil {
			return fmt.Errorf("loading pinned link %s: %w", path, err)
		}
		return nil
	}
	defer l.Close()
	// Detach explicitly so the program stops even if another process still
	// holds the link open. Links of vanished interfaces are already detached.
	_ = l.Detach()
	if err := l.Unpin(); err != nil {
		return fmt.Errorf("unpinning link %s: %w", path, err)
	}
	return nil
}

// removeNetlinkFilters deletes our cls_bpf filters whose program uses the
// map with id mapID, on ifindex or, when ifindex is 0, on every interface of
// the current network namespace.
func removeNetlinkFilters(ifindex int, mapID ebpf.MapID) error {
	var links []netlink.Link
	if ifindex > 0 {
		l, err := netlink.LinkByIndex(ifindex)
		if err != nil {
			var notFound netlink.LinkNotFoundError
			if errors.As(err, &notFound) {
				return nil
			}
			return fmt.Errorf("looking up link: %w", err)
		}
		links = []netlink.Link{l}
	} else {
		all, err := netlink.LinkList()
		if err != nil {
			return fmt.Errorf("listing links: %w", err)
		}
		links = all
	}

	var errs []error
	for _, l := range links {
		for _, parent := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
			filters, err := netlink.FilterList(l, parent)
			if err != nil {
				continue // no clsact qdisc on this link
			}
			for _, f := range filters {
				bf, ok := f.(*netlink.BpfFilter)
				if !ok || !strings.HasPrefix(bf.Name, netlinkFilterPrefix) || !progUsesMap(bf.Id, mapID) {
					continue
				}
				if err := netlink.FilterDel(bf); err != nil {
					errs = append(errs, fmt.Errorf("deleting filter %s on %s: %w", bf.Name, l.Attrs().Name, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// progUsesMap reports whether the program with id progID references mapID.
func progUsesMap(progID int, mapID ebpf.MapID) bool {
	p, err := ebpf.NewProgramFromID(ebpf.ProgramID(progID))
	if err != nil {
		return false
	}
	defer p.Close()
	info, err := p.Info()
	if err != nil {
		return false
	}
	ids, ok := info.MapIDs()
	return ok && slices.Contains(ids, mapID)
}

// flushConntrack deletes the conntrack entries recorded on ifindex.
func (d *Dataplane) flushConntrack(ifindex uint32) error {
	var (
		key   netpolCtKey
		stale []netpolCtKey
		val   uint64
	)
	it := d.objs.Conntrack.Iterate()
	for it.Next(&key, &val) {
		if key.Ifindex == ifindex {
			stale = append(stale, key)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("reading conntrack: %w", err)
	}
	for _, k := range stale {
		if err := d.objs.Conntrack.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("deleting conntrack entry: %w", err)
		}
	}
	return nil
}
