package netpol

import (
	"fmt"

	"github.com/netlab/netlab/internal/matrix"
	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
)

// This file is the engine's third answer. A pod without an address (no
// status.podIP, none assigned) matches no ipBlock, but it also sends and
// receives nothing in a real cluster, so "blocked" would be an invented
// answer. When the verdict of a connection depends on whether such a pod is
// inside an ipBlock, the connection is undecided. Verdicts that do not
// depend on it (a selector admits it, no rule could admit it, the other
// side blocks) stay decided.

// Verdict is the engine's answer for one connection.
type Verdict struct {
	Allowed bool
	// Undecided is why there is no answer ("" when there is one): a pod
	// without an address meets a rule only an ipBlock could make admit it.
	Undecided string
}

// Cell is the verdict as a matrix cell: an undecided one has Detail
// matrix.DetailUndecided and its reason.
func (v Verdict) Cell(from, to string, port int32, proto corev1.Protocol) matrix.Cell {
	c := matrix.Cell{From: from, To: to, Port: port, Protocol: string(proto), Allowed: v.Allowed}
	if v.Undecided != "" {
		c.Allowed, c.Detail, c.Reason = false, matrix.DetailUndecided, v.Undecided
	}
	return c
}

// addressed reports whether an endpoint has an address to match ipBlocks
// against (addresses outside the cluster always do).
func addressed(ep Endpoint) bool { return ep.Pod == nil || ep.IP.IsValid() }

// Decide is Allowed with the third answer: a connection that only an
// ipBlock could decide, for a pod without an address, is undecided.
// Between pods that have addresses it is exactly Allowed.
func (e *Engine) Decide(src, dst Endpoint, port int32, proto corev1.Protocol) Verdict {
	if addressed(src) && addressed(dst) || src.Pod != nil && src.Pod == dst.Pod {
		return Verdict{Allowed: e.Allowed(src, dst, port, proto)}
	}
	srcID, dstID := e.id(src), e.id(dst)
	var why string
	if srcID >= 0 {
		ok, undecided := e.decideSide(Egress, srcID, dst, dstID, dst.Pod, port, proto)
		if !ok && undecided == "" {
			return Verdict{}
		}
		why = undecided
	}
	if dstID >= 0 {
		ok, undecided := e.decideSide(Ingress, dstID, src, srcID, dst.Pod, port, proto)
		if !ok && undecided == "" {
			return Verdict{}
		}
		if why == "" {
			why = undecided
		}
	}
	if why != "" {
		return Verdict{Undecided: why}
	}
	return Verdict{Allowed: true}
}

// decideSide judges one side: allowed, blocked (false, ""), or undecided
// (false, why).
func (e *Engine) decideSide(dir Direction, subjectID int, peer Endpoint, peerID int, dst *world.Pod, port int32, proto corev1.Protocol) (bool, string) {
	s := e.sides[dir][subjectID]
	if !s.isolated() {
		return true, ""
	}
	why := ""
	for _, r := range s.rules {
		if _, ok := r.portMatches(dst, port, proto); !ok {
			continue
		}
		if _, ok := r.peerMatches(peer, peerID); ok {
			return true, ""
		}
		if p := r.ipBlockPeer(); why == "" && p != nil && !addressed(peer) {
			why = unaddressedReason(peer, p, r)
		}
	}
	return false, why
}

// ipBlockPeer returns the rule's first ipBlock peer, or nil.
func (r *rule) ipBlockPeer() *peer {
	for _, p := range r.peers {
		if p.ids == nil {
			return p
		}
	}
	return nil
}

// unaddressedReason says why a pod without an address makes a rule's
// verdict unknowable.
func unaddressedReason(ep Endpoint, p *peer, r *rule) string {
	return fmt.Sprintf("%s has no address (no status.podIP): only %s %s rule %d peer %d (ipBlock %s) could admit it, and a pod without an address matches no ipBlock because it sends and receives nothing",
		ep, policyKey(r.policy), r.dir, r.index, p.index, p.cidr)
}
