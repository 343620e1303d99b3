// Package quota measures what objects consume of a ResourceQuota, as upstream's quota
// evaluators do (pkg/quota/v1/evaluator/core): the ResourceQuota admission plugin charges a
// write's usage against every matching quota, and the ResourceQuota controller adds up the usage
// of everything in a namespace. Both use the same functions, so that they agree.
//
// Resources counted:
//   - every resource: count/<resource>[.<group>];
//   - pods: pods, cpu, memory, ephemeral-storage, requests.* and limits.* of those, and
//     requests.<extended resource>; pods in a terminal phase, or past their deletion grace
//     period, count only toward count/pods;
//   - services: services, services.nodeports, services.loadbalancers;
//   - persistentvolumeclaims: persistentvolumeclaims, requests.storage, and their
//     <class>.storageclass.storage.k8s.io/ forms;
//   - configmaps, secrets, replicationcontrollers, resourcequotas: their plain names.
//
// Scopes (spec.scopes and spec.scopeSelector) apply to pods: Terminating, NotTerminating,
// BestEffort, NotBestEffort and PriorityClass. A scoped quota matches no other kind.
package quota

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	helper "k8s.io/component-helpers/resource"
)

// storageClassSuffix names per-StorageClass PVC quotas.
const storageClassSuffix = ".storageclass.storage.k8s.io/"

// CountName is the object-count resource name of gr: count/pods, count/deployments.apps.
func CountName(gr schema.GroupResource) corev1.ResourceName {
	if gr.Group == "" {
		return corev1.ResourceName("count/" + gr.Resource)
	}
	return corev1.ResourceName("count/" + gr.Resource + "." + gr.Group)
}

// legacyCounts are the core resources that also count under their plain name.
var legacyCounts = map[string]corev1.ResourceName{
	"configmaps":             corev1.ResourceConfigMaps,
	"secrets":                corev1.ResourceSecrets,
	"replicationcontrollers": corev1.ResourceReplicationControllers,
	"resourcequotas":         corev1.ResourceQuotas,
	"services":               corev1.ResourceServices,
	"persistentvolumeclaims": corev1.ResourcePersistentVolumeClaims,
}

// computeResources are the pod resources a quota may name plainly or as requests.*/limits.*.
var computeResources = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage}

// Handles reports whether a quota naming resource name counts objects of gr.
func Handles(gr schema.GroupResource, name corev1.ResourceName) bool {
	if name == CountName(gr) {
		return true
	}
	if gr.Group != "" {
		return false
	}
	if legacyCounts[gr.Resource] == name {
		return true
	}
	n := string(name)
	switch gr.Resource {
	case "pods":
		return name == corev1.ResourcePods || name == corev1.ResourceCPU || name == corev1.ResourceMemory ||
			name == corev1.ResourceEphemeralStorage || strings.HasPrefix(n, "requests.") || strings.HasPrefix(n, "limits.")
	case "services":
		return name == corev1.ResourceServicesNodePorts || name == corev1.ResourceServicesLoadBalancers
	case "persistentvolumeclaims":
		return name == corev1.ResourceRequestsStorage || strings.Contains(n, storageClassSuffix)
	}
	return false
}

// Usage is what obj, of resource gr, consumes. now decides whether a pod being deleted still counts.
func Usage(gr schema.GroupResource, obj runtime.Object, now time.Time) corev1.ResourceList {
	one := *resource.NewQuantity(1, resource.DecimalSI)
	u := corev1.ResourceList{CountName(gr): one}
	if gr.Group != "" {
		return u
	}
	if n, ok := legacyCounts[gr.Resource]; ok {
		u[n] = one
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		if !Counts(o, now) {
			return u
		}
		addPod(u, o)
	case *corev1.Service:
		ports := int64(len(o.Spec.Ports))
		switch o.Spec.Type {
		case corev1.ServiceTypeNodePort:
			u[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
		case corev1.ServiceTypeLoadBalancer:
			u[corev1.ResourceServicesLoadBalancers] = one
			if o.Spec.AllocateLoadBalancerNodePorts == nil || *o.Spec.AllocateLoadBalancerNodePorts {
				u[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
			}
		}
	case *corev1.PersistentVolumeClaim:
		storage := o.Spec.Resources.Requests[corev1.ResourceStorage]
		u[corev1.ResourceRequestsStorage] = storage
		if sc := storageClassName(o); sc != "" {
			u[corev1.ResourceName(sc+storageClassSuffix+string(corev1.ResourcePersistentVolumeClaims))] = one
			u[corev1.ResourceName(sc+storageClassSuffix+string(corev1.ResourceRequestsStorage))] = storage
		}
	}
	return u
}

func storageClassName(pvc *corev1.PersistentVolumeClaim) string {
	if pvc.Spec.StorageClassName != nil {
		return *pvc.Spec.StorageClassName
	}
	return pvc.Annotations[corev1.BetaStorageClassAnnotation]
}

// Counts reports whether a pod's compute resources count against quota: not terminal, and not
// past the end of its deletion grace period.
func Counts(pod *corev1.Pod, now time.Time) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil {
		end := pod.DeletionTimestamp.Add(time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second)
		return !now.After(end)
	}
	return true
}

func addPod(u corev1.ResourceList, pod *corev1.Pod) {
	u[corev1.ResourcePods] = *resource.NewQuantity(1, resource.DecimalSI)
	requests := helper.PodRequests(pod, helper.PodResourcesOptions{})
	limits := helper.PodLimits(pod, helper.PodResourcesOptions{})
	for _, r := range computeResources {
		if q, ok := requests[r]; ok {
			u[r] = q
			u["requests."+r] = q
		}
		if q, ok := limits[r]; ok {
			u["limits."+r] = q
		}
	}
	for r, q := range requests {
		if strings.HasPrefix(string(r), corev1.ResourceHugePagesPrefix) || isExtended(r) {
			u["requests."+r] = q
		}
	}
	for r, q := range limits {
		if strings.HasPrefix(string(r), corev1.ResourceHugePagesPrefix) {
			u["limits."+r] = q
		}
	}
}

// isExtended reports whether r is an extended resource (a domain-prefixed name outside
// kubernetes.io).
func isExtended(r corev1.ResourceName) bool {
	n := string(r)
	return strings.Contains(n, "/") && !strings.HasPrefix(n, "requests.") && !strings.Contains(n, "kubernetes.io/")
}

// Constraints refuses a pod that a quota on resources cannot measure: one tracking cpu or
// memory requests or limits needs every container to state them, as upstream's
// "must specify limits.cpu for: app; requests.memory for: app".
func Constraints(resources []corev1.ResourceName, obj runtime.Object) error {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	tracked := sets.New(resources...)
	var missing []string
	check := func(name corev1.ResourceName, list func(c *corev1.Container) corev1.ResourceList, r corev1.ResourceName, cs []corev1.Container) {
		if !tracked.Has(name) {
			return
		}
		var names []string
		for i := range cs {
			if _, ok := list(&cs[i])[r]; !ok {
				names = append(names, cs[i].Name)
			}
		}
		if len(names) > 0 {
			missing = append(missing, fmt.Sprintf("%s for: %s", name, strings.Join(names, ",")))
		}
	}
	req := func(c *corev1.Container) corev1.ResourceList { return c.Resources.Requests }
	lim := func(c *corev1.Container) corev1.ResourceList { return c.Resources.Limits }
	all := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	if pod.Spec.Resources != nil {
		// Pod-level resources satisfy the constraints for every container.
		return nil
	}
	check(corev1.ResourceCPU, req, corev1.ResourceCPU, all)
	check(corev1.ResourceRequestsCPU, req, corev1.ResourceCPU, all)
	check(corev1.ResourceMemory, req, corev1.ResourceMemory, all)
	check(corev1.ResourceRequestsMemory, req, corev1.ResourceMemory, all)
	check(corev1.ResourceLimitsCPU, lim, corev1.ResourceCPU, all)
	check(corev1.ResourceLimitsMemory, lim, corev1.ResourceMemory, all)
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return fmt.Errorf("must specify %s", strings.Join(missing, "; "))
}

// Matches reports whether quota q counts obj of resource gr: q names a resource gr handles, and
// obj is in every scope q selects.
func Matches(q *corev1.ResourceQuota, gr schema.GroupResource, obj runtime.Object) bool {
	handled := false
	for name := range q.Status.Hard {
		if Handles(gr, name) {
			handled = true
			break
		}
	}
	if !handled {
		return false
	}
	selectors := scopeSelectors(q)
	if len(selectors) == 0 {
		return true
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return false
	}
	for _, s := range selectors {
		if !podInScope(pod, s) {
			return false
		}
	}
	return true
}

func scopeSelectors(q *corev1.ResourceQuota) []corev1.ScopedResourceSelectorRequirement {
	var out []corev1.ScopedResourceSelectorRequirement
	for _, s := range q.Spec.Scopes {
		out = append(out, corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists})
	}
	if q.Spec.ScopeSelector != nil {
		out = append(out, q.Spec.ScopeSelector.MatchExpressions...)
	}
	return out
}

func podInScope(pod *corev1.Pod, s corev1.ScopedResourceSelectorRequirement) bool {
	terminating := pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds >= 0
	switch s.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return terminating
	case corev1.ResourceQuotaScopeNotTerminating:
		return !terminating
	case corev1.ResourceQuotaScopeBestEffort:
		return bestEffort(pod)
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !bestEffort(pod)
	case corev1.ResourceQuotaScopePriorityClass:
		switch s.Operator {
		case corev1.ScopeSelectorOpExists:
			return pod.Spec.PriorityClassName != ""
		case corev1.ScopeSelectorOpDoesNotExist:
			return pod.Spec.PriorityClassName == ""
		case corev1.ScopeSelectorOpIn:
			return sets.New(s.Values...).Has(pod.Spec.PriorityClassName)
		case corev1.ScopeSelectorOpNotIn:
			return !sets.New(s.Values...).Has(pod.Spec.PriorityClassName)
		}
	}
	return false
}

func bestEffort(pod *corev1.Pod) bool {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if len(c.Resources.Requests) > 0 || len(c.Resources.Limits) > 0 {
				return false
			}
		}
	}
	return true
}

// Add returns a+b.
func Add(a, b corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, v := range a {
		out[k] = v.DeepCopy()
	}
	for k, v := range b {
		q := out[k]
		q.Add(v)
		out[k] = q
	}
	return out
}

// Subtract returns a-b, never below zero for a resource.
func Subtract(a, b corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, v := range a {
		q := v.DeepCopy()
		if s, ok := b[k]; ok {
			q.Sub(s)
			if q.Sign() < 0 {
				q = *resource.NewQuantity(0, q.Format)
			}
		}
		out[k] = q
	}
	return out
}

// Mask returns the entries of l named in names.
func Mask(l corev1.ResourceList, names []corev1.ResourceName) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, n := range names {
		if q, ok := l[n]; ok {
			out[n] = q
		}
	}
	return out
}

// RemoveZeros drops zero quantities.
func RemoveZeros(l corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, v := range l {
		if !v.IsZero() {
			out[k] = v
		}
	}
	return out
}

// Names returns l's resource names, sorted.
func Names(l corev1.ResourceList) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(l))
	for k := range l {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Exceeded returns the names in used whose value is above hard.
func Exceeded(used, hard corev1.ResourceList) []corev1.ResourceName {
	var out []corev1.ResourceName
	for _, k := range Names(used) {
		u := used[k]
		if h, ok := hard[k]; ok && u.Cmp(h) > 0 {
			out = append(out, k)
		}
	}
	return out
}

// Format prints l as upstream's quota errors do: sorted name=value pairs joined by commas.
func Format(l corev1.ResourceList) string {
	parts := make([]string, 0, len(l))
	for _, k := range Names(l) {
		v := l[k]
		parts = append(parts, string(k)+"="+v.String())
	}
	return strings.Join(parts, ",")
}

// Equal reports whether a and b hold the same quantities.
func Equal(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}
