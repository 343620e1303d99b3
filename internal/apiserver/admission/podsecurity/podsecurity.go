// Package podsecurity is the PodSecurity admission plugin: it applies the Pod Security Standards
// (privileged, baseline, restricted) that a namespace's pod-security.kubernetes.io/enforce, audit
// and warn labels select, with upstream's checks (k8s.io/pod-security-admission/policy) and
// upstream's words:
//
//   - enforce refuses a pod that violates the level: `pods "x" is forbidden: violates
//     PodSecurity "restricted:latest": privileged (container "c" must not set ...)`;
//   - warn returns `would violate PodSecurity "baseline:latest": ...` as a warning, for pods and
//     for the templates of workload resources;
//   - audit records the violation as the audit annotation
//     pod-security.kubernetes.io/audit-violations.
//
// Labels a namespace lacks take the cluster defaults (Defaults). A namespace whose labels name an
// unknown level or version is refused on create, and on update when the labels change. Raising a
// namespace's enforce level warns about the existing pods that would violate it.
package podsecurity

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/skiff-project/skiff/internal/registry"
)

// annotationPrefix starts the audit annotations the plugin records, as upstream's in-tree plugin.
const annotationPrefix = "pod-security.kubernetes.io/"

// maxPodsToCheck bounds the existing pods evaluated when a namespace's enforce level rises.
const maxPodsToCheck = 3000

// Plugin is the PodSecurity admission plugin. Only Validate does work.
type Plugin struct {
	// Defaults is the policy for labels a namespace does not set.
	Defaults api.Policy
	// Namespace reads a namespace.
	Namespace func(ctx context.Context, name string) (*corev1.Namespace, error)
	// Pods lists a namespace's pods (for the warnings when an enforce level rises).
	Pods func(ctx context.Context, namespace string) ([]*corev1.Pod, error)
	// ExemptUsers, ExemptNamespaces and ExemptRuntimeClasses are never checked.
	ExemptUsers, ExemptNamespaces, ExemptRuntimeClasses []string

	evaluator policy.Evaluator
}

// DefaultPolicy is skiff's cluster default: enforce at enforce (privileged unless configured),
// warn and audit at baseline, all at the latest version.
func DefaultPolicy(enforce api.Level) api.Policy {
	latest := api.LatestVersion()
	return api.Policy{
		Enforce: api.LevelVersion{Level: enforce, Version: latest},
		Warn:    api.LevelVersion{Level: api.LevelBaseline, Version: latest},
		Audit:   api.LevelVersion{Level: api.LevelBaseline, Version: latest},
	}
}

// New returns the plugin with upstream's checks.
func New(p Plugin) (*Plugin, error) {
	ev, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, err
	}
	p.evaluator = ev
	return &p, nil
}

// Admit does nothing: PodSecurity only validates.
func (p *Plugin) Admit(context.Context, *registry.AdmissionAttributes) error { return nil }

// ignoredPodSubresources are pod subresources that cannot change what the policy checks.
var ignoredPodSubresources = map[string]bool{
	"exec": true, "attach": true, "binding": true, "eviction": true, "log": true,
	"portforward": true, "proxy": true, "status": true,
}

// Validate checks pods (enforce, warn, audit), workload templates (warn, audit) and namespace
// labels.
func (p *Plugin) Validate(ctx context.Context, a *registry.AdmissionAttributes) error {
	if a.Operation != registry.OperationCreate && a.Operation != registry.OperationUpdate {
		return nil
	}
	gr := a.Resource.GroupResource()
	switch {
	case gr.Group == "" && gr.Resource == "namespaces":
		if a.Subresource != "" {
			return nil
		}
		return p.validateNamespace(ctx, a)
	case gr.Group == "" && gr.Resource == "pods":
		if ignoredPodSubresources[a.Subresource] {
			return nil
		}
		pod, ok := a.Object.(*corev1.Pod)
		if !ok {
			return nil
		}
		if a.Operation == registry.OperationUpdate {
			if old, ok := a.OldObject.(*corev1.Pod); ok && !significantPodUpdate(pod, old) {
				return nil
			}
		}
		return p.evaluate(ctx, a, &pod.ObjectMeta, &pod.Spec, true)
	default:
		if a.Subresource != "" {
			return nil
		}
		meta, spec := podTemplate(a.Object)
		if spec == nil {
			return nil
		}
		return p.evaluate(ctx, a, meta, spec, false)
	}
}

// podTemplate returns the pod metadata and spec a workload object carries, or nils.
func podTemplate(obj runtime.Object) (*metav1.ObjectMeta, *corev1.PodSpec) {
	var t *corev1.PodTemplateSpec
	switch o := obj.(type) {
	case *corev1.PodTemplate:
		t = &o.Template
	case *corev1.ReplicationController:
		t = o.Spec.Template
	case *appsv1.ReplicaSet:
		t = &o.Spec.Template
	case *appsv1.Deployment:
		t = &o.Spec.Template
	case *appsv1.DaemonSet:
		t = &o.Spec.Template
	case *appsv1.StatefulSet:
		t = &o.Spec.Template
	case *batchv1.Job:
		t = &o.Spec.Template
	case *batchv1.CronJob:
		t = &o.Spec.JobTemplate.Spec.Template
	}
	if t == nil {
		return nil, nil
	}
	return &t.ObjectMeta, &t.Spec
}

// evaluate applies the namespace's policy to a pod (enforce) or a pod template (!enforce).
func (p *Plugin) evaluate(ctx context.Context, a *registry.AdmissionAttributes, meta *metav1.ObjectMeta, spec *corev1.PodSpec, enforce bool) error {
	if a.Namespace != "" && slices.Contains(p.ExemptNamespaces, a.Namespace) {
		registry.AnnotateAudit(ctx, annotationPrefix+api.ExemptionReasonAnnotationKey, "namespace")
		return nil
	}
	if a.User.Name != "" && slices.Contains(p.ExemptUsers, a.User.Name) {
		registry.AnnotateAudit(ctx, annotationPrefix+api.ExemptionReasonAnnotationKey, "user")
		return nil
	}
	if spec.RuntimeClassName != nil && slices.Contains(p.ExemptRuntimeClasses, *spec.RuntimeClassName) {
		registry.AnnotateAudit(ctx, annotationPrefix+api.ExemptionReasonAnnotationKey, "runtimeClass")
		return nil
	}
	ns, err := p.Namespace(ctx, a.Namespace)
	if err != nil {
		if !enforce {
			registry.AnnotateAudit(ctx, annotationPrefix+"error", fmt.Sprintf("failed to lookup namespace %q: %v", a.Namespace, err))
			return nil
		}
		return apierrors.NewInternalError(fmt.Errorf("failed to lookup namespace %q", a.Namespace))
	}
	pol, errs := api.PolicyToEvaluate(ns.Labels, p.Defaults)
	if len(errs) > 0 {
		registry.AnnotateAudit(ctx, annotationPrefix+"error", fmt.Sprintf("Failed to parse policy: %v", errs.ToAggregate()))
	}
	if enforce && len(errs) == 0 && pol.FullyPrivileged() {
		registry.AnnotateAudit(ctx, annotationPrefix+api.EnforcedPolicyAnnotationKey, pol.Enforce.String())
		return nil
	}
	if !enforce && len(errs) == 0 && pol.Warn.Level == api.LevelPrivileged && pol.Audit.Level == api.LevelPrivileged {
		return nil
	}
	results := map[api.LevelVersion]policy.AggregateCheckResult{}
	check := func(lv api.LevelVersion) policy.AggregateCheckResult {
		if r, ok := results[lv]; ok {
			return r
		}
		r := policy.AggregateCheckResults(p.evaluator.EvaluatePod(lv, meta, spec))
		results[lv] = r
		return r
	}
	if enforce {
		registry.AnnotateAudit(ctx, annotationPrefix+api.EnforcedPolicyAnnotationKey, pol.Enforce.String())
		if r := check(pol.Enforce); !r.Allowed {
			if r := check(pol.Audit); !r.Allowed {
				registry.AnnotateAudit(ctx, annotationPrefix+api.AuditViolationsAnnotationKey,
					fmt.Sprintf("would violate PodSecurity %q: %s", pol.Audit.String(), r.ForbiddenDetail()))
			}
			return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name,
				fmt.Errorf("violates PodSecurity %q: %s", pol.Enforce.String(), r.ForbiddenDetail()))
		}
	}
	if r := check(pol.Audit); !r.Allowed {
		registry.AnnotateAudit(ctx, annotationPrefix+api.AuditViolationsAnnotationKey,
			fmt.Sprintf("would violate PodSecurity %q: %s", pol.Audit.String(), r.ForbiddenDetail()))
	}
	if r := check(pol.Warn); !r.Allowed {
		registry.Warn(ctx, fmt.Sprintf("would violate PodSecurity %q: %s", pol.Warn.String(), r.ForbiddenDetail()))
	}
	return nil
}

// validateNamespace refuses invalid policy labels and warns about existing pods that violate a
// raised enforce level.
func (p *Plugin) validateNamespace(ctx context.Context, a *registry.AdmissionAttributes) error {
	ns, ok := a.Object.(*corev1.Namespace)
	if !ok {
		return nil
	}
	newPol, newErrs := api.PolicyToEvaluate(ns.Labels, p.Defaults)
	if a.Operation == registry.OperationCreate {
		if len(newErrs) > 0 {
			return apierrors.NewInvalid(a.Resource.GVK.GroupKind(), ns.Name, newErrs)
		}
		return nil
	}
	old, ok := a.OldObject.(*corev1.Namespace)
	if !ok {
		return nil
	}
	oldPol, oldErrs := api.PolicyToEvaluate(old.Labels, p.Defaults)
	if len(newErrs) > 0 && (len(oldErrs) == 0 || !reflect.DeepEqual(newErrs, oldErrs)) {
		return apierrors.NewInvalid(a.Resource.GVK.GroupKind(), ns.Name, newErrs)
	}
	if newPol.Enforce == oldPol.Enforce || newPol.Enforce.Level == api.LevelPrivileged ||
		(newPol.Enforce.Version == oldPol.Enforce.Version && api.CompareLevels(newPol.Enforce.Level, oldPol.Enforce.Level) < 1) ||
		slices.Contains(p.ExemptNamespaces, ns.Name) || p.Pods == nil {
		return nil
	}
	pods, err := p.Pods(ctx, ns.Name)
	if err != nil {
		registry.Warn(ctx, "failed to list pods while checking new PodSecurity enforce level")
		return nil
	}
	for _, w := range p.existingPodWarnings(ns.Name, newPol.Enforce, pods) {
		registry.Warn(ctx, w)
	}
	return nil
}

// existingPodWarnings evaluates pods against enforce as upstream does: one warning per distinct
// violation, naming the lexically first pod and how many others share it.
func (p *Plugin) existingPodWarnings(namespace string, enforce api.LevelVersion, pods []*corev1.Pod) []string {
	type count struct {
		name string
		n    int
	}
	total := len(pods)
	if len(pods) > maxPodsToCheck {
		pods = pods[:maxPodsToCheck]
	}
	counts := map[string]*count{}
	var reasons []string
	for _, pod := range pods {
		r := policy.AggregateCheckResults(p.evaluator.EvaluatePod(enforce, &pod.ObjectMeta, &pod.Spec))
		if r.Allowed {
			continue
		}
		w := r.ForbiddenReason()
		c, seen := counts[w]
		if !seen {
			c = &count{name: pod.Name}
			counts[w] = c
			reasons = append(reasons, w)
		} else if pod.Name < c.name {
			c.name = pod.Name
		}
		c.n++
	}
	var out []string
	if len(pods) < total {
		out = append(out, fmt.Sprintf("new PodSecurity enforce level only checked against the first %d of %d existing pods", len(pods), total))
	}
	if len(reasons) > 0 {
		out = append(out, fmt.Sprintf("existing pods in namespace %q violate the new PodSecurity enforce level %q", namespace, enforce.String()))
	}
	decorated := make([]string, 0, len(reasons))
	for _, w := range reasons {
		c := counts[w]
		switch c.n {
		case 1:
			decorated = append(decorated, fmt.Sprintf("%s: %s", c.name, w))
		case 2:
			decorated = append(decorated, fmt.Sprintf("%s (and 1 other pod): %s", c.name, w))
		default:
			decorated = append(decorated, fmt.Sprintf("%s (and %d other pods): %s", c.name, c.n-1, w))
		}
	}
	sort.Strings(decorated)
	return append(out, decorated...)
}

// significantPodUpdate reports whether an update can change the policy's verdict: only
// containers added or removed, or their images changed, as upstream.
func significantPodUpdate(pod, old *corev1.Pod) bool {
	if len(pod.Spec.Containers) != len(old.Spec.Containers) || len(pod.Spec.InitContainers) != len(old.Spec.InitContainers) {
		return true
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Image != old.Spec.Containers[i].Image {
			return true
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Image != old.Spec.InitContainers[i].Image {
			return true
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		var oc *corev1.EphemeralContainer
		for i := range old.Spec.EphemeralContainers {
			if old.Spec.EphemeralContainers[i].Name == c.Name {
				oc = &old.Spec.EphemeralContainers[i]
				break
			}
		}
		if oc == nil || oc.Image != c.Image {
			return true
		}
	}
	return false
}
