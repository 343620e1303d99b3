package defaults

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// This file follows admission plugins that upstream enables by default and that mutate
// objects on create; they are admission, not scheme defaulting. Only DefaultTolerationSeconds
// is here (plugin/pkg/admission/defaulttolerationseconds). Other default-on mutating plugins
// that change what is stored are not implemented in this package: ServiceAccount (the
// serviceAccountName and the kube-api-access projected volume), Priority (spec.priority and
// preemptionPolicy), DefaultStorageClass, DefaultIngressClass, LimitRanger, RuntimeClass
// (overhead), StorageObjectInUseProtection (finalizers) and TaintNodesByCondition.

// DefaultTolerationSeconds is the tolerationSeconds the DefaultTolerationSeconds admission
// plugin gives its tolerations (its --default-not-ready-toleration-seconds and
// --default-unreachable-toleration-seconds flags default to 300).
const DefaultTolerationSeconds int64 = 300

// PodTolerations applies the DefaultTolerationSeconds admission plugin to a Pod being
// created: unless a toleration already covers it (same key or empty key, NoExecute or empty
// effect), it appends NoExecute tolerations of 300s for node.kubernetes.io/not-ready and
// then node.kubernetes.io/unreachable.
func PodTolerations(pod *corev1.Pod) {
	notReady, unreachable := false, false
	for _, t := range pod.Spec.Tolerations {
		effectMatches := t.Effect == corev1.TaintEffectNoExecute || t.Effect == ""
		if (t.Key == corev1.TaintNodeNotReady || t.Key == "") && effectMatches {
			notReady = true
		}
		if (t.Key == corev1.TaintNodeUnreachable || t.Key == "") && effectMatches {
			unreachable = true
		}
	}
	if !notReady {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
			Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists,
			Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To(DefaultTolerationSeconds),
		})
	}
	if !unreachable {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{
			Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists,
			Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To(DefaultTolerationSeconds),
		})
	}
}
