package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// Limits of an EndpointSlice.
const (
	maxTopologyLabels = 16
	maxAddresses      = 100
	maxPorts          = 20000
	maxEndpoints      = 1000
	maxZoneHints      = 8
)

var supportedAddressTypes = sets.New(string(discoveryv1.AddressTypeIPv4), string(discoveryv1.AddressTypeIPv6), string(discoveryv1.AddressTypeFQDN))

// validateEndpointSlice validates an endpoint slice's address type,
// endpoints and ports.
func validateEndpointSlice(es *discoveryv1.EndpointSlice) field.ErrorList {
	var allErrs field.ErrorList
	at := field.NewPath("addressType")
	if es.AddressType == "" {
		allErrs = append(allErrs, field.Required(at, ""))
	} else if !supportedAddressTypes.Has(string(es.AddressType)) {
		allErrs = append(allErrs, field.NotSupported(at, es.AddressType, sets.List(supportedAddressTypes)))
	}
	allErrs = append(allErrs, sliceEndpoints(es.Endpoints, es.AddressType, field.NewPath("endpoints"))...)
	return append(allErrs, slicePorts(es.Ports, field.NewPath("ports"))...)
}

// sliceEndpoints validates the endpoints of a slice.
func sliceEndpoints(endpoints []discoveryv1.Endpoint, addrType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	if len(endpoints) > maxEndpoints {
		return field.ErrorList{field.TooMany(fldPath, len(endpoints), maxEndpoints)}
	}
	var allErrs field.ErrorList
	for i, ep := range endpoints {
		p := fldPath.Index(i)
		ap := p.Child("addresses")
		if len(ep.Addresses) == 0 {
			allErrs = append(allErrs, field.Required(ap, "must contain at least 1 address"))
		} else if len(ep.Addresses) > maxAddresses {
			allErrs = append(allErrs, field.TooMany(ap, len(ep.Addresses), maxAddresses))
		}
		for j, a := range ep.Addresses {
			switch addrType {
			case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
				errs := legacyIP(ap.Index(j), a)
				if len(errs) == 0 {
					if isV6 := netutils.IsIPv6String(a); isV6 != (addrType == discoveryv1.AddressTypeIPv6) {
						msg := "must be an IPv4 address"
						if addrType == discoveryv1.AddressTypeIPv6 {
							msg = "must be an IPv6 address"
						}
						errs = append(errs, field.Invalid(ap.Index(j), a, msg))
					}
				}
				if len(errs) > 0 {
					allErrs = append(allErrs, errs...)
				} else {
					allErrs = append(allErrs, nonSpecialIP(a, ap.Index(j))...)
				}
			case discoveryv1.AddressTypeFQDN:
				allErrs = append(allErrs, validation.IsFullyQualifiedDomainName(ap.Index(j), a)...)
			}
		}
		if ep.NodeName != nil {
			allErrs = append(allErrs, nameErrs(apimachineryvalidation.NameIsDNSSubdomain, *ep.NodeName, p.Child("nodeName"))...)
		}
		tp := p.Child("deprecatedTopology")
		if len(ep.DeprecatedTopology) > maxTopologyLabels {
			allErrs = append(allErrs, field.TooMany(tp, len(ep.DeprecatedTopology), maxTopologyLabels))
		}
		allErrs = append(allErrs, metavalidation.ValidateLabels(ep.DeprecatedTopology, tp)...)
		if _, found := ep.DeprecatedTopology[corev1.LabelTopologyZone]; found {
			allErrs = append(allErrs, field.InternalError(tp.Key(corev1.LabelTopologyZone), fmt.Errorf("reserved key was not removed in conversion")))
		}
		if ep.Hostname != nil {
			allErrs = append(allErrs, dnsLabel(*ep.Hostname, p.Child("hostname"))...)
		}
		if h := ep.Hints; h != nil {
			zp := p.Child("hints").Child("forZones")
			if len(h.ForZones) > maxZoneHints {
				allErrs = append(allErrs, field.TooMany(zp, len(h.ForZones), maxZoneHints))
			}
			zones := sets.New[string]()
			for j, z := range h.ForZones {
				if zones.Has(z.Name) {
					allErrs = append(allErrs, field.Duplicate(zp.Index(j), z.Name))
				}
				zones.Insert(z.Name)
				for _, msg := range validation.IsValidLabelValue(z.Name) {
					allErrs = append(allErrs, field.Invalid(zp.Index(j).Child("name"), z.Name, msg))
				}
			}
		}
	}
	return allErrs
}

// slicePorts validates the ports of a slice.
func slicePorts(ports []discoveryv1.EndpointPort, fldPath *field.Path) field.ErrorList {
	if len(ports) > maxPorts {
		return field.ErrorList{field.TooMany(fldPath, len(ports), maxPorts)}
	}
	var allErrs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := fldPath.Index(i)
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		if len(name) > 0 {
			allErrs = append(allErrs, dnsLabel(name, p.Child("name"))...)
		}
		if names.Has(name) {
			allErrs = append(allErrs, field.Duplicate(p.Child("name"), port.Name))
		} else {
			names.Insert(name)
		}
		if port.Protocol == nil {
			allErrs = append(allErrs, field.Required(p.Child("protocol"), ""))
		} else if !supportedPortProtocols.Has(*port.Protocol) {
			allErrs = append(allErrs, field.NotSupported(p.Child("protocol"), *port.Protocol, sets.List(supportedPortProtocols)))
		}
		if port.AppProtocol != nil {
			allErrs = append(allErrs, qualifiedName(*port.AppProtocol, p.Child("appProtocol"))...)
		}
	}
	return allErrs
}

// validateEndpointSliceUpdate validates an update; addressType is immutable.
func validateEndpointSliceUpdate(es, old *discoveryv1.EndpointSlice) field.ErrorList {
	allErrs := validateEndpointSlice(es)
	return append(allErrs, immutable(es.AddressType, old.AddressType, field.NewPath("addressType"))...)
}
