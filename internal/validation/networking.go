package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	pathvalidation "k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

const (
	ingressClassAnnotation       = "kubernetes.io/ingress.class"
	maxLenIngressClassController = 250
)

var (
	supportedPathTypes   = sets.New(networkingv1.PathTypeExact, networkingv1.PathTypePrefix, networkingv1.PathTypeImplementationSpecific)
	invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = []string{"/..", "/."}
	supportedParamScopes = sets.New(networkingv1.IngressClassParametersReferenceScopeNamespace, networkingv1.IngressClassParametersReferenceScopeCluster)
)

// validateIngress validates an ingress's spec and class annotation.
func validateIngress(ing *networkingv1.Ingress) field.ErrorList {
	var allErrs field.ErrorList
	if v, ok := ing.Annotations[ingressClassAnnotation]; ok && ing.Spec.IngressClassName != nil && v != *ing.Spec.IngressClassName {
		allErrs = append(allErrs, field.Invalid(field.NewPath("annotations").Child(ingressClassAnnotation), v, "must match `ingressClassName` when both are specified"))
	}
	spec := &ing.Spec
	fldPath := field.NewPath("spec")
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		allErrs = append(allErrs, field.Invalid(fldPath, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		allErrs = append(allErrs, ingressBackend(spec.DefaultBackend, fldPath.Child("defaultBackend"))...)
	}
	for i, r := range spec.Rules {
		p := fldPath.Child("rules").Index(i)
		if len(r.Host) > 0 {
			if netutils.ParseIPSloppy(r.Host) != nil {
				allErrs = append(allErrs, field.Invalid(p.Child("host"), r.Host, "must be a DNS name, not an IP address"))
			}
			if strings.Contains(r.Host, "*") {
				for _, msg := range validation.IsWildcardDNS1123Subdomain(r.Host) {
					allErrs = append(allErrs, field.Invalid(p.Child("host"), r.Host, msg))
				}
			} else {
				allErrs = append(allErrs, dnsSubdomain(r.Host, p.Child("host"))...)
			}
		}
		if r.HTTP != nil {
			hp := p.Child("http")
			if len(r.HTTP.Paths) == 0 {
				allErrs = append(allErrs, field.Required(hp.Child("paths"), ""))
			}
			for j := range r.HTTP.Paths {
				allErrs = append(allErrs, ingressPath(&r.HTTP.Paths[j], hp.Child("paths").Index(j))...)
			}
		}
	}
	for i, tls := range spec.TLS {
		p := fldPath.Child("tls").Index(i)
		for j, host := range tls.Hosts {
			if strings.Contains(host, "*") {
				for _, msg := range validation.IsWildcardDNS1123Subdomain(host) {
					allErrs = append(allErrs, field.Invalid(p.Child("hosts").Index(j), host, msg))
				}
				continue
			}
			allErrs = append(allErrs, dnsSubdomain(host, p.Child("hosts").Index(j))...)
		}
		if len(tls.SecretName) > 0 {
			allErrs = append(allErrs, nameErrs(apimachineryvalidation.NameIsDNSSubdomain, tls.SecretName, p.Child("secretName"))...)
		}
	}
	if spec.IngressClassName != nil {
		allErrs = append(allErrs, nameErrs(apimachineryvalidation.NameIsDNSSubdomain, *spec.IngressClassName, fldPath.Child("ingressClassName"))...)
	}
	return allErrs
}

// ingressPath validates one HTTP path of an ingress rule.
func ingressPath(p *networkingv1.HTTPIngressPath, fldPath *field.Path) field.ErrorList {
	if p.PathType == nil {
		return field.ErrorList{field.Required(fldPath.Child("pathType"), "pathType must be specified")}
	}
	var allErrs field.ErrorList
	switch *p.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(p.Path, "/") {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("path"), p.Path, "must be an absolute path"))
		}
		if len(p.Path) > 0 {
			for _, seq := range invalidPathSequences {
				if strings.Contains(p.Path, seq) {
					allErrs = append(allErrs, field.Invalid(fldPath.Child("path"), p.Path, fmt.Sprintf("must not contain '%s'", seq)))
				}
			}
			for _, suf := range invalidPathSuffixes {
				if strings.HasSuffix(p.Path, suf) {
					allErrs = append(allErrs, field.Invalid(fldPath.Child("path"), p.Path, fmt.Sprintf("cannot end with '%s'", suf)))
				}
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if len(p.Path) > 0 && !strings.HasPrefix(p.Path, "/") {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("path"), p.Path, "must be an absolute path"))
		}
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("pathType"), *p.PathType, sets.List(supportedPathTypes)))
	}
	return append(allErrs, ingressBackend(&p.Backend, fldPath.Child("backend"))...)
}

// ingressBackend validates a service or resource backend.
func ingressBackend(b *networkingv1.IngressBackend, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(fldPath, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		allErrs = append(allErrs, typedLocalObjectReference(b.Resource.APIGroup, b.Resource.Kind, b.Resource.Name, fldPath.Child("resource"))...)
	case b.Service != nil:
		if len(b.Service.Name) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Child("service", "name"), ""))
		} else {
			allErrs = append(allErrs, nameErrs(apimachineryvalidation.NameIsDNS1035Label, b.Service.Name, fldPath.Child("service", "name"))...)
		}
		hasName, hasNumber := len(b.Service.Port.Name) > 0, b.Service.Port.Number != 0
		switch {
		case hasName && hasNumber:
			allErrs = append(allErrs, field.Invalid(fldPath, "", "cannot set both port name & port number"))
		case hasName:
			for _, msg := range validation.IsValidPortName(b.Service.Port.Name) {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("service", "port", "name"), b.Service.Port.Name, msg))
			}
		case hasNumber:
			for _, msg := range validation.IsValidPortNum(int(b.Service.Port.Number)) {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("service", "port", "number"), b.Service.Port.Number, msg))
			}
		default:
			allErrs = append(allErrs, field.Required(fldPath, "port name or number is required"))
		}
	default:
		allErrs = append(allErrs, field.Invalid(fldPath, "", "resource or service backend is required"))
	}
	return allErrs
}

// typedLocalObjectReference validates a reference by group, kind and name.
func typedLocalObjectReference(apiGroup *string, kind, name string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if apiGroup != nil {
		allErrs = append(allErrs, dnsSubdomain(*apiGroup, fldPath.Child("apiGroup"))...)
	}
	if kind == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("kind"), "kind is required"))
	} else {
		for _, msg := range pathvalidation.IsValidPathSegmentName(kind) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("kind"), kind, msg))
		}
	}
	if name == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), "name is required"))
	} else {
		for _, msg := range pathvalidation.IsValidPathSegmentName(name) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("name"), name, msg))
		}
	}
	return allErrs
}

// validateIngressClass validates an ingress class's controller and parameters.
func validateIngressClass(ic *networkingv1.IngressClass) field.ErrorList {
	fldPath := field.NewPath("spec")
	var allErrs field.ErrorList
	if len(ic.Spec.Controller) > maxLenIngressClassController {
		allErrs = append(allErrs, field.TooLong(fldPath.Child("controller"), ic.Spec.Controller, maxLenIngressClassController))
	}
	allErrs = append(allErrs, validation.IsDomainPrefixedPath(fldPath.Child("controller"), ic.Spec.Controller)...)
	if pr := ic.Spec.Parameters; pr != nil {
		p := fldPath.Child("parameters")
		allErrs = append(allErrs, typedLocalObjectReference(pr.APIGroup, pr.Kind, pr.Name, p)...)
		if pr.Scope == nil {
			return append(allErrs, field.Required(p.Child("scope"), ""))
		}
		scope := *pr.Scope
		if !supportedParamScopes.Has(scope) {
			allErrs = append(allErrs, field.NotSupported(p.Child("scope"), scope, sets.List(supportedParamScopes)))
		} else {
			if scope == networkingv1.IngressClassParametersReferenceScopeNamespace {
				if pr.Namespace == nil {
					allErrs = append(allErrs, field.Required(p.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
				} else {
					for _, msg := range apimachineryvalidation.ValidateNamespaceName(*pr.Namespace, false) {
						allErrs = append(allErrs, field.Invalid(p.Child("namespace"), *pr.Namespace, msg))
					}
				}
			}
			if scope == networkingv1.IngressClassParametersReferenceScopeCluster && pr.Namespace != nil {
				allErrs = append(allErrs, field.Forbidden(p.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
			}
		}
	}
	return allErrs
}

// validateIngressClassUpdate validates an ingress class update; the
// controller is immutable.
func validateIngressClassUpdate(ic, old *networkingv1.IngressClass) field.ErrorList {
	allErrs := validateIngressClass(ic)
	return append(allErrs, immutable(ic.Spec.Controller, old.Spec.Controller, field.NewPath("spec").Child("controller"))...)
}

// validateNetworkPolicy validates a network policy's selectors, rules and types.
func validateNetworkPolicy(np *networkingv1.NetworkPolicy) field.ErrorList {
	fldPath := field.NewPath("spec")
	spec := &np.Spec
	allErrs := labelSelector(&spec.PodSelector, fldPath.Child("podSelector"))
	for i, in := range spec.Ingress {
		p := fldPath.Child("ingress").Index(i)
		for j := range in.Ports {
			allErrs = append(allErrs, networkPolicyPort(&in.Ports[j], p.Child("ports").Index(j))...)
		}
		for j := range in.From {
			allErrs = append(allErrs, networkPolicyPeer(&in.From[j], p.Child("from").Index(j))...)
		}
	}
	for i, eg := range spec.Egress {
		p := fldPath.Child("egress").Index(i)
		for j := range eg.Ports {
			allErrs = append(allErrs, networkPolicyPort(&eg.Ports[j], p.Child("ports").Index(j))...)
		}
		for j := range eg.To {
			allErrs = append(allErrs, networkPolicyPeer(&eg.To[j], p.Child("to").Index(j))...)
		}
	}
	if len(spec.PolicyTypes) > 2 {
		return append(allErrs, field.Invalid(fldPath.Child("policyTypes"), &spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			allErrs = append(allErrs, field.NotSupported(fldPath.Child("policyTypes").Index(i), t, []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}))
		}
	}
	return allErrs
}

// networkPolicyPort validates a port, port range and protocol of a rule.
func networkPolicyPort(port *networkingv1.NetworkPolicyPort, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if port.Protocol != nil && *port.Protocol != corev1.ProtocolTCP && *port.Protocol != corev1.ProtocolUDP && *port.Protocol != corev1.ProtocolSCTP {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("protocol"), *port.Protocol, []string{string(corev1.ProtocolTCP), string(corev1.ProtocolUDP), string(corev1.ProtocolSCTP)}))
	}
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
		for _, msg := range validation.IsValidPortNum(int(port.Port.IntVal)) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("port"), port.Port.IntVal, msg))
		}
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("endPort"), port.Port.IntVal, "must be greater than or equal to `port`"))
			}
			for _, msg := range validation.IsValidPortNum(int(*port.EndPort)) {
				allErrs = append(allErrs, field.Invalid(fldPath.Child("endPort"), *port.EndPort, msg))
			}
		}
	default:
		if port.EndPort != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("port"), port.Port.StrVal, msg))
		}
	}
	return allErrs
}

// networkPolicyPeer validates a peer: exactly one kind, ipBlock alone.
func networkPolicyPeer(peer *networkingv1.NetworkPolicyPeer, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	n := 0
	if peer.PodSelector != nil {
		n++
		allErrs = append(allErrs, labelSelector(peer.PodSelector, fldPath.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		allErrs = append(allErrs, labelSelector(peer.NamespaceSelector, fldPath.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		allErrs = append(allErrs, ipBlock(peer.IPBlock, fldPath.Child("ipBlock"))...)
	}
	if n == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "must specify a peer"))
	} else if n > 1 && peer.IPBlock != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath, "may not specify both ipBlock and another peer"))
	}
	return allErrs
}

// ipBlock validates a CIDR and its strict-subset exceptions.
func ipBlock(b *networkingv1.IPBlock, fldPath *field.Path) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(fldPath.Child("cidr"), "")}
	}
	allErrs := legacyCIDR(fldPath.Child("cidr"), b.CIDR)
	_, cidr, err := netutils.ParseCIDRSloppy(b.CIDR)
	if err != nil {
		return allErrs
	}
	for i, e := range b.Except {
		p := fldPath.Child("except").Index(i)
		allErrs = append(allErrs, legacyCIDR(p, e)...)
		_, except, err := netutils.ParseCIDRSloppy(e)
		if err != nil {
			continue
		}
		cl, _ := cidr.Mask.Size()
		el, _ := except.Mask.Size()
		if !cidr.Contains(except.IP) || cl >= el {
			allErrs = append(allErrs, field.Invalid(p, e, "must be a strict subset of `cidr`"))
		}
	}
	return allErrs
}

// validateServiceCIDR validates the CIDRs of a ServiceCIDR.
func validateServiceCIDR(sc *networkingv1.ServiceCIDR) field.ErrorList {
	p := field.NewPath("spec").Child("cidrs")
	cidrs := sc.Spec.CIDRs
	if len(cidrs) == 0 {
		return field.ErrorList{field.Required(p, "at least one CIDR required")}
	}
	if len(cidrs) > 2 {
		return field.ErrorList{field.Invalid(p, sc.Spec, "may only hold up to 2 values")}
	}
	var allErrs field.ErrorList
	for i, c := range cidrs {
		allErrs = append(allErrs, validation.IsValidCIDR(p.Index(i), c)...)
	}
	if len(cidrs) == 2 && netutils.IPFamilyOfCIDRString(cidrs[0]) == netutils.IPFamilyOfCIDRString(cidrs[1]) &&
		netutils.IPFamilyOfCIDRString(cidrs[0]) != netutils.IPFamilyUnknown {
		allErrs = append(allErrs, field.Invalid(p, cidrs, "may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64"))
	}
	return allErrs
}

// validateServiceCIDRUpdate allows only adding a secondary CIDR.
func validateServiceCIDRUpdate(sc, old *networkingv1.ServiceCIDR) field.ErrorList {
	allErrs := validateServiceCIDR(sc)
	p := field.NewPath("spec").Child("cidrs")
	o, n := old.Spec.CIDRs, sc.Spec.CIDRs
	if len(o) == 1 && len(n) == 2 && o[0] == n[0] {
		return allErrs
	}
	return append(allErrs, immutable(n, o, p)...)
}

// validateIPAddress validates an IPAddress's parent reference.
func validateIPAddress(ip *networkingv1.IPAddress) field.ErrorList {
	fldPath := field.NewPath("spec")
	ref := ip.Spec.ParentRef
	if ref == nil {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	p := fldPath.Child("parentRef")
	var allErrs field.ErrorList
	if ref.Group != "" {
		allErrs = append(allErrs, dnsSubdomain(ref.Group, p.Child("group"))...)
	}
	for _, f := range []struct {
		name, value string
		required    bool
	}{{"resource", ref.Resource, true}, {"name", ref.Name, true}, {"namespace", ref.Namespace, false}} {
		if f.value == "" {
			if f.required {
				allErrs = append(allErrs, field.Required(p.Child(f.name), ""))
			}
			continue
		}
		for _, msg := range pathvalidation.IsValidPathSegmentName(f.value) {
			allErrs = append(allErrs, field.Invalid(p.Child(f.name), f.value, msg))
		}
	}
	return allErrs
}

// validateIPAddressUpdate validates an IPAddress update; its parent
// reference is immutable.
func validateIPAddressUpdate(ip, old *networkingv1.IPAddress) field.ErrorList {
	allErrs := validateIPAddress(ip)
	return append(allErrs, immutable(ip.Spec.ParentRef, old.Spec.ParentRef, field.NewPath("spec").Child("parentRef"))...)
}
