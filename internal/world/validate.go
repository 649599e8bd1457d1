package world

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// The validators below check what the API server checks for the fields
// netlab uses, with the same field paths and messages, so a learner sees the
// error kubectl would show them.

var supportedProtocols = []string{string(corev1.ProtocolTCP), string(corev1.ProtocolUDP), string(corev1.ProtocolSCTP)}

func validProtocol(p corev1.Protocol) bool {
	return p == corev1.ProtocolTCP || p == corev1.ProtocolUDP || p == corev1.ProtocolSCTP
}

func validateMeta(m *metav1.ObjectMeta, namespaced bool, nameCheck func(string) []string) field.ErrorList {
	var errs field.ErrorList
	path := field.NewPath("metadata")
	if m.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), "name or generateName is required"))
	} else {
		for _, msg := range nameCheck(m.Name) {
			errs = append(errs, field.Invalid(path.Child("name"), m.Name, msg))
		}
	}
	if namespaced {
		for _, msg := range validation.IsDNS1123Label(m.Namespace) {
			errs = append(errs, field.Invalid(path.Child("namespace"), m.Namespace, msg))
		}
	}
	errs = append(errs, metavalidation.ValidateLabels(m.Labels, path.Child("labels"))...)
	return errs
}

// ValidateNamespace checks a Namespace's name and labels.
func ValidateNamespace(ns *corev1.Namespace) field.ErrorList {
	return validateMeta(&ns.ObjectMeta, false, validation.IsDNS1123Label)
}

// ValidatePod checks a Pod's name, labels, IP and container ports.
func ValidatePod(p *corev1.Pod) field.ErrorList {
	errs := validateMeta(&p.ObjectMeta, true, validation.IsDNS1123Subdomain)
	for i, c := range p.Spec.Containers {
		// Port names are unique within a container, not across them.
		names := map[string]bool{}
		for j, cp := range c.Ports {
			path := field.NewPath("spec", "containers").Index(i).Child("ports").Index(j)
			for _, msg := range validation.IsValidPortNum(int(cp.ContainerPort)) {
				errs = append(errs, field.Invalid(path.Child("containerPort"), cp.ContainerPort, msg))
			}
			if cp.Protocol != "" && !validProtocol(cp.Protocol) {
				errs = append(errs, field.NotSupported(path.Child("protocol"), cp.Protocol, supportedProtocols))
			}
			if cp.Name != "" {
				for _, msg := range validation.IsValidPortName(cp.Name) {
					errs = append(errs, field.Invalid(path.Child("name"), cp.Name, msg))
				}
				if names[cp.Name] {
					errs = append(errs, field.Duplicate(path.Child("name"), cp.Name))
				}
				names[cp.Name] = true
			}
		}
	}
	if p.Status.PodIP != "" {
		errs = append(errs, validation.IsValidIPForLegacyField(field.NewPath("status", "podIP"), p.Status.PodIP, false, nil)...)
	}
	for i, ip := range p.Status.PodIPs {
		errs = append(errs, validation.IsValidIPForLegacyField(field.NewPath("status", "podIPs").Index(i).Child("ip"), ip.IP, false, nil)...)
	}
	return errs
}

// PodWarnings are the API server's warnings for a valid pod: addresses in
// forms that are accepted but not standard (leading zeros, IPv4-mapped
// IPv6), each with the form netlab uses.
func PodWarnings(p *corev1.Pod) []string {
	if p.Status.PodIP == "" {
		return nil
	}
	return validation.GetWarningsForIP(field.NewPath("status", "podIP"), p.Status.PodIP)
}

// canonicalIP is the standard form of an address the API server accepts
// (validated with IsValidIPForLegacyField): leading zeros dropped and
// IPv4-mapped IPv6 addresses as IPv4, so "::ffff:10.0.0.1" and "10.0.0.1"
// are the same pod.
func canonicalIP(s string) string {
	if ip := netutils.ParseIPSloppy(s); ip != nil {
		return ip.String()
	}
	return s
}

// ValidateService checks a Service's name, selector, cluster IP and ports.
func ValidateService(s *corev1.Service) field.ErrorList {
	errs := validateMeta(&s.ObjectMeta, true, validation.IsDNS1035Label)
	errs = append(errs, metavalidation.ValidateLabels(s.Spec.Selector, field.NewPath("spec", "selector"))...)
	if ip := s.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
		errs = append(errs, validation.IsValidIPForLegacyField(field.NewPath("spec", "clusterIP"), ip, false, nil)...)
	}
	for i, sp := range s.Spec.Ports {
		path := field.NewPath("spec", "ports").Index(i)
		for _, msg := range validation.IsValidPortNum(int(sp.Port)) {
			errs = append(errs, field.Invalid(path.Child("port"), sp.Port, msg))
		}
		if sp.Protocol != "" && !validProtocol(sp.Protocol) {
			errs = append(errs, field.NotSupported(path.Child("protocol"), sp.Protocol, supportedProtocols))
		}
		switch {
		case sp.TargetPort.Type == intstr.String:
			for _, msg := range validation.IsValidPortName(sp.TargetPort.StrVal) {
				errs = append(errs, field.Invalid(path.Child("targetPort"), sp.TargetPort.StrVal, msg))
			}
		case sp.TargetPort.IntVal != 0:
			for _, msg := range validation.IsValidPortNum(int(sp.TargetPort.IntVal)) {
				errs = append(errs, field.Invalid(path.Child("targetPort"), sp.TargetPort.IntVal, msg))
			}
		}
	}
	return errs
}

// ValidateNetworkPolicy checks a NetworkPolicy as the API server's
// networking validation does. Call DefaultNetworkPolicy first.
func ValidateNetworkPolicy(np *networkingv1.NetworkPolicy) field.ErrorList {
	errs := validateMeta(&np.ObjectMeta, true, validation.IsDNS1123Subdomain)
	spec := field.NewPath("spec")
	opts := metavalidation.LabelSelectorValidationOptions{}
	errs = append(errs, metavalidation.ValidateLabelSelector(&np.Spec.PodSelector, opts, spec.Child("podSelector"))...)
	for i, r := range np.Spec.Ingress {
		path := spec.Child("ingress").Index(i)
		for j, port := range r.Ports {
			errs = append(errs, validatePolicyPort(port, path.Child("ports").Index(j))...)
		}
		for j, peer := range r.From {
			errs = append(errs, validatePeer(peer, path.Child("from").Index(j))...)
		}
	}
	for i, r := range np.Spec.Egress {
		path := spec.Child("egress").Index(i)
		for j, port := range r.Ports {
			errs = append(errs, validatePolicyPort(port, path.Child("ports").Index(j))...)
		}
		for j, peer := range r.To {
			errs = append(errs, validatePeer(peer, path.Child("to").Index(j))...)
		}
	}
	// A policy type listed twice is accepted, as the API server does.
	typesPath := spec.Child("policyTypes")
	for i, t := range np.Spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(typesPath.Index(i), t, []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}))
		}
	}
	if len(np.Spec.PolicyTypes) > 2 {
		errs = append(errs, field.Invalid(typesPath, np.Spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	return errs
}

func validatePolicyPort(p networkingv1.NetworkPolicyPort, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p.Protocol != nil && !validProtocol(*p.Protocol) {
		errs = append(errs, field.NotSupported(path.Child("protocol"), *p.Protocol, supportedProtocols))
	}
	switch {
	case p.Port == nil:
		if p.EndPort != nil {
			errs = append(errs, field.Invalid(path.Child("endPort"), *p.EndPort, "may not be specified when `port` is not specified"))
		}
	case p.Port.Type == intstr.Int:
		for _, msg := range validation.IsValidPortNum(int(p.Port.IntVal)) {
			errs = append(errs, field.Invalid(path.Child("port"), p.Port.IntVal, msg))
		}
		if p.EndPort != nil {
			if *p.EndPort < p.Port.IntVal {
				errs = append(errs, field.Invalid(path.Child("endPort"), *p.EndPort, "must be greater than or equal to `port`"))
			}
			for _, msg := range validation.IsValidPortNum(int(*p.EndPort)) {
				errs = append(errs, field.Invalid(path.Child("endPort"), *p.EndPort, msg))
			}
		}
	default:
		if p.EndPort != nil {
			errs = append(errs, field.Invalid(path.Child("endPort"), *p.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(p.Port.StrVal) {
			errs = append(errs, field.Invalid(path.Child("port"), p.Port.StrVal, msg))
		}
	}
	return errs
}

func validatePeer(peer networkingv1.NetworkPolicyPeer, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	opts := metavalidation.LabelSelectorValidationOptions{}
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metavalidation.ValidateLabelSelector(peer.PodSelector, opts, path.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metavalidation.ValidateLabelSelector(peer.NamespaceSelector, opts, path.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(peer.IPBlock, path.Child("ipBlock"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(path, "must specify a peer"))
	case n > 1 && peer.IPBlock != nil:
		errs = append(errs, field.Forbidden(path, "may not specify both ipBlock and another peer"))
	}
	return errs
}

// NetworkPolicyWarnings are the API server's warnings for a valid policy:
// ipBlock CIDRs with bits set beyond the prefix length ("10.0.0.1/8",
// which netlab, like the API server's consumers, reads as 10.0.0.0/8) or
// in non-standard forms.
func NetworkPolicyWarnings(np *networkingv1.NetworkPolicy) []string {
	var warns []string
	check := func(peers []networkingv1.NetworkPolicyPeer, path *field.Path) {
		for j, peer := range peers {
			b := peer.IPBlock
			if b == nil {
				continue
			}
			bp := path.Index(j).Child("ipBlock")
			warns = append(warns, validation.GetWarningsForCIDR(bp.Child("cidr"), b.CIDR)...)
			for k, e := range b.Except {
				warns = append(warns, validation.GetWarningsForCIDR(bp.Child("except").Index(k), e)...)
			}
		}
	}
	for i, r := range np.Spec.Ingress {
		check(r.From, field.NewPath("spec", "ingress").Index(i).Child("from"))
	}
	for i, r := range np.Spec.Egress {
		check(r.To, field.NewPath("spec", "egress").Index(i).Child("to"))
	}
	return warns
}

func validateIPBlock(b *networkingv1.IPBlock, path *field.Path) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(path.Child("cidr"), "")}
	}
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return field.ErrorList{field.Invalid(path.Child("cidr"), b.CIDR, fmt.Sprintf("must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64): %v", err))}
	}
	cidr = cidr.Masked()
	var errs field.ErrorList
	for i, e := range b.Except {
		ep := path.Child("except").Index(i)
		ex, err := netip.ParsePrefix(e)
		if err != nil {
			errs = append(errs, field.Invalid(ep, e, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
			continue
		}
		if !cidr.Contains(ex.Addr()) || cidr.Bits() >= ex.Bits() {
			errs = append(errs, field.Invalid(ep, e, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}
