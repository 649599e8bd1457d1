//go:build ignore

// netpol.c enforces Kubernetes NetworkPolicy on the host-side veth of a pod.
//
// Two tc programs share one set of maps:
//
//   from_pod  tc ingress of the host-side veth: packets sent BY the pod,
//             checked against the pod's EGRESS policy.
//   to_pod    tc egress of the host-side veth: packets going TO the pod,
//             checked against the pod's INGRESS policy.
//
// The programs know nothing about Kubernetes. User space (the Go package
// enforcer) compiles policies into the maps below, which are the API between
// the two sides:
//
//   endpoints     pod IP -> {identity, isolation flags}
//   cidr_classes  LPM trie: IP -> class id (ipBlock membership, except included)
//   policy        {subject identity, peer identity|class|PEER_ANY, dir, proto}
//                 -> up to MAX_RANGES allowed destination port ranges
//   conntrack     {ifindex, 5-tuple} of allowed flows, so replies pass
//   events        ring buffer of verdicts for live streaming
//   counters      per-CPU packet counters
//   policy_names  policy index -> "namespace/name" (written and read only by
//                 user space; kept here so it is pinned with the other maps)
//   services      ClusterIPs whose backends are pods (kind only; empty in the
//                 sandbox)
//   config        one entry of switches (kind only; all zero in the sandbox)
//   hosts         addresses of the node itself (kind only): traffic between
//                 them and the node's pods is never policed, as NetworkPolicy
//                 requires (kubelet's probes come from there)
//
// Services. On a cluster with kube-proxy the source pod's veth sees a packet
// to a Service still addressed to the ClusterIP: kube-proxy rewrites it later
// in the node's network namespace. Only the destination pod's veth sees both
// pod IPs. So with CFG_EGRESS_AT_DEST set, from_pod lets a packet to a
// ClusterIP in `services` pass its egress check, and to_pod checks the
// sender's egress policy as well as the receiver's ingress policy whenever
// the sender is a known endpoint (the maps hold every endpoint of the
// cluster, so any node can judge). Egress to anything else is still judged
// at the source.

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char __license[] SEC("license") = "Dual MIT/GPL";

#define ISOLATED_INGRESS 1
#define ISOLATED_EGRESS 2

#define DIR_INGRESS 0
#define DIR_EGRESS 1

#define PEER_ANY 0xffffffff
#define MAX_RANGES 16
#define NO_POLICY 0xffff
#define POLICY_NAME_LEN 320

// Fragment offset mask of iphdr.frag_off (host order).
#define IP_FRAG_OFFSET 0x1fff

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

// Indexes of the counters map.
enum counter {
	CNT_ALLOWED_NEW = 0, // forward packets allowed on the policy path
	CNT_DENIED = 1,      // packets dropped by policy
	CNT_REPLY = 2,       // packets passed as replies of a tracked flow
	CNT_NOT_POLICED = 3, // non-IPv4, ICMP, other protocols, fragments
	CNT_EVENTS_LOST = 4, // events dropped because the ring buffer was full
	CNT_MAX = 5,
};

struct endpoint {
	__u32 identity;
	__u32 flags; // ISOLATED_INGRESS | ISOLATED_EGRESS
};

struct lpm_key {
	__u32 prefixlen;
	__u32 addr; // network byte order
};

struct policy_key {
	__u32 subject; // identity of the pod whose policy is enforced
	__u32 peer;    // identity, CIDR class id or PEER_ANY
	__u8 dir;      // DIR_INGRESS or DIR_EGRESS
	__u8 proto;    // IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP
	__u16 pad;
};

struct port_range {
	__u16 lo; // inclusive, host byte order
	__u16 hi; // inclusive, host byte order
	__u16 policy; // index of the policy, reported in events
	__u16 rule;   // index of the rule inside that policy
};

struct policy_val {
	__u32 n; // number of valid entries in r
	struct port_range r[MAX_RANGES];
};

struct ct_key {
	__u32 ifindex; // host-side veth that saw the flow
	__u32 saddr;
	__u32 daddr;
	__u16 sport; // network byte order
	__u16 dport; // network byte order
	__u8 proto;
	__u8 pad[3];
};

struct event {
	__u64 ts; // bpf_ktime_get_ns
	__u32 saddr;
	__u32 daddr;
	__u16 sport; // host byte order
	__u16 dport; // host byte order
	__u8 proto;
	__u8 dir;     // which policy of subject was enforced
	__u8 verdict; // 1 allow, 0 deny
	__u8 pad;
	__u32 subject; // subject identity, 0 when not an endpoint
	__u32 peer;    // matching peer key, else peer identity, else 0
	__u16 policy;  // NO_POLICY when not isolated or no rule matched
	__u16 rule;    // NO_POLICY when no rule matched
	__u32 ifindex;
};

struct policy_name {
	char name[POLICY_NAME_LEN];
};

// Switches of struct config.
#define CFG_EGRESS_AT_DEST 1

struct config {
	__u32 flags; // CFG_EGRESS_AT_DEST
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} cidr_classes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, struct policy_key);
	__type(value, struct policy_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ct_key);
	__type(value, __u64); // last seen, bpf_ktime_get_ns
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65535);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct policy_name);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); // ClusterIP, network byte order
	__type(value, __u32); // unused (1)
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); // node address, network byte order
	__type(value, __u32); // unused (1)
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} hosts SEC(".maps");

// Emit struct event into BTF so that bpf2go generates its Go twin.
const struct event *unused_event __attribute__((unused));

// pkt is the part of a packet the policy decision needs.
struct pkt {
	__u32 saddr;
	__u32 daddr;
	__u16 sport; // network byte order
	__u16 dport; // network byte order
	__u8 proto;
	__u8 tcp_flags;
};

// verdict records why a packet was allowed, for the event.
struct verdict {
	__u32 subject;
	__u32 peer;
	__u16 policy;
	__u16 rule;
};

static __always_inline void count(__u32 idx) {
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		*c += 1; // per-CPU slot: no atomics needed
}

// parse fills p for IPv4 TCP, UDP and SCTP packets. It returns -1 for
// anything the policy does not cover. Non-first fragments carry no ports and
// are not policed: without the first fragment, which is policed, they cannot
// be reassembled. bpf_skb_load_bytes copes with non-linear skbs.
static __always_inline int parse(struct __sk_buff *skb, struct pkt *p) {
	struct iphdr ip;
	__u8 l4[14]; // TCP needs the flags at offset 13; UDP and SCTP ports are the first 4 bytes

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return -1;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return -1;
	if (ip.version != 4 || ip.ihl < 5)
		return -1;
	if (ip.protocol != IPPROTO_TCP && ip.protocol != IPPROTO_UDP && ip.protocol != IPPROTO_SCTP)
		return -1;
	if (bpf_ntohs(ip.frag_off) & IP_FRAG_OFFSET)
		return -1;

	__u32 off = ETH_HLEN + ip.ihl * 4;
	if (ip.protocol == IPPROTO_TCP) {
		if (bpf_skb_load_bytes(skb, off, l4, 14) < 0)
			return -1;
		p->tcp_flags = l4[13];
	} else {
		if (bpf_skb_load_bytes(skb, off, l4, 4) < 0)
			return -1;
	}
	p->saddr = ip.saddr;
	p->daddr = ip.daddr;
	__builtin_memcpy(&p->sport, &l4[0], 2);
	__builtin_memcpy(&p->dport, &l4[2], 2);
	p->proto = ip.protocol;
	return 0;
}

// match looks key up in the policy map and reports whether one of its port
// ranges contains port. On a match it records the policy and rule in v.
static __always_inline int match(struct policy_key *key, __u16 port, struct verdict *v) {
	struct policy_val *val = bpf_map_lookup_elem(&policy, key);
	if (!val)
		return 0;
	__u32 n = val->n;
	for (__u32 i = 0; i < MAX_RANGES; i++) {
		if (i >= n)
			break;
		if (port >= val->r[i].lo && port <= val->r[i].hi) {
			v->peer = key->peer;
			v->policy = val->r[i].policy;
			v->rule = val->r[i].rule;
			return 1;
		}
	}
	return 0;
}

static __always_inline void emit(struct __sk_buff *skb, struct pkt *p, __u8 dir, __u8 allow,
				 struct verdict *v, __u64 now) {
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_EVENTS_LOST);
		return;
	}
	e->ts = now;
	e->saddr = p->saddr;
	e->daddr = p->daddr;
	e->sport = bpf_ntohs(p->sport);
	e->dport = bpf_ntohs(p->dport);
	e->proto = p->proto;
	e->dir = dir;
	e->verdict = allow;
	e->pad = 0;
	e->subject = v->subject;
	e->peer = v->peer;
	e->policy = v->policy;
	e->rule = v->rule;
	e->ifindex = skb->ifindex;
	bpf_ringbuf_submit(e, 0);
}

// decide evaluates the policy of the pod at subject_addr in direction dir
// for a packet exchanged with peer_addr. It returns 1 when the subject is
// not an endpoint, is not isolated in dir, or some rule admits the peer on
// the packet's destination port. v gets the subject, the matching peer key
// and the policy/rule; peer_known is set when the peer is an endpoint.
static __always_inline int decide(__u32 subject_addr, __u32 peer_addr, __u8 dir, struct pkt *p,
				  struct verdict *v, int *peer_known) {
	__u32 isolated_flag = dir == DIR_EGRESS ? ISOLATED_EGRESS : ISOLATED_INGRESS;
	struct endpoint *subject = bpf_map_lookup_elem(&endpoints, &subject_addr);
	if (!subject)
		return 1;
	v->subject = subject->identity;
	if (!(subject->flags & isolated_flag))
		return 1;

	struct policy_key key = {};
	key.subject = subject->identity;
	key.peer = PEER_ANY;
	key.dir = dir;
	key.proto = p->proto;
	__u16 port = bpf_ntohs(p->dport);

	int allow = match(&key, port, v);
	struct endpoint *peer = bpf_map_lookup_elem(&endpoints, &peer_addr);
	if (peer) {
		*peer_known = 1;
		if (!allow) {
			key.peer = peer->identity;
			allow = match(&key, port, v);
		}
		if (!allow)
			v->peer = peer->identity;
	}
	if (!allow) {
		struct lpm_key lk = {.prefixlen = 32, .addr = peer_addr};
		__u32 *class = bpf_map_lookup_elem(&cidr_classes, &lk);
		if (class) {
			key.peer = *class;
			allow = match(&key, port, v);
		}
	}
	return allow;
}

// enforce decides one packet seen on the host-side veth. dir is the policy
// direction of the pod on this veth: DIR_EGRESS in from_pod, DIR_INGRESS in
// to_pod. Passing returns TC_ACT_UNSPEC so that a later program in the tcx or
// cls_bpf chain still gets its say (the packet passes when there is none).
static __always_inline int enforce(struct __sk_buff *skb, __u8 dir) {
	struct pkt p = {};
	if (parse(skb, &p) < 0) {
		count(CNT_NOT_POLICED);
		return TC_ACT_UNSPEC;
	}

	__u64 now = bpf_ktime_get_ns();
	__u32 ifindex = skb->ifindex;

	// 1. A reply of a flow this veth allowed earlier passes.
	struct ct_key ct = {};
	ct.ifindex = ifindex;
	ct.saddr = p.daddr;
	ct.daddr = p.saddr;
	ct.sport = p.dport;
	ct.dport = p.sport;
	ct.proto = p.proto;
	__u64 *seen = bpf_map_lookup_elem(&conntrack, &ct);
	if (seen) {
		*seen = now;
		count(CNT_REPLY);
		return TC_ACT_UNSPEC;
	}

	// 2. The subject is the pod on this veth; the peer is the other side.
	__u32 subject_addr = dir == DIR_EGRESS ? p.saddr : p.daddr;
	__u32 peer_addr = dir == DIR_EGRESS ? p.daddr : p.saddr;

	struct verdict v = {
		.policy = NO_POLICY,
		.rule = NO_POLICY,
	};
	int peer_known = 0;
	__u8 event_dir = dir;
	__u32 zero = 0;
	struct config *cfg = bpf_map_lookup_elem(&config, &zero);
	__u32 flags = cfg ? cfg->flags : 0;

	int allow;
	int host = 0;
	if (bpf_map_lookup_elem(&hosts, dir == DIR_EGRESS ? &p.daddr : &p.saddr)) {
		// 3c. This node talking to its own pods (kubelet's probes):
		// always allowed, and not worth an event.
		allow = 1;
		host = 1;
	} else if (dir == DIR_EGRESS && (flags & CFG_EGRESS_AT_DEST) &&
	    bpf_map_lookup_elem(&services, &p.daddr)) {
		// 3a. To a ClusterIP: judged where kube-proxy delivers it.
		struct endpoint *subject = bpf_map_lookup_elem(&endpoints, &subject_addr);
		if (subject)
			v.subject = subject->identity;
		allow = 1;
	} else {
		// 3. Isolated: some rule must admit the peer on this port.
		allow = decide(subject_addr, peer_addr, dir, &p, &v, &peer_known);
	}
	if (allow && !host && dir == DIR_INGRESS && (flags & CFG_EGRESS_AT_DEST)) {
		// 3b. The sender's egress policy, judged here where both pod IPs
		// are known (the sender may have addressed a ClusterIP).
		struct verdict ev = {
			.policy = NO_POLICY,
			.rule = NO_POLICY,
		};
		int known = 0;
		if (!decide(peer_addr, subject_addr, DIR_EGRESS, &p, &ev, &known)) {
			allow = 0;
			v = ev;
			event_dir = DIR_EGRESS;
		}
	}

	// 4. The forward tuple of this flow, under this veth.
	ct.saddr = p.saddr;
	ct.daddr = p.daddr;
	ct.sport = p.sport;
	ct.dport = p.dport;

	if (!allow) {
		// Forget the flow so that its replies are policed again too.
		bpf_map_delete_elem(&conntrack, &ct);
		count(CNT_DENIED);
		emit(skb, &p, event_dir, 0, &v, now);
		return TC_ACT_SHOT;
	}

	int is_new = 0;
	seen = bpf_map_lookup_elem(&conntrack, &ct);
	if (seen) {
		*seen = now;
	} else {
		bpf_map_update_elem(&conntrack, &ct, &now, BPF_ANY);
		is_new = 1;
	}
	count(CNT_ALLOWED_NEW);

	// Keep events cheap: TCP connection attempts, first packets of UDP/SCTP flows.
	int want_event;
	if (p.proto == IPPROTO_TCP)
		want_event = (p.tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
	else
		want_event = is_new;
	if (want_event && !host) {
		if (!peer_known && v.policy == NO_POLICY) {
			struct endpoint *peer = bpf_map_lookup_elem(&endpoints, &peer_addr);
			if (peer)
				v.peer = peer->identity;
		}
		emit(skb, &p, dir, 1, &v, now);
	}
	return TC_ACT_UNSPEC;
}

SEC("tc")
int from_pod(struct __sk_buff *skb) {
	return enforce(skb, DIR_EGRESS);
}

SEC("tc")
int to_pod(struct __sk_buff *skb) {
	return enforce(skb, DIR_INGRESS);
}
