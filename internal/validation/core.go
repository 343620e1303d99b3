package validation

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// maxSecretSize is the limit on the total size of a Secret's or ConfigMap's data.
const maxSecretSize = 1 * 1024 * 1024

// maxClientIPServiceAffinitySeconds is the limit on ClientIP affinity timeouts.
const maxClientIPServiceAffinitySeconds = 24 * 60 * 60

var (
	supportedSessionAffinityTypes = sets.New(corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone)
	supportedServiceTypes         = sets.New(corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName)
	supportedInternalTraffic      = sets.New(corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal)
	supportedExternalTraffic      = sets.New(corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal)
	supportedIPFamilies           = sets.New(corev1.IPv4Protocol, corev1.IPv6Protocol)
	supportedIPFamilyPolicies     = sets.New(corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack)
	supportedAccessModes          = sets.New(corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod)
	supportedReclaimPolicies      = sets.New(corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain)
	supportedVolumeModes          = sets.New(corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem)
	standardLimitTypes            = sets.New(corev1.LimitTypePod, corev1.LimitTypeContainer, corev1.LimitTypePersistentVolumeClaim)
)

// validateNamespace validates a namespace's spec finalizers.
func validateNamespace(ns *corev1.Namespace) field.ErrorList {
	var allErrs field.ErrorList
	for i := range ns.Spec.Finalizers {
		allErrs = append(allErrs, finalizerName(string(ns.Spec.Finalizers[i]), field.NewPath("spec", "finalizers"))...)
	}
	return allErrs
}

// validateNamespaceStatus checks that the phase agrees with deletion.
func validateNamespaceStatus(ns *corev1.Namespace) field.ErrorList {
	if ns.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			return field.ErrorList{field.Invalid(field.NewPath("status", "Phase"), ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty")}
		}
	} else if ns.Status.Phase != corev1.NamespaceTerminating {
		return field.ErrorList{field.Invalid(field.NewPath("status", "Phase"), ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty")}
	}
	return nil
}

// internalServicePort mirrors upstream's internal ServicePort, whose Go
// field names show when a duplicate port is reported.
type internalServicePort struct {
	Name        string
	Protocol    corev1.Protocol
	AppProtocol *string
	Port        int32
	TargetPort  intstr.IntOrString
	NodePort    int32
}

// isHeadlessService reports whether the service has clusterIP None.
func isHeadlessService(s *corev1.Service) bool {
	return len(s.Spec.ClusterIPs) == 1 && s.Spec.ClusterIPs[0] == corev1.ClusterIPNone
}

// validateService validates a service's spec (upstream's ValidateService).
func validateService(svc *corev1.Service) field.ErrorList {
	var allErrs field.ErrorList
	metaPath := field.NewPath("metadata")
	hints, hintsSet := svc.Annotations[corev1.DeprecatedAnnotationTopologyAwareHints]
	mode, modeSet := svc.Annotations[corev1.AnnotationTopologyMode]
	if modeSet && hintsSet && mode != hints {
		allErrs = append(allErrs, field.Invalid(metaPath.Child("annotations").Key(corev1.AnnotationTopologyMode), mode,
			fmt.Sprintf("must match annotations[%s] when both are specified", corev1.DeprecatedAnnotationTopologyAwareHints)))
	}
	specPath := field.NewPath("spec")
	headless := isHeadlessService(svc)
	if len(svc.Spec.Ports) == 0 && !headless && svc.Spec.Type != corev1.ServiceTypeExternalName {
		allErrs = append(allErrs, field.Required(specPath.Child("ports"), ""))
	}
	switch svc.Spec.Type {
	case corev1.ServiceTypeLoadBalancer:
		if headless {
			allErrs = append(allErrs, field.Invalid(specPath.Child("clusterIPs").Index(0), svc.Spec.ClusterIPs[0], "may not be set to 'None' for LoadBalancer services"))
		}
	case corev1.ServiceTypeNodePort:
		if headless {
			allErrs = append(allErrs, field.Invalid(specPath.Child("clusterIPs").Index(0), svc.Spec.ClusterIPs[0], "may not be set to 'None' for NodePort services"))
		}
	case corev1.ServiceTypeExternalName:
		if len(svc.Spec.ClusterIPs) > 0 {
			allErrs = append(allErrs, field.Forbidden(specPath.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if len(svc.Spec.IPFamilies) > 0 {
			allErrs = append(allErrs, field.Forbidden(specPath.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if svc.Spec.IPFamilyPolicy != nil {
			allErrs = append(allErrs, field.Forbidden(specPath.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		if cname := strings.TrimSuffix(svc.Spec.ExternalName, "."); len(cname) > 0 {
			allErrs = append(allErrs, dnsSubdomain(cname, specPath.Child("externalName"))...)
		} else {
			allErrs = append(allErrs, field.Required(specPath.Child("externalName"), ""))
		}
	}
	portNames := sets.New[string]()
	portsPath := specPath.Child("ports")
	for i := range svc.Spec.Ports {
		allErrs = append(allErrs, servicePort(&svc.Spec.Ports[i], len(svc.Spec.Ports) > 1, portNames, portsPath.Index(i))...)
	}
	if svc.Spec.Selector != nil {
		allErrs = append(allErrs, metavalidation.ValidateLabels(svc.Spec.Selector, specPath.Child("selector"))...)
	}
	if len(svc.Spec.SessionAffinity) == 0 {
		allErrs = append(allErrs, field.Required(specPath.Child("sessionAffinity"), ""))
	} else if !supportedSessionAffinityTypes.Has(svc.Spec.SessionAffinity) {
		allErrs = append(allErrs, field.NotSupported(specPath.Child("sessionAffinity"), svc.Spec.SessionAffinity, sets.List(supportedSessionAffinityTypes)))
	}
	if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		allErrs = append(allErrs, clientIPAffinityConfig(svc.Spec.SessionAffinityConfig, specPath.Child("sessionAffinityConfig"))...)
	} else if svc.Spec.SessionAffinity == corev1.ServiceAffinityNone && svc.Spec.SessionAffinityConfig != nil {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("sessionAffinityConfig"), fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone)))
	}
	allErrs = append(allErrs, serviceClusterIPs(svc)...)
	for i, ip := range svc.Spec.ExternalIPs {
		p := specPath.Child("externalIPs").Index(i)
		if errs := legacyIP(p, ip); len(errs) != 0 {
			allErrs = append(allErrs, errs...)
		} else {
			allErrs = append(allErrs, nonSpecialIP(ip, p)...)
		}
	}
	if len(svc.Spec.Type) == 0 {
		allErrs = append(allErrs, field.Required(specPath.Child("type"), ""))
	} else if !supportedServiceTypes.Has(svc.Spec.Type) {
		allErrs = append(allErrs, field.NotSupported(specPath.Child("type"), svc.Spec.Type, sets.List(supportedServiceTypes)))
	}
	if svc.Spec.Type == corev1.ServiceTypeClusterIP {
		for i := range svc.Spec.Ports {
			if svc.Spec.Ports[i].NodePort != 0 {
				allErrs = append(allErrs, field.Forbidden(portsPath.Index(i).Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			}
		}
	}
	nodePorts := map[corev1.ServicePort]bool{}
	for i, port := range svc.Spec.Ports {
		if port.NodePort == 0 {
			continue
		}
		key := corev1.ServicePort{Protocol: port.Protocol, NodePort: port.NodePort}
		if nodePorts[key] {
			allErrs = append(allErrs, field.Duplicate(portsPath.Index(i).Child("nodePort"), port.NodePort))
		}
		nodePorts[key] = true
	}
	ports := map[internalServicePort]bool{}
	for i, port := range svc.Spec.Ports {
		key := internalServicePort{Protocol: port.Protocol, Port: port.Port}
		if ports[key] {
			allErrs = append(allErrs, field.Duplicate(portsPath.Index(i), key))
		}
		ports[key] = true
	}
	if len(svc.Spec.LoadBalancerSourceRanges) > 0 {
		p := specPath.Child("LoadBalancerSourceRanges")
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			allErrs = append(allErrs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
		}
		for i, v := range svc.Spec.LoadBalancerSourceRanges {
			allErrs = append(allErrs, legacyCIDR(p.Index(i), strings.TrimSpace(v))...)
		}
	} else if val, ok := svc.Annotations[corev1.AnnotationLoadBalancerSourceRangesKey]; ok {
		p := field.NewPath("metadata", "annotations").Key(corev1.AnnotationLoadBalancerSourceRangesKey)
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			allErrs = append(allErrs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
		}
		if val = strings.TrimSpace(val); val != "" {
			for _, v := range strings.Split(val, ",") {
				allErrs = append(allErrs, legacyCIDR(p, strings.TrimSpace(v))...)
			}
		}
	}
	if svc.Spec.AllocateLoadBalancerNodePorts != nil && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.AllocateLoadBalancerNodePorts == nil {
		allErrs = append(allErrs, field.Required(field.NewPath("allocateLoadBalancerNodePorts"), ""))
	}
	allErrs = append(allErrs, loadBalancerClass(nil, svc)...)
	allErrs = append(allErrs, externalTrafficPolicy(svc)...)
	if svc.Spec.InternalTrafficPolicy == nil {
		switch svc.Spec.Type {
		case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeClusterIP:
			allErrs = append(allErrs, field.Required(specPath.Child("internalTrafficPolicy"), ""))
		}
	} else if !supportedInternalTraffic.Has(*svc.Spec.InternalTrafficPolicy) {
		allErrs = append(allErrs, field.NotSupported(specPath.Child("internalTrafficPolicy"), *svc.Spec.InternalTrafficPolicy, sets.List(supportedInternalTraffic)))
	}
	if td := svc.Spec.TrafficDistribution; td != nil {
		valid := []string{corev1.ServiceTrafficDistributionPreferClose, corev1.ServiceTrafficDistributionPreferSameZone, corev1.ServiceTrafficDistributionPreferSameNode}
		if !sets.New(valid...).Has(*td) {
			allErrs = append(allErrs, field.NotSupported(specPath.Child("trafficDistribution"), *td, valid))
		}
	}
	return allErrs
}

// servicePort validates one service port.
func servicePort(sp *corev1.ServicePort, requireName bool, names sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if requireName && len(sp.Name) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	} else if len(sp.Name) != 0 {
		allErrs = append(allErrs, dnsLabel(sp.Name, fldPath.Child("name"))...)
		if names.Has(sp.Name) {
			allErrs = append(allErrs, field.Duplicate(fldPath.Child("name"), sp.Name))
		} else {
			names.Insert(sp.Name)
		}
	}
	for _, msg := range validation.IsValidPortNum(int(sp.Port)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("port"), sp.Port, msg))
	}
	if len(sp.Protocol) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("protocol"), ""))
	} else if !supportedPortProtocols.Has(sp.Protocol) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("protocol"), sp.Protocol, sets.List(supportedPortProtocols)))
	}
	allErrs = append(allErrs, portNumOrName(sp.TargetPort, fldPath.Child("targetPort"))...)
	if sp.AppProtocol != nil {
		allErrs = append(allErrs, qualifiedName(*sp.AppProtocol, fldPath.Child("appProtocol"))...)
	}
	return allErrs
}

// clientIPAffinityConfig validates the session affinity config of ClientIP.
func clientIPAffinityConfig(cfg *corev1.SessionAffinityConfig, fldPath *field.Path) field.ErrorList {
	msg := fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)
	if cfg == nil {
		return field.ErrorList{field.Required(fldPath, msg)}
	}
	if cfg.ClientIP == nil {
		return field.ErrorList{field.Required(fldPath.Child("clientIP"), msg)}
	}
	p := fldPath.Child("clientIP").Child("timeoutSeconds")
	if cfg.ClientIP.TimeoutSeconds == nil {
		return field.ErrorList{field.Required(p, msg)}
	}
	if t := *cfg.ClientIP.TimeoutSeconds; t <= 0 || t > maxClientIPServiceAffinitySeconds {
		return field.ErrorList{field.Invalid(p, cfg.ClientIP.TimeoutSeconds, fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPServiceAffinitySeconds))}
	}
	return nil
}

// externalTrafficPolicy validates externalTrafficPolicy and healthCheckNodePort.
func externalTrafficPolicy(svc *corev1.Service) field.ErrorList {
	var allErrs field.ErrorList
	p := field.NewPath("spec")
	accessible := svc.Spec.Type == corev1.ServiceTypeLoadBalancer || svc.Spec.Type == corev1.ServiceTypeNodePort ||
		(svc.Spec.Type == corev1.ServiceTypeClusterIP && len(svc.Spec.ExternalIPs) > 0)
	if !accessible {
		if svc.Spec.ExternalTrafficPolicy != "" {
			allErrs = append(allErrs, field.Invalid(p.Child("externalTrafficPolicy"), svc.Spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
		}
	} else if svc.Spec.ExternalTrafficPolicy == "" {
		allErrs = append(allErrs, field.Required(p.Child("externalTrafficPolicy"), ""))
	} else if !supportedExternalTraffic.Has(svc.Spec.ExternalTrafficPolicy) {
		allErrs = append(allErrs, field.NotSupported(p.Child("externalTrafficPolicy"), svc.Spec.ExternalTrafficPolicy, sets.List(supportedExternalTraffic)))
	}
	if !needsHealthCheck(svc) {
		if svc.Spec.HealthCheckNodePort != 0 {
			allErrs = append(allErrs, field.Invalid(p.Child("healthCheckNodePort"), svc.Spec.HealthCheckNodePort, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
		}
	} else if svc.Spec.HealthCheckNodePort == 0 {
		allErrs = append(allErrs, field.Required(p.Child("healthCheckNodePort"), ""))
	} else {
		for _, msg := range validation.IsValidPortNum(int(svc.Spec.HealthCheckNodePort)) {
			allErrs = append(allErrs, field.Invalid(p.Child("healthCheckNodePort"), svc.Spec.HealthCheckNodePort, msg))
		}
	}
	return allErrs
}

// needsHealthCheck reports whether a service gets a health check node port.
func needsHealthCheck(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

// loadBalancerClass validates loadBalancerClass, and its immutability when old is set.
func loadBalancerClass(old, svc *corev1.Service) field.ErrorList {
	var allErrs field.ErrorList
	p := field.NewPath("spec", "loadBalancerClass")
	if old != nil && old.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		o, n := old.Spec.LoadBalancerClass, svc.Spec.LoadBalancerClass
		if (o == nil) != (n == nil) || (o != nil && *o != *n) {
			allErrs = append(allErrs, field.Invalid(p, svc.Spec.LoadBalancerClass, "may not change once set"))
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		if svc.Spec.LoadBalancerClass != nil {
			allErrs = append(allErrs, qualifiedName(*svc.Spec.LoadBalancerClass, p)...)
		}
	} else if svc.Spec.LoadBalancerClass != nil {
		allErrs = append(allErrs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
	}
	return allErrs
}

// serviceClusterIPs validates clusterIP, clusterIPs, ipFamilies and ipFamilyPolicy.
func serviceClusterIPs(svc *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var allErrs field.ErrorList
	specPath := field.NewPath("spec")
	ipsPath := specPath.Child("clusterIPs")
	famPath := specPath.Child("ipFamilies")
	if len(svc.Spec.ClusterIP) != 0 {
		if len(svc.Spec.ClusterIPs) == 0 {
			allErrs = append(allErrs, field.Required(ipsPath, ""))
		} else if svc.Spec.ClusterIPs[0] != svc.Spec.ClusterIP {
			allErrs = append(allErrs, field.Invalid(ipsPath, svc.Spec.ClusterIPs, "first value must match `clusterIP`"))
		}
	} else if len(svc.Spec.ClusterIPs) != 0 {
		allErrs = append(allErrs, field.Invalid(ipsPath, svc.Spec.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}
	seen := sets.New[corev1.IPFamily]()
	for i, f := range svc.Spec.IPFamilies {
		if !supportedIPFamilies.Has(f) {
			allErrs = append(allErrs, field.NotSupported(famPath.Index(i), f, sets.List(supportedIPFamilies)))
		}
		if seen.Has(f) {
			allErrs = append(allErrs, field.Duplicate(famPath.Index(i), f))
		}
		seen.Insert(f)
	}
	if svc.Spec.IPFamilyPolicy != nil && !supportedIPFamilyPolicies.Has(*svc.Spec.IPFamilyPolicy) {
		allErrs = append(allErrs, field.NotSupported(specPath.Child("ipFamilyPolicy"), svc.Spec.IPFamilyPolicy, sets.List(supportedIPFamilyPolicies)))
	}
	invalid := false
	for i, ip := range svc.Spec.ClusterIPs {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(svc.Spec.ClusterIPs) > 1 {
				invalid = true
				allErrs = append(allErrs, field.Invalid(ipsPath, svc.Spec.ClusterIPs, "'None' must be the first and only value"))
			}
			continue
		}
		errs := legacyIP(ipsPath.Index(i), ip)
		invalid = invalid || len(errs) != 0
		allErrs = append(allErrs, errs...)
	}
	if len(svc.Spec.ClusterIPs) > 2 {
		allErrs = append(allErrs, field.Invalid(ipsPath, svc.Spec.ClusterIPs, "may only hold up to 2 values"))
	}
	if invalid {
		return allErrs
	}
	if len(svc.Spec.ClusterIPs) > 1 {
		dual, err := netutils.IsDualStackIPStrings(svc.Spec.ClusterIPs)
		if err != nil {
			allErrs = append(allErrs, field.InternalError(ipsPath, fmt.Errorf("failed to check for dual stack with error:%v", err)))
		}
		if !dual {
			allErrs = append(allErrs, field.Invalid(ipsPath, svc.Spec.ClusterIPs, "may specify no more than one IP for each IP family"))
		}
	}
	if !isHeadlessService(svc) && len(svc.Spec.ClusterIPs) > 0 && len(svc.Spec.IPFamilies) > 0 {
		for i, ip := range svc.Spec.ClusterIPs {
			if i > len(svc.Spec.IPFamilies)-1 {
				break
			}
			if svc.Spec.IPFamilies[i] == corev1.IPv4Protocol && netutils.IsIPv6String(ip) {
				allErrs = append(allErrs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
			}
			if svc.Spec.IPFamilies[i] == corev1.IPv6Protocol && !netutils.IsIPv6String(ip) {
				allErrs = append(allErrs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
			}
		}
	}
	return allErrs
}

// validateServiceUpdate validates a service update: cluster IPs and families
// may only be upgraded or downgraded, and the new service must be valid.
func validateServiceUpdate(svc, old *corev1.Service) field.ErrorList {
	var allErrs field.ErrorList
	if svc.Spec.Type != corev1.ServiceTypeExternalName && old.Spec.Type != corev1.ServiceTypeExternalName {
		allErrs = append(allErrs, upgradeDowngradeClusterIPs(old, svc)...)
		allErrs = append(allErrs, upgradeDowngradeIPFamilies(old, svc)...)
	}
	allErrs = append(allErrs, loadBalancerClass(old, svc)...)
	if needsHealthCheck(old) && needsHealthCheck(svc) && svc.Spec.HealthCheckNodePort != old.Spec.HealthCheckNodePort {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "healthCheckNodePort"), "field is immutable"))
	}
	return append(allErrs, validateService(svc)...)
}

// upgradeDowngradeClusterIPs allows adding or releasing a secondary cluster
// IP, never changing the primary.
func upgradeDowngradeClusterIPs(old, svc *corev1.Service) field.ErrorList {
	var allErrs field.ErrorList
	if isHeadlessService(old) && isHeadlessService(svc) {
		return nil
	}
	p := field.NewPath("spec", "clusterIPs")
	o, n := old.Spec.ClusterIPs, svc.Spec.ClusterIPs
	switch {
	case len(o) == len(n):
		for i, ip := range o {
			if ip != n[i] {
				allErrs = append(allErrs, field.Invalid(p.Index(i), n, "may not change once set"))
			}
		}
	case len(o) > len(n):
		if len(n) == 0 {
			allErrs = append(allErrs, field.Invalid(p.Index(0), n, "primary clusterIP can not be unset"))
		}
		if len(o) > 0 && len(n) > 0 && n[0] != o[0] {
			allErrs = append(allErrs, field.Invalid(p.Index(0), n, "may not change once set"))
		}
		if len(n) == 1 && (svc.Spec.IPFamilyPolicy == nil || *svc.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack) {
			allErrs = append(allErrs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), svc.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary clusterIP"))
		}
	default:
		if len(o) > 0 && n[0] != o[0] {
			allErrs = append(allErrs, field.Invalid(p.Index(0), n, "may not change once set"))
		}
	}
	return allErrs
}

// upgradeDowngradeIPFamilies allows adding or releasing a secondary IP family.
func upgradeDowngradeIPFamilies(old, svc *corev1.Service) field.ErrorList {
	if isHeadlessService(old) || isHeadlessService(svc) {
		return nil
	}
	var allErrs field.ErrorList
	p := field.NewPath("spec", "ipFamilies")
	o, n := old.Spec.IPFamilies, svc.Spec.IPFamilies
	switch {
	case len(o) == len(n):
		for i, f := range o {
			if f != n[i] {
				allErrs = append(allErrs, field.Invalid(p.Index(0), n, "may not change once set"))
			}
		}
	case len(o) > len(n):
		if len(svc.Spec.ClusterIPs) == 0 {
			allErrs = append(allErrs, field.Invalid(p.Index(0), n, "primary ipFamily can not be unset"))
		}
		if len(n) > 0 && n[0] != o[0] {
			allErrs = append(allErrs, field.Invalid(p.Index(0), svc.Spec.ClusterIPs, "may not change once set"))
		}
		if len(n) == 1 && (svc.Spec.IPFamilyPolicy == nil || *svc.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack) {
			allErrs = append(allErrs, field.Invalid(field.NewPath("spec", "ipFamilyPolicy"), svc.Spec.IPFamilyPolicy, "must be set to 'SingleStack' when releasing the secondary ipFamily"))
		}
	default:
		if len(o) > 0 && len(n) > 0 && n[0] != o[0] {
			allErrs = append(allErrs, field.Invalid(p.Index(0), svc.Spec.ClusterIPs, "may not change once set"))
		}
	}
	return allErrs
}

// nonSpecialIP rejects unspecified, loopback and link-local addresses.
func nonSpecialIP(ipAddress string, fldPath *field.Path) field.ErrorList {
	ip := netutils.ParseIPSloppy(ipAddress)
	if ip == nil {
		return field.ErrorList{field.Invalid(fldPath, ipAddress, "must be a valid IP address")}
	}
	var allErrs field.ErrorList
	if ip.IsUnspecified() {
		allErrs = append(allErrs, field.Invalid(fldPath, ipAddress, fmt.Sprintf("may not be unspecified (%v)", ipAddress)))
	}
	if ip.IsLoopback() {
		allErrs = append(allErrs, field.Invalid(fldPath, ipAddress, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		allErrs = append(allErrs, field.Invalid(fldPath, ipAddress, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		allErrs = append(allErrs, field.Invalid(fldPath, ipAddress, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return allErrs
}

// validateEndpoints validates the subsets of an Endpoints object.
func validateEndpoints(ep *corev1.Endpoints) field.ErrorList {
	var allErrs field.ErrorList
	fldPath := field.NewPath("subsets")
	for i := range ep.Subsets {
		ss := &ep.Subsets[i]
		p := fldPath.Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			allErrs = append(allErrs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
		}
		for a := range ss.Addresses {
			allErrs = append(allErrs, endpointAddress(&ss.Addresses[a], p.Child("addresses").Index(a))...)
		}
		for a := range ss.NotReadyAddresses {
			allErrs = append(allErrs, endpointAddress(&ss.NotReadyAddresses[a], p.Child("notReadyAddresses").Index(a))...)
		}
		for j := range ss.Ports {
			port := &ss.Ports[j]
			pp := p.Child("ports").Index(j)
			if len(ss.Ports) > 1 && len(port.Name) == 0 {
				allErrs = append(allErrs, field.Required(pp.Child("name"), ""))
			} else if len(port.Name) != 0 {
				allErrs = append(allErrs, dnsLabel(port.Name, pp.Child("name"))...)
			}
			for _, msg := range validation.IsValidPortNum(int(port.Port)) {
				allErrs = append(allErrs, field.Invalid(pp.Child("port"), port.Port, msg))
			}
			if len(port.Protocol) == 0 {
				allErrs = append(allErrs, field.Required(pp.Child("protocol"), ""))
			} else if !supportedPortProtocols.Has(port.Protocol) {
				allErrs = append(allErrs, field.NotSupported(pp.Child("protocol"), port.Protocol, sets.List(supportedPortProtocols)))
			}
			if port.AppProtocol != nil {
				allErrs = append(allErrs, qualifiedName(*port.AppProtocol, pp.Child("appProtocol"))...)
			}
		}
	}
	return allErrs
}

// endpointAddress validates one endpoint address.
func endpointAddress(a *corev1.EndpointAddress, fldPath *field.Path) field.ErrorList {
	allErrs := legacyIP(fldPath.Child("ip"), a.IP)
	if len(a.Hostname) > 0 {
		allErrs = append(allErrs, dnsLabel(a.Hostname, fldPath.Child("hostname"))...)
	}
	if a.NodeName != nil {
		allErrs = append(allErrs, nameErrs(apimachineryvalidation.NameIsDNSSubdomain, *a.NodeName, fldPath.Child("nodeName"))...)
	}
	return append(allErrs, nonSpecialIP(a.IP, fldPath.Child("ip"))...)
}

// validateConfigMap validates keys and the total size of a config map.
func validateConfigMap(cfg *corev1.ConfigMap) field.ErrorList {
	var allErrs field.ErrorList
	total := 0
	for _, key := range sortedKeys(cfg.Data) {
		for _, msg := range validation.IsConfigMapKey(key) {
			allErrs = append(allErrs, field.Invalid(field.NewPath("data").Key(key), key, msg))
		}
		if _, dup := cfg.BinaryData[key]; dup {
			allErrs = append(allErrs, field.Invalid(field.NewPath("data").Key(key), key, "duplicate of key present in binaryData"))
		}
		total += len(cfg.Data[key])
	}
	for _, key := range sortedByteKeys(cfg.BinaryData) {
		for _, msg := range validation.IsConfigMapKey(key) {
			allErrs = append(allErrs, field.Invalid(field.NewPath("binaryData").Key(key), key, msg))
		}
		total += len(cfg.BinaryData[key])
	}
	if total > maxSecretSize {
		allErrs = append(allErrs, field.TooLong(field.NewPath(""), "", maxSecretSize))
	}
	return allErrs
}

// sortedByteKeys returns the keys of m in order.
func sortedByteKeys(m map[string][]byte) []string {
	return sets.List(sets.KeySet(m))
}

// validateConfigMapUpdate validates a config map update, honouring immutable.
func validateConfigMapUpdate(cfg, old *corev1.ConfigMap) field.ErrorList {
	var allErrs field.ErrorList
	if old.Immutable != nil && *old.Immutable {
		if cfg.Immutable == nil || !*cfg.Immutable {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !apiequality.Semantic.DeepEqual(cfg.Data, old.Data) {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
		if !apiequality.Semantic.DeepEqual(cfg.BinaryData, old.BinaryData) {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("binaryData"), "field is immutable when `immutable` is set"))
		}
	}
	return append(allErrs, validateConfigMap(cfg)...)
}

// validateSecret validates a secret's keys, size and type-specific keys.
func validateSecret(s *corev1.Secret) field.ErrorList {
	var allErrs field.ErrorList
	dataPath := field.NewPath("data")
	total := 0
	for _, key := range sortedByteKeys(s.Data) {
		for _, msg := range validation.IsConfigMapKey(key) {
			allErrs = append(allErrs, field.Invalid(dataPath.Key(key), key, msg))
		}
		total += len(s.Data[key])
	}
	if total > maxSecretSize {
		allErrs = append(allErrs, field.TooLong(dataPath, "", maxSecretSize))
	}
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if len(s.Annotations[corev1.ServiceAccountNameKey]) == 0 {
			allErrs = append(allErrs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		allErrs = append(allErrs, jsonSecretKey(s.Data, corev1.DockerConfigKey, dataPath)...)
	case corev1.SecretTypeDockerConfigJson:
		allErrs = append(allErrs, jsonSecretKey(s.Data, corev1.DockerConfigJsonKey, dataPath)...)
	case corev1.SecretTypeBasicAuth:
		_, u := s.Data[corev1.BasicAuthUsernameKey]
		_, p := s.Data[corev1.BasicAuthPasswordKey]
		if !u && !p {
			allErrs = append(allErrs, field.Required(dataPath.Key(corev1.BasicAuthUsernameKey), ""))
			allErrs = append(allErrs, field.Required(dataPath.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			allErrs = append(allErrs, field.Required(dataPath.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		if _, ok := s.Data[corev1.TLSCertKey]; !ok {
			allErrs = append(allErrs, field.Required(dataPath.Key(corev1.TLSCertKey), ""))
		}
		if _, ok := s.Data[corev1.TLSPrivateKeyKey]; !ok {
			allErrs = append(allErrs, field.Required(dataPath.Key(corev1.TLSPrivateKeyKey), ""))
		}
	}
	return allErrs
}

// jsonSecretKey requires key in data to hold well-formed JSON.
func jsonSecretKey(data map[string][]byte, key string, dataPath *field.Path) field.ErrorList {
	b, ok := data[key]
	if !ok {
		return field.ErrorList{field.Required(dataPath.Key(key), "")}
	}
	if err := json.Unmarshal(b, &map[string]interface{}{}); err != nil {
		return field.ErrorList{field.Invalid(dataPath.Key(key), "<secret contents redacted>", err.Error())}
	}
	return nil
}

// validateSecretUpdate validates a secret update: type is immutable, and so
// is the data of an immutable secret.
func validateSecretUpdate(s, old *corev1.Secret) field.ErrorList {
	allErrs := immutable(s.Type, old.Type, field.NewPath("type"))
	if old.Immutable != nil && *old.Immutable {
		if s.Immutable == nil || !*s.Immutable {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !apiequality.Semantic.DeepEqual(s.Data, old.Data) {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
	}
	return append(allErrs, validateSecret(s)...)
}

// validateNode validates a node's taints, pod CIDRs and resources.
func validateNode(node *corev1.Node) field.ErrorList {
	var allErrs field.ErrorList
	if len(node.Spec.Taints) > 0 {
		allErrs = append(allErrs, nodeTaints(node.Spec.Taints, field.NewPath("metadata").Child("taints"))...)
	}
	allErrs = append(allErrs, nodeResources(node)...)
	if len(node.Spec.PodCIDRs) > 0 {
		p := field.NewPath("spec", "podCIDRs")
		for i, v := range node.Spec.PodCIDRs {
			allErrs = append(allErrs, legacyCIDR(p.Index(i), v)...)
		}
		if len(node.Spec.PodCIDRs) > 1 {
			dual, err := netutils.IsDualStackCIDRStrings(node.Spec.PodCIDRs)
			if err != nil {
				allErrs = append(allErrs, field.InternalError(p, fmt.Errorf("invalid PodCIDRs. failed to check with dual stack with error:%v", err)))
			}
			if !dual || len(node.Spec.PodCIDRs) > 2 {
				allErrs = append(allErrs, field.Invalid(p, node.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
			}
			seen := sets.New[string]()
			for i, v := range node.Spec.PodCIDRs {
				if seen.Has(v) {
					allErrs = append(allErrs, field.Duplicate(p.Index(i), v))
				}
				seen.Insert(v)
			}
		}
	}
	return allErrs
}

// nodeResources validates the quantities of a node's capacity and allocatable.
func nodeResources(node *corev1.Node) field.ErrorList {
	var allErrs field.ErrorList
	for _, k := range sortedResourceNames(node.Status.Capacity) {
		allErrs = append(allErrs, resourceQuantityValue(k, node.Status.Capacity[k], field.NewPath("status", "capacity", string(k)))...)
	}
	for _, k := range sortedResourceNames(node.Status.Allocatable) {
		allErrs = append(allErrs, resourceQuantityValue(k, node.Status.Allocatable[k], field.NewPath("status", "allocatable", string(k)))...)
	}
	return allErrs
}

// nodeTaints validates taints, unique by key and effect.
func nodeTaints(taints []corev1.Taint, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	unique := map[corev1.TaintEffect]sets.Set[string]{}
	for i, t := range taints {
		p := fldPath.Index(i)
		allErrs = append(allErrs, metavalidation.ValidateLabelName(t.Key, p.Child("key"))...)
		if errs := validation.IsValidLabelValue(t.Value); len(errs) != 0 {
			allErrs = append(allErrs, field.Invalid(p.Child("value"), t.Value, strings.Join(errs, ";")))
		}
		allErrs = append(allErrs, taintEffect(t.Effect, false, p.Child("effect"))...)
		if unique[t.Effect].Has(t.Key) {
			// Upstream reports its internal Taint type, which has no JSON tags.
			e := field.Duplicate(p, struct {
				Key       string
				Value     string
				Effect    corev1.TaintEffect
				TimeAdded *metav1.Time
			}{t.Key, t.Value, t.Effect, t.TimeAdded})
			e.Detail = "taints must be unique by key and effect pair"
			allErrs = append(allErrs, e)
			continue
		}
		if unique[t.Effect] == nil {
			unique[t.Effect] = sets.New[string]()
		}
		unique[t.Effect].Insert(t.Key)
	}
	return allErrs
}

// validateNodeUpdate validates a node update: podCIDRs and providerID may
// only be set once, externalID never changes.
func validateNodeUpdate(node, old *corev1.Node) field.ErrorList {
	allErrs := nodeResources(node)
	addrs := map[corev1.NodeAddress]bool{}
	for i, a := range node.Status.Addresses {
		if addrs[a] {
			allErrs = append(allErrs, field.Duplicate(field.NewPath("status", "addresses").Index(i), struct {
				Type    corev1.NodeAddressType
				Address string
			}{a.Type, a.Address}))
		}
		addrs[a] = true
	}
	const cidrMsg = "node updates may not change podCIDR except from \"\" to valid"
	if len(old.Spec.PodCIDRs) > 0 {
		if len(old.Spec.PodCIDRs) != len(node.Spec.PodCIDRs) {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "podCIDRs"), cidrMsg))
		} else {
			for i, v := range old.Spec.PodCIDRs {
				if v != node.Spec.PodCIDRs[i] {
					allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "podCIDRs"), cidrMsg))
				}
			}
		}
	}
	if len(old.Spec.ProviderID) > 0 && old.Spec.ProviderID != node.Spec.ProviderID {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	if len(node.Spec.Taints) > 0 {
		allErrs = append(allErrs, nodeTaints(node.Spec.Taints, field.NewPath("metadata").Child("taints"))...)
	}
	if node.Spec.DoNotUseExternalID != old.Spec.DoNotUseExternalID {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "externalID"), "may not be updated"))
	}
	return allErrs
}

// Limits on the fields of events.
const (
	reportingInstanceLengthLimit = 128
	actionLengthLimit            = 128
	reasonLengthLimit            = 128
	noteLengthLimit              = 1024
)

// validateEventCreate validates a core/v1 event (legacy rules only, as
// upstream applies to the v1 API).
func validateEventCreate(e *corev1.Event) field.ErrorList {
	var allErrs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	if e.EventTime.Time.Equal(time.Time{}) {
		if len(e.InvolvedObject.Namespace) == 0 {
			if e.Namespace != metav1.NamespaceNone && e.Namespace != metav1.NamespaceDefault {
				allErrs = append(allErrs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
			}
		} else if e.Namespace != e.InvolvedObject.Namespace {
			allErrs = append(allErrs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
		}
	} else {
		if len(e.InvolvedObject.Namespace) == 0 && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
			allErrs = append(allErrs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
		}
		rc := field.NewPath("reportingComponent")
		if len(e.ReportingController) == 0 {
			allErrs = append(allErrs, field.Required(rc, ""))
		}
		allErrs = append(allErrs, qualifiedName(e.ReportingController, rc)...)
		if len(e.ReportingInstance) == 0 {
			allErrs = append(allErrs, field.Required(field.NewPath("reportingInstance"), ""))
		}
		if len(e.ReportingInstance) > reportingInstanceLengthLimit {
			allErrs = append(allErrs, field.Invalid(field.NewPath("reportingInstance"), "", fmt.Sprintf("can have at most %v characters", reportingInstanceLengthLimit)))
		}
		if len(e.Action) == 0 {
			allErrs = append(allErrs, field.Required(field.NewPath("action"), ""))
		}
		if len(e.Action) > actionLengthLimit {
			allErrs = append(allErrs, field.Invalid(field.NewPath("action"), "", fmt.Sprintf("can have at most %v characters", actionLengthLimit)))
		}
		if len(e.Reason) == 0 {
			allErrs = append(allErrs, field.Required(field.NewPath("reason"), ""))
		}
		if len(e.Reason) > reasonLengthLimit {
			allErrs = append(allErrs, field.Invalid(field.NewPath("reason"), "", fmt.Sprintf("can have at most %v characters", reasonLengthLimit)))
		}
		if len(e.Message) > noteLengthLimit {
			allErrs = append(allErrs, field.Invalid(field.NewPath("message"), "", fmt.Sprintf("can have at most %v characters", noteLengthLimit)))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(e.Namespace) {
		allErrs = append(allErrs, field.Invalid(field.NewPath("namespace"), e.Namespace, msg))
	}
	return allErrs
}

// validateEventUpdate validates an event update with the create rules.
func validateEventUpdate(e, _ *corev1.Event) field.ErrorList {
	return validateEventCreate(e)
}

// validatePersistentVolume validates a persistent volume's spec.
func validatePersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	var allErrs field.ErrorList
	spec := &pv.Spec
	fldPath := field.NewPath("spec")
	if len(spec.AccessModes) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("accessModes"), ""))
	}
	allErrs = append(allErrs, accessModes(spec.AccessModes, fldPath.Child("accessModes"))...)
	if len(spec.Capacity) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("capacity"), ""))
	}
	if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("capacity"), spec.Capacity, []corev1.ResourceName{corev1.ResourceStorage}))
	}
	for _, r := range sortedResourceNames(spec.Capacity) {
		q := spec.Capacity[r]
		p := fldPath.Child("capacity").Key(string(r))
		if q.Value() < 0 {
			allErrs = append(allErrs, field.Invalid(p, q.Value(), "must be a valid resource quantity"))
		}
		allErrs = append(allErrs, positiveQuantity(q, p)...)
	}
	if len(spec.PersistentVolumeReclaimPolicy) > 0 && !supportedReclaimPolicies.Has(spec.PersistentVolumeReclaimPolicy) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("persistentVolumeReclaimPolicy"), spec.PersistentVolumeReclaimPolicy, sets.List(supportedReclaimPolicies)))
	}
	affinitySet := false
	if spec.NodeAffinity != nil {
		affinitySet = true
		if spec.NodeAffinity.Required != nil {
			allErrs = append(allErrs, nodeSelector(spec.NodeAffinity.Required, false, fldPath.Child("nodeAffinity").Child("required"))...)
		} else {
			allErrs = append(allErrs, field.Required(fldPath.Child("nodeAffinity").Child("required"), "must specify required node constraints"))
		}
	}
	allErrs = append(allErrs, pvSource(spec, affinitySet, fldPath)...)
	if spec.HostPath != nil && path.Clean(spec.HostPath.Path) == "/" && spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if len(spec.StorageClassName) > 0 {
		allErrs = append(allErrs, nameErrs(apimachineryvalidation.NameIsDNSSubdomain, spec.StorageClassName, fldPath.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil && !supportedVolumeModes.Has(*spec.VolumeMode) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("volumeMode"), *spec.VolumeMode, sets.List(supportedVolumeModes)))
	}
	if spec.VolumeAttributesClassName != nil && len(*spec.VolumeAttributesClassName) > 0 {
		allErrs = append(allErrs, nameErrs(apimachineryvalidation.NameIsDNSSubdomain, *spec.VolumeAttributesClassName, fldPath.Child("volumeAttributesClassName"))...)
	}
	return allErrs
}

// accessModes validates a list of access modes.
func accessModes(modes []corev1.PersistentVolumeAccessMode, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	rwop, other := false, false
	for _, m := range modes {
		if !supportedAccessModes.Has(m) {
			allErrs = append(allErrs, field.NotSupported(fldPath, m, sets.List(supportedAccessModes)))
		}
		if m == corev1.ReadWriteOncePod {
			rwop = true
		} else if supportedAccessModes.Has(m) {
			other = true
		}
	}
	if rwop && other {
		allErrs = append(allErrs, field.Forbidden(fldPath, "may not use ReadWriteOncePod with other access modes"))
	}
	return allErrs
}

// pvSource validates that a persistent volume has exactly one source. The
// common sources are validated in depth; the others for required fields.
func pvSource(spec *corev1.PersistentVolumeSpec, affinitySet bool, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	n := 0
	add := func(set bool, name string, validate func() field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(name), "may not specify more than 1 volume type"))
			return
		}
		n++
		if validate != nil {
			allErrs = append(allErrs, validate()...)
		}
	}
	s := spec.PersistentVolumeSource
	add(s.HostPath != nil, "hostPath", func() field.ErrorList { return hostPathSource(s.HostPath, fldPath.Child("hostPath")) })
	add(s.GCEPersistentDisk != nil, "gcePersistentDisk", func() field.ErrorList {
		return diskSource(s.GCEPersistentDisk.PDName, "pdName", s.GCEPersistentDisk.Partition, fldPath.Child("persistentDisk"))
	})
	add(s.AWSElasticBlockStore != nil, "awsElasticBlockStore", func() field.ErrorList {
		return diskSource(s.AWSElasticBlockStore.VolumeID, "volumeID", s.AWSElasticBlockStore.Partition, fldPath.Child("awsElasticBlockStore"))
	})
	add(s.Glusterfs != nil, "glusterfs", func() field.ErrorList {
		return requiredStrings(fldPath.Child("glusterfs"), "endpoints", s.Glusterfs.EndpointsName, "path", s.Glusterfs.Path)
	})
	add(s.Flocker != nil, "flocker", nil)
	add(s.NFS != nil, "nfs", func() field.ErrorList {
		p := fldPath.Child("nfs")
		errs := requiredStrings(p, "server", s.NFS.Server, "path", s.NFS.Path)
		if !path.IsAbs(s.NFS.Path) {
			errs = append(errs, field.Invalid(p.Child("path"), s.NFS.Path, "must be an absolute path"))
		}
		return errs
	})
	add(s.RBD != nil, "rbd", nil)
	add(s.Quobyte != nil, "quobyte", nil)
	add(s.CephFS != nil, "cephFS", nil)
	add(s.ISCSI != nil, "iscsi", nil)
	add(s.Cinder != nil, "cinder", nil)
	add(s.FC != nil, "fc", nil)
	add(s.FlexVolume != nil, "flexVolume", nil)
	add(s.AzureFile != nil, "azureFile", nil)
	add(s.VsphereVolume != nil, "vsphereVolume", nil)
	add(s.PhotonPersistentDisk != nil, "photonPersistentDisk", nil)
	add(s.PortworxVolume != nil, "portworxVolume", nil)
	add(s.AzureDisk != nil, "azureDisk", func() field.ErrorList { return azureDiskSource(s.AzureDisk, fldPath.Child("azureDisk")) })
	add(s.ScaleIO != nil, "scaleIO", nil)
	add(s.Local != nil, "local", func() field.ErrorList {
		p := fldPath.Child("local")
		var errs field.ErrorList
		if s.Local.Path == "" {
			errs = append(errs, field.Required(p.Child("path"), ""))
		} else {
			errs = append(errs, pathNoBacksteps(s.Local.Path, p.Child("path"))...)
		}
		if !affinitySet {
			errs = append(errs, field.Required(fldPath.Child("nodeAffinity"), "Local volumes require node affinity"))
		}
		return errs
	})
	add(s.StorageOS != nil, "storageos", nil)
	add(s.CSI != nil, "csi", func() field.ErrorList {
		p := fldPath.Child("csi")
		errs := csiDriverName(s.CSI.Driver, p.Child("driver"))
		if len(s.CSI.VolumeHandle) == 0 {
			errs = append(errs, field.Required(p.Child("volumeHandle"), ""))
		}
		return errs
	})
	if n == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "must specify a volume type"))
	}
	return allErrs
}

// validatePersistentVolumeUpdate validates a persistent volume update: the
// source and volume mode are immutable.
func validatePersistentVolumeUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	allErrs := validatePersistentVolume(pv)
	newSource := pv.Spec.PersistentVolumeSource
	if old.Spec.CSI != nil && old.Spec.CSI.ControllerExpandSecretRef == nil && newSource.CSI != nil && newSource.CSI.ControllerExpandSecretRef != nil {
		newSource = *newSource.DeepCopy()
		newSource.CSI.ControllerExpandSecretRef = nil
	}
	if !apiequality.Semantic.DeepEqual(newSource, old.Spec.PersistentVolumeSource) {
		diff := cmp.Diff(old.Spec.PersistentVolumeSource, newSource)
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"), fmt.Sprintf("spec.persistentvolumesource is immutable after creation\n%v", diff)))
	}
	allErrs = append(allErrs, immutable(pv.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if old.Spec.NodeAffinity != nil && !apiequality.Semantic.DeepEqual(pv.Spec.NodeAffinity, old.Spec.NodeAffinity) {
		allErrs = append(allErrs, field.Invalid(field.NewPath("nodeAffinity"), pv.Spec.NodeAffinity, fieldImmutableMsg+", except for updating from beta label to GA"))
	}
	return allErrs
}

// validatePersistentVolumeClaim validates a claim's spec.
func validatePersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	return pvcSpec(&pvc.Spec, field.NewPath("spec"))
}

// pvcSpec validates a persistent volume claim spec.
func pvcSpec(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(spec.AccessModes) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		allErrs = append(allErrs, labelSelector(spec.Selector, fldPath.Child("selector"))...)
	}
	allErrs = append(allErrs, accessModes(spec.AccessModes, fldPath.Child("accessModes"))...)
	storagePath := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	if v, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		allErrs = append(allErrs, field.Required(storagePath, ""))
	} else if errs := positiveQuantity(v, storagePath); len(errs) > 0 {
		allErrs = append(allErrs, errs...)
	} else {
		allErrs = append(allErrs, resourceQuantityValue(corev1.ResourceStorage, v, storagePath)...)
	}
	if spec.StorageClassName != nil && len(*spec.StorageClassName) > 0 {
		allErrs = append(allErrs, nameErrs(apimachineryvalidation.NameIsDNSSubdomain, *spec.StorageClassName, fldPath.Child("storageClassName"))...)
	}
	if spec.VolumeMode != nil && !supportedVolumeModes.Has(*spec.VolumeMode) {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("volumeMode"), *spec.VolumeMode, sets.List(supportedVolumeModes)))
	}
	if spec.DataSource != nil {
		allErrs = append(allErrs, dataSource(spec.DataSource.APIGroup, spec.DataSource.Kind, spec.DataSource.Name, fldPath.Child("dataSource"))...)
	}
	if spec.DataSourceRef != nil {
		allErrs = append(allErrs, dataSource(spec.DataSourceRef.APIGroup, spec.DataSourceRef.Kind, spec.DataSourceRef.Name, fldPath.Child("dataSourceRef"))...)
	}
	if spec.DataSourceRef != nil && spec.DataSourceRef.Namespace != nil && len(*spec.DataSourceRef.Namespace) > 0 {
		if spec.DataSource != nil {
			allErrs = append(allErrs, field.Invalid(fldPath, fldPath.Child("dataSource"), "may not be specified when dataSourceRef.namespace is specified"))
		}
	} else if spec.DataSource != nil && spec.DataSourceRef != nil {
		ds, dr := spec.DataSource, spec.DataSourceRef
		if !apiequality.Semantic.DeepEqual(ds.APIGroup, dr.APIGroup) || ds.Kind != dr.Kind || ds.Name != dr.Name {
			allErrs = append(allErrs, field.Invalid(fldPath, fldPath.Child("dataSource"), "must match dataSourceRef"))
		}
	}
	if spec.VolumeAttributesClassName != nil && len(*spec.VolumeAttributesClassName) > 0 {
		allErrs = append(allErrs, nameErrs(apimachineryvalidation.NameIsDNSSubdomain, *spec.VolumeAttributesClassName, fldPath.Child("volumeAttributesClassName"))...)
	}
	return allErrs
}

// dataSource validates a claim's data source reference.
func dataSource(apiGroup *string, kind, name string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(name) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	}
	if len(kind) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("kind"), ""))
	}
	group := ""
	if apiGroup != nil {
		group = *apiGroup
	}
	if len(group) == 0 && kind != "PersistentVolumeClaim" {
		allErrs = append(allErrs, field.Invalid(fldPath, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if len(group) > 0 {
		allErrs = append(allErrs, dnsSubdomain(group, fldPath.Child("apiGroup"))...)
	}
	return allErrs
}

// validatePersistentVolumeClaimUpdate validates a claim update: the spec is
// immutable except resources.requests and, once, volumeName.
func validatePersistentVolumeClaimUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	allErrs := validatePersistentVolumeClaim(pvc)
	newClone, oldClone := pvc.Spec.DeepCopy(), old.Spec.DeepCopy()
	if len(old.Spec.VolumeName) == 0 {
		oldClone.VolumeName = newClone.VolumeName
	}
	if newClone.StorageClassName != nil && oldClone.StorageClassName == nil {
		if a, ok := old.Annotations[corev1.BetaStorageClassAnnotation]; !ok || a == *newClone.StorageClassName {
			newClone.StorageClassName = nil
		}
	}
	if pvc.Status.Phase == corev1.ClaimBound && newClone.Resources.Requests != nil {
		newClone.Resources.Requests[corev1.ResourceStorage] = old.Spec.Resources.Requests[corev1.ResourceStorage]
	}
	if pvc.Status.Phase == corev1.ClaimBound && newClone.VolumeAttributesClassName != nil {
		newClone.VolumeAttributesClassName = oldClone.VolumeAttributesClassName
	}
	if !apiequality.Semantic.DeepEqual(*newClone, *oldClone) {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec"), fmt.Sprintf("spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n%v", cmp.Diff(*oldClone, *newClone))))
	}
	oldSize := old.Spec.Resources.Requests[corev1.ResourceStorage]
	newSize := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	statusSize := old.Status.Capacity[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 && newSize.Cmp(statusSize) <= 0 {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
	}
	return append(allErrs, immutable(pvc.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
}

// validateResourceQuota validates a quota's spec and status.
func validateResourceQuota(rq *corev1.ResourceQuota) field.ErrorList {
	allErrs := resourceQuotaSpec(&rq.Spec, field.NewPath("spec"))
	return append(allErrs, validateResourceQuotaStatus(&rq.Status, field.NewPath("status"))...)
}

// validateResourceQuotaStatus validates the names and quantities of a quota's status.
func validateResourceQuotaStatus(status *corev1.ResourceQuotaStatus, fldPath *field.Path) field.ErrorList {
	allErrs := quotaList(status.Hard, fldPath.Child("hard"))
	return append(allErrs, quotaList(status.Used, fldPath.Child("used"))...)
}

// quotaList validates the names and quantities of a quota resource list.
func quotaList(list corev1.ResourceList, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, k := range sortedResourceNames(list) {
		p := fldPath.Key(string(k))
		allErrs = append(allErrs, quotaResourceName(k, p)...)
		allErrs = append(allErrs, resourceQuantityValue(k, list[k], p)...)
	}
	return allErrs
}

// standardQuotaScopes are the scopes a quota may use.
var standardQuotaScopes = sets.New(corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
	corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopePriorityClass,
	corev1.ResourceQuotaScopeCrossNamespacePodAffinity, corev1.ResourceQuotaScopeVolumeAttributesClass)

// scopeValidForResource reports whether a quota scope applies to a resource.
func scopeValidForResource(scope corev1.ResourceQuotaScope, r corev1.ResourceName) bool {
	pods := r == corev1.ResourcePods
	compute := sets.New(corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
		corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory).Has(r)
	switch scope {
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return pods || compute
	case corev1.ResourceQuotaScopeBestEffort:
		return pods
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		return r == corev1.ResourcePersistentVolumeClaims || r == corev1.ResourceRequestsStorage
	}
	return true
}

// resourceQuotaSpec validates a quota's hard limits, scopes and scope selector.
func resourceQuotaSpec(spec *corev1.ResourceQuotaSpec, fldPath *field.Path) field.ErrorList {
	allErrs := quotaList(spec.Hard, fldPath.Child("hard"))
	hard := sortedResourceNames(spec.Hard)
	conflicting := func(scopes sets.Set[corev1.ResourceQuotaScope]) bool {
		return scopes.HasAll(corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort) ||
			scopes.HasAll(corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating)
	}
	if len(spec.Scopes) > 0 {
		p := fldPath.Child("scopes")
		seen := sets.New[corev1.ResourceQuotaScope]()
		for _, scope := range spec.Scopes {
			if !standardQuotaScopes.Has(scope) {
				allErrs = append(allErrs, field.Invalid(p, spec.Scopes, "unsupported scope"))
			}
			for _, k := range hard {
				if standardQuotaResources.Has(k) && !scopeValidForResource(scope, k) {
					allErrs = append(allErrs, field.Invalid(p, spec.Scopes, "unsupported scope applied to resource"))
				}
			}
			seen.Insert(scope)
		}
		if conflicting(seen) {
			allErrs = append(allErrs, field.Invalid(p, spec.Scopes, "conflicting scopes"))
		}
	}
	if spec.ScopeSelector != nil {
		p := fldPath.Child("scopeSelector").Child("matchExpressions")
		seen := sets.New[corev1.ResourceQuotaScope]()
		for _, req := range spec.ScopeSelector.MatchExpressions {
			if !standardQuotaScopes.Has(req.ScopeName) {
				allErrs = append(allErrs, field.Invalid(p.Child("scopeName"), req.ScopeName, "unsupported scope"))
			}
			for _, k := range hard {
				if standardQuotaResources.Has(k) && !scopeValidForResource(req.ScopeName, k) {
					allErrs = append(allErrs, field.Invalid(p, spec.ScopeSelector, "unsupported scope applied to resource"))
				}
			}
			switch req.ScopeName {
			case corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopeTerminating,
				corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
				if req.Operator != corev1.ScopeSelectorOpExists {
					allErrs = append(allErrs, field.Invalid(p.Child("operator"), req.Operator,
						"must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"))
				}
			}
			switch req.Operator {
			case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
				if len(req.Values) == 0 {
					allErrs = append(allErrs, field.Required(p.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
				}
			case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
				if len(req.Values) != 0 {
					allErrs = append(allErrs, field.Invalid(p.Child("values"), req.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
				}
			default:
				allErrs = append(allErrs, field.Invalid(p.Child("operator"), req.Operator, "not a valid selector operator"))
			}
			seen.Insert(req.ScopeName)
		}
		if conflicting(seen) {
			allErrs = append(allErrs, field.Invalid(p, spec.Scopes, "conflicting scopes"))
		}
	}
	return allErrs
}

// validateResourceQuotaUpdate validates a quota update: scopes are immutable.
func validateResourceQuotaUpdate(rq, old *corev1.ResourceQuota) field.ErrorList {
	allErrs := resourceQuotaSpec(&rq.Spec, field.NewPath("spec"))
	o, n := sets.New[corev1.ResourceQuotaScope](old.Spec.Scopes...), sets.New[corev1.ResourceQuotaScope](rq.Spec.Scopes...)
	if !o.Equal(n) {
		allErrs = append(allErrs, field.Invalid(field.NewPath("spec", "scopes"), rq.Spec.Scopes, fieldImmutableMsg))
	}
	return allErrs
}

// limitRangeResourceName validates a resource name for a limit type.
func limitRangeResourceName(t corev1.LimitType, name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	if t == corev1.LimitTypePod || t == corev1.LimitTypeContainer {
		return containerResourceName(name, fldPath)
	}
	return resourceName(name, fldPath)
}

// validateLimitRange validates a limit range: types, resource names, and the
// ordering of min, default request, default and max.
func validateLimitRange(lr *corev1.LimitRange) field.ErrorList {
	var allErrs field.ErrorList
	types := map[corev1.LimitType]bool{}
	fldPath := field.NewPath("spec", "limits")
	for i := range lr.Spec.Limits {
		p := fldPath.Index(i)
		limit := &lr.Spec.Limits[i]
		var typeErrs field.ErrorList
		for _, msg := range validation.IsQualifiedName(string(limit.Type)) {
			typeErrs = append(typeErrs, field.Invalid(p.Child("type"), limit.Type, msg))
		}
		if len(typeErrs) == 0 && !strings.Contains(string(limit.Type), "/") && !standardLimitTypes.Has(limit.Type) {
			typeErrs = append(typeErrs, field.Invalid(p.Child("type"), limit.Type, "must be a standard limit type or fully qualified"))
		}
		allErrs = append(allErrs, typeErrs...)
		if types[limit.Type] {
			allErrs = append(allErrs, field.Duplicate(p.Child("type"), limit.Type))
		}
		types[limit.Type] = true

		keys := sets.New[string]()
		collect := func(list corev1.ResourceList, name string) map[string]resource.Quantity {
			m := map[string]resource.Quantity{}
			for _, k := range sortedResourceNames(list) {
				allErrs = append(allErrs, limitRangeResourceName(limit.Type, k, p.Child(name).Key(string(k)))...)
				keys.Insert(string(k))
				m[string(k)] = list[k]
			}
			return m
		}
		maxQ := collect(limit.Max, "max")
		minQ := collect(limit.Min, "min")
		defaults, defaultRequests := map[string]resource.Quantity{}, map[string]resource.Quantity{}
		if limit.Type == corev1.LimitTypePod {
			if len(limit.Default) > 0 {
				allErrs = append(allErrs, field.Forbidden(p.Child("default"), "may not be specified when `type` is 'Pod'"))
			}
			if len(limit.DefaultRequest) > 0 {
				allErrs = append(allErrs, field.Forbidden(p.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
			}
		} else {
			defaults = collect(limit.Default, "default")
			defaultRequests = collect(limit.DefaultRequest, "defaultRequest")
		}
		if limit.Type == corev1.LimitTypePersistentVolumeClaim {
			_, minFound := limit.Min[corev1.ResourceStorage]
			_, maxFound := limit.Max[corev1.ResourceStorage]
			if !minFound && !maxFound {
				allErrs = append(allErrs, field.Required(p.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
			}
		}
		ratios := collect(limit.MaxLimitRequestRatio, "maxLimitRequestRatio")
		for _, k := range sets.List(keys) {
			minV, minOK := minQ[k]
			maxV, maxOK := maxQ[k]
			defV, defOK := defaults[k]
			reqV, reqOK := defaultRequests[k]
			ratio, ratioOK := ratios[k]
			if minOK && maxOK && minV.Cmp(maxV) > 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("min").Key(k), minV, fmt.Sprintf("min value %s is greater than max value %s", minV.String(), maxV.String())))
			}
			if reqOK && minOK && minV.Cmp(reqV) > 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("defaultRequest").Key(k), reqV, fmt.Sprintf("min value %s is greater than default request value %s", minV.String(), reqV.String())))
			}
			if reqOK && maxOK && reqV.Cmp(maxV) > 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("defaultRequest").Key(k), reqV, fmt.Sprintf("default request value %s is greater than max value %s", reqV.String(), maxV.String())))
			}
			if reqOK && defOK && reqV.Cmp(defV) > 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("defaultRequest").Key(k), reqV, fmt.Sprintf("default request value %s is greater than default limit value %s", reqV.String(), defV.String())))
			}
			if defOK && minOK && minV.Cmp(defV) > 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("default").Key(k), minV, fmt.Sprintf("min value %s is greater than default value %s", minV.String(), defV.String())))
			}
			if defOK && maxOK && defV.Cmp(maxV) > 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("default").Key(k), maxV, fmt.Sprintf("default value %s is greater than max value %s", defV.String(), maxV.String())))
			}
			if ratioOK && ratio.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("maxLimitRequestRatio").Key(k), ratio, fmt.Sprintf("ratio %s is less than 1", ratio.String())))
			}
			if ratioOK && minOK && maxOK {
				rv := float64(ratio.Value())
				mn, mx := minV.Value(), maxV.Value()
				if ratio.Value() < resource.MaxMilliValue && mn < resource.MaxMilliValue && mx < resource.MaxMilliValue {
					rv = float64(ratio.MilliValue()) / 1000
					mn, mx = minV.MilliValue(), maxV.MilliValue()
				}
				limitRatio := float64(mx) / float64(mn)
				if rv > limitRatio {
					allErrs = append(allErrs, field.Invalid(p.Child("maxLimitRequestRatio").Key(k), ratio, fmt.Sprintf("ratio %s is greater than max/min = %f", ratio.String(), limitRatio)))
				}
			}
			if !isOvercommitAllowed(corev1.ResourceName(k)) && defOK && reqOK && defV.Cmp(reqV) != 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("defaultRequest").Key(k), reqV, fmt.Sprintf("default value %s must equal to defaultRequest value %s in %s", defV.String(), reqV.String(), k)))
			}
		}
	}
	return allErrs
}

// validatePodTemplate validates the template of a PodTemplate object.
func validatePodTemplate(pt *corev1.PodTemplate) field.ErrorList {
	return validatePodTemplateSpec(&pt.Template, field.NewPath("template"))
}

// validateReplicationController validates a replication controller's spec.
func validateReplicationController(rc *corev1.ReplicationController) field.ErrorList {
	fldPath := field.NewPath("spec")
	spec := &rc.Spec
	allErrs := nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))
	if labels.Set(spec.Selector).AsSelector().Empty() {
		allErrs = append(allErrs, field.Required(fldPath.Child("selector"), ""))
	}
	var replicas int32
	if spec.Replicas != nil {
		replicas = *spec.Replicas
	}
	allErrs = append(allErrs, nonNegative(int64(replicas), fldPath.Child("replicas"))...)
	tp := fldPath.Child("template")
	if spec.Template == nil {
		return append(allErrs, field.Required(tp, ""))
	}
	selector := labels.Set(spec.Selector).AsSelector()
	if !selector.Empty() && !selector.Matches(labels.Set(spec.Template.Labels)) {
		allErrs = append(allErrs, field.Invalid(tp.Child("metadata", "labels"), spec.Template.Labels, selectorMismatchMsg))
	}
	allErrs = append(allErrs, validatePodTemplateSpec(spec.Template, tp)...)
	if spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		allErrs = append(allErrs, field.NotSupported(tp.Child("spec", "restartPolicy"), spec.Template.Spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if spec.Template.Spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return allErrs
}

// validateReplicaCounts validates the replica counters of an RC or
// ReplicaSet status.
func validateReplicaCounts(replicas, fullyLabeled, ready, available int32, observedGeneration int64, fldPath *field.Path) field.ErrorList {
	allErrs := nonNegative(int64(replicas), fldPath.Child("replicas"))
	allErrs = append(allErrs, nonNegative(int64(fullyLabeled), fldPath.Child("fullyLabeledReplicas"))...)
	allErrs = append(allErrs, nonNegative(int64(ready), fldPath.Child("readyReplicas"))...)
	allErrs = append(allErrs, nonNegative(int64(available), fldPath.Child("availableReplicas"))...)
	allErrs = append(allErrs, nonNegative(observedGeneration, fldPath.Child("observedGeneration"))...)
	const msg = "cannot be greater than status.replicas"
	if fullyLabeled > replicas {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("fullyLabeledReplicas"), fullyLabeled, msg))
	}
	if ready > replicas {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("readyReplicas"), ready, msg))
	}
	if available > replicas {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("availableReplicas"), available, msg))
	}
	if available > ready {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("availableReplicas"), available, "cannot be greater than readyReplicas"))
	}
	return allErrs
}
