//go:build linux

package enforcer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// LinkInfo is a TCX link that runs one of netlab's programs.
type LinkInfo struct {
	ID      uint32 `json:"id"`
	Program string `json:"program"` // from_pod or to_pod
	Ifindex uint32 `json:"ifindex"` // in the namespace it was attached in
}

// Links lists the kernel's TCX links that run netlab's programs: a program
// called from_pod or to_pod that uses a map called endpoints. Links of
// every netlab enforcer on the host show up, in any network namespace:
// callers tell them apart with PinnedLinkIDs.
func Links() ([]LinkInfo, error) {
	var out []LinkInfo
	it := new(link.Iterator)
	defer it.Close()
	for it.Next() {
		info, err := it.Link.Info()
		if err != nil || info.Type != link.TCXType {
			continue
		}
		name, ok := netlabProgram(info.Program)
		if !ok {
			continue
		}
		li := LinkInfo{ID: uint32(info.ID), Program: name}
		if tcx := info.TCX(); tcx != nil {
			li.Ifindex = tcx.Ifindex
		}
		out = append(out, li)
	}
	if err := it.Err(); err != nil {
		return out, fmt.Errorf("listing TCX links: %w", err)
	}
	return out, nil
}

// netlabProgram returns the program's name if it is one of netlab's.
func netlabProgram(id ebpf.ProgramID) (string, bool) {
	p, err := ebpf.NewProgramFromID(id)
	if err != nil {
		return "", false
	}
	defer p.Close()
	info, err := p.Info()
	if err != nil || (info.Name != netpolProgFromPod && info.Name != netpolProgToPod) {
		return "", false
	}
	ids, _ := info.MapIDs()
	for _, mid := range ids {
		m, err := ebpf.NewMapFromID(mid)
		if err != nil {
			continue
		}
		mi, err := m.Info()
		m.Close()
		if err == nil && mi.Name == netpolMapEndpoints {
			return info.Name, true
		}
	}
	return "", false
}

// PinnedLinkIDs returns the ids of the links pinned under pinDir (by
// Attach), which that pin directory's owner owns.
func PinnedLinkIDs(pinDir string) ([]uint32, error) {
	entries, err := os.ReadDir(linksDir(pinDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []uint32
	for _, e := range entries {
		l, err := link.LoadPinnedLink(filepath.Join(linksDir(pinDir), e.Name()), nil)
		if err != nil {
			continue
		}
		if info, err := l.Info(); err == nil {
			ids = append(ids, uint32(info.ID))
		}
		l.Close()
	}
	slices.Sort(ids)
	return ids, nil
}
