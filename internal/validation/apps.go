package validation

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Upstream reports some invalid structs by value; its internal types have
// no JSON tags, so their Go field names show in the message. These mirror
// those internal shapes so that the messages read the same.
type (
	internalRollingUpdate struct {
		MaxUnavailable intstr.IntOrString
		MaxSurge       intstr.IntOrString
	}
	internalDeploymentStrategy struct {
		Type          appsv1.DeploymentStrategyType
		RollingUpdate *internalRollingUpdate
	}
	internalDaemonSetUpdateStrategy struct {
		Type          appsv1.DaemonSetUpdateStrategyType
		RollingUpdate *internalRollingUpdate
	}
	internalStatefulSetRollingUpdate struct {
		Partition      int32
		MaxUnavailable *intstr.IntOrString
	}
	internalStatefulSetUpdateStrategy struct {
		Type          appsv1.StatefulSetUpdateStrategyType
		RollingUpdate *internalStatefulSetRollingUpdate
	}
)

// intOrZero returns *v, or the zero int that a nil converts to upstream.
func intOrZero(v *intstr.IntOrString) intstr.IntOrString {
	if v == nil {
		return intstr.FromInt32(0)
	}
	return *v
}

// int32OrZero returns *v, or 0 for nil.
func int32OrZero(v *int32) int32 {
	if v == nil {
		return 0
	}
	return *v
}

// positiveIntOrPercent validates a non-negative int or a percentage.
func positiveIntOrPercent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	switch v.Type {
	case intstr.String:
		var allErrs field.ErrorList
		for _, msg := range validation.IsValidPercent(v.StrVal) {
			allErrs = append(allErrs, field.Invalid(fldPath, v, msg))
		}
		return allErrs
	case intstr.Int:
		return nonNegative(int64(v.IntValue()), fldPath)
	default:
		return field.ErrorList{field.Invalid(fldPath, v, "must be an integer or percentage (e.g '5%%')")}
	}
}

// percentValue returns the value of a valid percentage string.
func percentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(validation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
	return n, true
}

// intOrPercentValue returns the number of an int or percentage.
func intOrPercentValue(v intstr.IntOrString) int {
	if n, ok := percentValue(v); ok {
		return n
	}
	return v.IntValue()
}

// notMoreThan100Percent rejects percentages above 100%.
func notMoreThan100Percent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	if n, ok := percentValue(v); ok && n > 100 {
		return field.ErrorList{field.Invalid(fldPath, v, "must not be greater than 100%")}
	}
	return nil
}

// workloadSelector validates a required, non-empty selector of kind.
func workloadSelector(sel *metav1.LabelSelector, kind string, fldPath *field.Path) field.ErrorList {
	if sel == nil {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	allErrs := labelSelector(sel, fldPath)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, sel, "empty selector is invalid for "+kind))
	}
	return allErrs
}

// templateForReplicaSet validates a pod template against its selector, with
// restartPolicy Always and no activeDeadlineSeconds. kind names the owner.
func templateForReplicaSet(t *corev1.PodTemplateSpec, selector labels.Selector, kind string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if !selector.Empty() && !selector.Matches(labels.Set(t.Labels)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("metadata", "labels"), t.Labels, selectorMismatchMsg))
	}
	allErrs = append(allErrs, validatePodTemplateSpec(t, fldPath)...)
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("spec", "activeDeadlineSeconds"), fmt.Sprintf("activeDeadlineSeconds in %s is not Supported", kind)))
	}
	return allErrs
}

// validateDeployment validates a deployment's spec.
func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	return deploymentSpec(&d.Spec, field.NewPath("spec"))
}

// deploymentSpec validates a deployment spec (upstream's ValidateDeploymentSpec).
func deploymentSpec(spec *appsv1.DeploymentSpec, fldPath *field.Path) field.ErrorList {
	replicas := int32OrZero(spec.Replicas)
	allErrs := nonNegative(int64(replicas), fldPath.Child("replicas"))
	allErrs = append(allErrs, workloadSelector(spec.Selector, "deployment", fldPath.Child("selector"))...)
	selector, err := metav1.LabelSelectorAsSelector(spec.Selector)
	if err != nil {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("selector"), spec.Selector, "invalid label selector"))
	} else {
		allErrs = append(allErrs, templateForReplicaSet(&spec.Template, selector, "ReplicaSet", fldPath.Child("template"))...)
	}
	allErrs = append(allErrs, deploymentStrategy(&spec.Strategy, fldPath.Child("strategy"))...)
	allErrs = append(allErrs, nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		allErrs = append(allErrs, nonNegative(int64(*spec.RevisionHistoryLimit), fldPath.Child("revisionHistoryLimit"))...)
	}
	if spec.ProgressDeadlineSeconds != nil {
		allErrs = append(allErrs, nonNegative(int64(*spec.ProgressDeadlineSeconds), fldPath.Child("progressDeadlineSeconds"))...)
		if *spec.ProgressDeadlineSeconds <= spec.MinReadySeconds {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("progressDeadlineSeconds"), spec.ProgressDeadlineSeconds, "must be greater than minReadySeconds"))
		}
	}
	return allErrs
}

// deploymentStrategy validates a deployment's strategy type and rolling update.
func deploymentStrategy(s *appsv1.DeploymentStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(fldPath.Child("rollingUpdate"), "may not be specified when strategy `type` is '"+string(appsv1.RecreateDeploymentStrategyType)+"'")}
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		p := fldPath.Child("rollingUpdate")
		mu, ms := intOrZero(s.RollingUpdate.MaxUnavailable), intOrZero(s.RollingUpdate.MaxSurge)
		allErrs := positiveIntOrPercent(mu, p.Child("maxUnavailable"))
		allErrs = append(allErrs, positiveIntOrPercent(ms, p.Child("maxSurge"))...)
		if intOrPercentValue(mu) == 0 && intOrPercentValue(ms) == 0 {
			allErrs = append(allErrs, field.Invalid(p.Child("maxUnavailable"), mu, "may not be 0 when `maxSurge` is 0"))
		}
		return append(allErrs, notMoreThan100Percent(mu, p.Child("maxUnavailable"))...)
	default:
		bad := internalDeploymentStrategy{Type: s.Type}
		if s.RollingUpdate != nil {
			bad.RollingUpdate = &internalRollingUpdate{intOrZero(s.RollingUpdate.MaxUnavailable), intOrZero(s.RollingUpdate.MaxSurge)}
		}
		return field.ErrorList{field.NotSupported(fldPath, &bad, []string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)})}
	}
	return nil
}

// validateDeploymentUpdate validates a deployment update; the selector is
// immutable in apps/v1.
func validateDeploymentUpdate(d, old *appsv1.Deployment) field.ErrorList {
	allErrs := deploymentSpec(&d.Spec, field.NewPath("spec"))
	return append(allErrs, immutable(d.Spec.Selector, old.Spec.Selector, field.NewPath("spec").Child("selector"))...)
}

// validateDeploymentStatusUpdate validates a deployment's status counters.
func validateDeploymentStatusUpdate(d, old *appsv1.Deployment) field.ErrorList {
	p := field.NewPath("status")
	s := &d.Status
	allErrs := nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))
	allErrs = append(allErrs, nonNegative(int64(s.Replicas), p.Child("replicas"))...)
	allErrs = append(allErrs, nonNegative(int64(s.UpdatedReplicas), p.Child("updatedReplicas"))...)
	allErrs = append(allErrs, nonNegative(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	allErrs = append(allErrs, nonNegative(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	allErrs = append(allErrs, nonNegative(int64(s.UnavailableReplicas), p.Child("unavailableReplicas"))...)
	if s.CollisionCount != nil {
		allErrs = append(allErrs, nonNegative(int64(*s.CollisionCount), p.Child("collisionCount"))...)
	}
	const msg = "cannot be greater than status.replicas"
	if s.UpdatedReplicas > s.Replicas {
		allErrs = append(allErrs, field.Invalid(p.Child("updatedReplicas"), s.UpdatedReplicas, msg))
	}
	if s.ReadyReplicas > s.Replicas {
		allErrs = append(allErrs, field.Invalid(p.Child("readyReplicas"), s.ReadyReplicas, msg))
	}
	if s.AvailableReplicas > s.Replicas {
		allErrs = append(allErrs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, msg))
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		allErrs = append(allErrs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	if isDecremented(s.CollisionCount, old.Status.CollisionCount) {
		allErrs = append(allErrs, field.Invalid(p.Child("collisionCount"), int32OrZero(s.CollisionCount), "cannot be decremented"))
	}
	return allErrs
}

// validateReplicaSet validates a replica set's spec.
func validateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	return replicaSetSpec(&rs.Spec, field.NewPath("spec"))
}

// replicaSetSpec validates a replica set spec.
func replicaSetSpec(spec *appsv1.ReplicaSetSpec, fldPath *field.Path) field.ErrorList {
	allErrs := nonNegative(int64(int32OrZero(spec.Replicas)), fldPath.Child("replicas"))
	allErrs = append(allErrs, nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	allErrs = append(allErrs, workloadSelector(spec.Selector, "deployment", fldPath.Child("selector"))...)
	selector, err := metav1.LabelSelectorAsSelector(spec.Selector)
	if err != nil {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("selector"), spec.Selector, "invalid label selector"))
	} else {
		allErrs = append(allErrs, templateForReplicaSet(&spec.Template, selector, "ReplicaSet", fldPath.Child("template"))...)
	}
	return allErrs
}

// validateReplicaSetUpdate validates a replica set update; the selector is
// immutable in apps/v1.
func validateReplicaSetUpdate(rs, old *appsv1.ReplicaSet) field.ErrorList {
	allErrs := replicaSetSpec(&rs.Spec, field.NewPath("spec"))
	return append(allErrs, immutable(rs.Spec.Selector, old.Spec.Selector, field.NewPath("spec").Child("selector"))...)
}

// validateStatefulSet validates a stateful set's spec.
func validateStatefulSet(ss *appsv1.StatefulSet) field.ErrorList {
	return statefulSetSpec(&ss.Spec, field.NewPath("spec"))
}

// statefulSetSpec validates a stateful set spec. Like upstream, it checks the
// template's labels and annotations but not its pod spec.
func statefulSetSpec(spec *appsv1.StatefulSetSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	switch spec.PodManagementPolicy {
	case "":
		allErrs = append(allErrs, field.Required(fldPath.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		allErrs = append(allErrs, field.Invalid(fldPath.Child("podManagementPolicy"), spec.PodManagementPolicy, fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	us := spec.UpdateStrategy
	switch us.Type {
	case "":
		allErrs = append(allErrs, field.Required(fldPath.Child("updateStrategy"), ""))
	case appsv1.OnDeleteStatefulSetStrategyType:
		if us.RollingUpdate != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("updateStrategy").Child("rollingUpdate"), internalStatefulSetRU(us.RollingUpdate),
				fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType)))
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if ru := us.RollingUpdate; ru != nil {
			p := fldPath.Child("updateStrategy", "rollingUpdate")
			allErrs = append(allErrs, nonNegative(int64(int32OrZero(ru.Partition)), p.Child("partition"))...)
			if ru.MaxUnavailable != nil {
				mp := p.Child("maxUnavailable")
				allErrs = append(allErrs, positiveIntOrPercent(*ru.MaxUnavailable, mp)...)
				if intOrPercentValue(*ru.MaxUnavailable) == 0 {
					allErrs = append(allErrs, field.Invalid(mp, *ru.MaxUnavailable, "cannot be 0"))
				}
				allErrs = append(allErrs, notMoreThan100Percent(*ru.MaxUnavailable, mp)...)
			}
		}
	default:
		bad := internalStatefulSetUpdateStrategy{Type: us.Type, RollingUpdate: internalStatefulSetRU(us.RollingUpdate)}
		allErrs = append(allErrs, field.Invalid(fldPath.Child("updateStrategy"), bad,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType)))
	}
	if pol := spec.PersistentVolumeClaimRetentionPolicy; pol != nil {
		p := fldPath.Child("persistentVolumeClaimRetentionPolicy")
		valid := []string{string(appsv1.RetainPersistentVolumeClaimRetentionPolicyType), string(appsv1.DeletePersistentVolumeClaimRetentionPolicyType)}
		for _, v := range []struct {
			name  string
			value appsv1.PersistentVolumeClaimRetentionPolicyType
		}{{"whenDeleted", pol.WhenDeleted}, {"whenScaled", pol.WhenScaled}} {
			if v.value != appsv1.RetainPersistentVolumeClaimRetentionPolicyType && v.value != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
				allErrs = append(allErrs, field.NotSupported(p.Child(v.name), v.value, valid))
			}
		}
	}
	allErrs = append(allErrs, nonNegative(int64(int32OrZero(spec.Replicas)), fldPath.Child("replicas"))...)
	allErrs = append(allErrs, nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	if spec.Ordinals != nil {
		allErrs = append(allErrs, nonNegative(int64(spec.Ordinals.Start), fldPath.Child("ordinals.start"))...)
	}
	allErrs = append(allErrs, workloadSelector(spec.Selector, "statefulset", fldPath.Child("selector"))...)
	selector, err := metav1.LabelSelectorAsSelector(spec.Selector)
	if err != nil {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("selector"), spec.Selector, ""))
	} else {
		tp := fldPath.Child("template")
		t := &spec.Template
		if !selector.Empty() && !selector.Matches(labels.Set(t.Labels)) {
			allErrs = append(allErrs, field.Invalid(tp.Child("metadata", "labels"), t.Labels, selectorMismatchMsg))
		}
		allErrs = append(allErrs, metavalidation.ValidateLabels(t.Labels, tp.Child("labels"))...)
		allErrs = append(allErrs, validateAnnotations(t.Annotations, tp.Child("annotations"))...)
		allErrs = append(allErrs, podSpecificAnnotations(t.Annotations, &t.Spec, tp.Child("annotations"))...)
	}
	if spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("template", "spec", "restartPolicy"), spec.Template.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if spec.Template.Spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("template", "spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in StatefulSet is not Supported"))
	}
	return allErrs
}

// internalStatefulSetRU mirrors a rolling update strategy in internal shape.
func internalStatefulSetRU(ru *appsv1.RollingUpdateStatefulSetStrategy) *internalStatefulSetRollingUpdate {
	if ru == nil {
		return nil
	}
	return &internalStatefulSetRollingUpdate{Partition: int32OrZero(ru.Partition), MaxUnavailable: ru.MaxUnavailable}
}

// validateStatefulSetUpdate validates a stateful set update: only replicas,
// ordinals, template, updateStrategy, the retention policy and
// minReadySeconds may change.
func validateStatefulSetUpdate(ss, old *appsv1.StatefulSet) field.ErrorList {
	allErrs := statefulSetSpec(&ss.Spec, field.NewPath("spec"))
	clone := ss.Spec.DeepCopy()
	clone.Replicas = old.Spec.Replicas
	clone.Template = old.Spec.Template
	clone.UpdateStrategy = old.Spec.UpdateStrategy
	clone.MinReadySeconds = old.Spec.MinReadySeconds
	clone.Ordinals = old.Spec.Ordinals
	clone.PersistentVolumeClaimRetentionPolicy = old.Spec.PersistentVolumeClaimRetentionPolicy
	if !apiequality.Semantic.DeepEqual(*clone, old.Spec) {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec"), "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
	}
	return allErrs
}

// validateStatefulSetStatusUpdate validates a stateful set's status counters.
func validateStatefulSetStatusUpdate(ss, old *appsv1.StatefulSet) field.ErrorList {
	p := field.NewPath("status")
	s := &ss.Status
	allErrs := nonNegative(int64(s.Replicas), p.Child("replicas"))
	allErrs = append(allErrs, nonNegative(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	allErrs = append(allErrs, nonNegative(int64(s.CurrentReplicas), p.Child("currentReplicas"))...)
	allErrs = append(allErrs, nonNegative(int64(s.UpdatedReplicas), p.Child("updatedReplicas"))...)
	allErrs = append(allErrs, nonNegative(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	allErrs = append(allErrs, nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))...)
	if s.CollisionCount != nil {
		allErrs = append(allErrs, nonNegative(int64(*s.CollisionCount), p.Child("collisionCount"))...)
	}
	const msg = "cannot be greater than status.replicas"
	for _, c := range []struct {
		name string
		v    int32
	}{{"readyReplicas", s.ReadyReplicas}, {"currentReplicas", s.CurrentReplicas}, {"updatedReplicas", s.UpdatedReplicas}, {"availableReplicas", s.AvailableReplicas}} {
		if c.v > s.Replicas {
			allErrs = append(allErrs, field.Invalid(p.Child(c.name), c.v, msg))
		}
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		allErrs = append(allErrs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than status.readyReplicas"))
	}
	if isDecremented(s.CollisionCount, old.Status.CollisionCount) {
		allErrs = append(allErrs, field.Invalid(p.Child("collisionCount"), int32OrZero(s.CollisionCount), "cannot be decremented"))
	}
	return allErrs
}

// validateDaemonSet validates a daemon set's spec.
func validateDaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	return daemonSetSpec(&ds.Spec, field.NewPath("spec"))
}

// daemonSetSpec validates a daemon set spec.
func daemonSetSpec(spec *appsv1.DaemonSetSpec, fldPath *field.Path) field.ErrorList {
	allErrs := labelSelector(spec.Selector, fldPath.Child("selector"))
	selector, err := metav1.LabelSelectorAsSelector(spec.Selector)
	if err == nil && !selector.Matches(labels.Set(spec.Template.Labels)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, selectorMismatchMsg))
	}
	if spec.Selector != nil && len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("selector"), spec.Selector, "empty selector is invalid for daemonset"))
	}
	allErrs = append(allErrs, validatePodTemplateSpec(&spec.Template, fldPath.Child("template"))...)
	if spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("template", "spec", "restartPolicy"), spec.Template.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if spec.Template.Spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("template", "spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in DaemonSet is not Supported"))
	}
	allErrs = append(allErrs, nonNegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	allErrs = append(allErrs, daemonSetUpdateStrategy(&spec.UpdateStrategy, fldPath.Child("updateStrategy"))...)
	if spec.RevisionHistoryLimit != nil {
		allErrs = append(allErrs, nonNegative(int64(*spec.RevisionHistoryLimit), fldPath.Child("revisionHistoryLimit"))...)
	}
	return allErrs
}

// daemonSetUpdateStrategy validates a daemon set's update strategy.
func daemonSetUpdateStrategy(s *appsv1.DaemonSetUpdateStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "")}
		}
		p := fldPath.Child("rollingUpdate")
		mu, ms := intOrZero(s.RollingUpdate.MaxUnavailable), intOrZero(s.RollingUpdate.MaxSurge)
		allErrs := positiveIntOrPercent(mu, p.Child("maxUnavailable"))
		allErrs = append(allErrs, positiveIntOrPercent(ms, p.Child("maxSurge"))...)
		allErrs = append(allErrs, notMoreThan100Percent(mu, p.Child("maxUnavailable"))...)
		allErrs = append(allErrs, notMoreThan100Percent(ms, p.Child("maxSurge"))...)
		hasU, hasS := intOrPercentValue(mu) != 0, intOrPercentValue(ms) != 0
		switch {
		case hasU && hasS:
			allErrs = append(allErrs, field.Invalid(p.Child("maxSurge"), ms, "may not be set when maxUnavailable is non-zero"))
		case !hasU && !hasS:
			allErrs = append(allErrs, field.Required(p.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
		}
		return allErrs
	default:
		bad := internalDaemonSetUpdateStrategy{Type: s.Type}
		if s.RollingUpdate != nil {
			bad.RollingUpdate = &internalRollingUpdate{intOrZero(s.RollingUpdate.MaxUnavailable), intOrZero(s.RollingUpdate.MaxSurge)}
		}
		return field.ErrorList{field.NotSupported(fldPath, &bad, []string{string(appsv1.RollingUpdateDaemonSetStrategyType), string(appsv1.OnDeleteDaemonSetStrategyType)})}
	}
}

// validateDaemonSetUpdate validates a daemon set update; the selector is
// immutable in apps/v1.
func validateDaemonSetUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	allErrs := daemonSetSpec(&ds.Spec, field.NewPath("spec"))
	return append(allErrs, immutable(ds.Spec.Selector, old.Spec.Selector, field.NewPath("spec").Child("selector"))...)
}

// validateDaemonSetStatusUpdate validates a daemon set's status counters.
func validateDaemonSetStatusUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	p := field.NewPath("status")
	s := &ds.Status
	var allErrs field.ErrorList
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"currentNumberScheduled", int64(s.CurrentNumberScheduled)}, {"numberMisscheduled", int64(s.NumberMisscheduled)},
		{"desiredNumberScheduled", int64(s.DesiredNumberScheduled)}, {"numberReady", int64(s.NumberReady)},
		{"observedGeneration", s.ObservedGeneration}, {"updatedNumberScheduled", int64(s.UpdatedNumberScheduled)},
		{"numberAvailable", int64(s.NumberAvailable)}, {"numberUnavailable", int64(s.NumberUnavailable)},
	} {
		allErrs = append(allErrs, nonNegative(c.v, p.Child(c.name))...)
	}
	if s.CollisionCount != nil {
		allErrs = append(allErrs, nonNegative(int64(*s.CollisionCount), p.Child("collisionCount"))...)
	}
	if isDecremented(s.CollisionCount, old.Status.CollisionCount) {
		allErrs = append(allErrs, field.Invalid(p.Child("collisionCount"), int32OrZero(s.CollisionCount), "cannot be decremented"))
	}
	return allErrs
}

// validateControllerRevision validates a controller revision.
func validateControllerRevision(cr *appsv1.ControllerRevision) field.ErrorList {
	var allErrs field.ErrorList
	if cr.Data.Raw == nil && cr.Data.Object == nil {
		allErrs = append(allErrs, field.Required(field.NewPath("data"), "data is mandatory"))
	}
	return append(allErrs, nonNegative(cr.Revision, field.NewPath("revision"))...)
}

// validateControllerRevisionUpdate validates a controller revision update;
// its data is immutable.
func validateControllerRevisionUpdate(cr, old *appsv1.ControllerRevision) field.ErrorList {
	allErrs := validateControllerRevision(cr)
	return append(allErrs, immutable(cr.Data, old.Data, field.NewPath("data"))...)
}
