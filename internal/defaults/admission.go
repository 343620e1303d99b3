package defaults

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// This file follows admission plugins that upstream enables by default and that mutate
// objects on create without looking at other objects; they are admission, not scheme
// defaulting: DefaultTolerationSeconds (plugin/pkg/admission/defaulttolerationseconds),
// TaintNodesByCondition (plugin/pkg/admission/nodetaint) and StorageObjectInUseProtection
// (plugin/pkg/admission/storage/storageobjectinuseprotection). The default-on mutating
// plugins that read other objects are not implemented in this package: ServiceAccount (the
// serviceAccountName, imagePullSecrets and the kube-api-access projected volume), Priority
// (spec.priority and preemptionPolicy), DefaultStorageClass, DefaultIngressClass, LimitRanger
// and RuntimeClass (overhead).

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

// NodeNotReadyTaint applies the TaintNodesByCondition admission plugin to a Node being
// created: unless it already has a taint with the same key and effect, it gets
// node.kubernetes.io/not-ready:NoSchedule, which the node lifecycle controller removes once the
// node is ready, so that nothing is scheduled onto a node before it has reported.
func NodeNotReadyTaint(node *corev1.Node) {
	for _, t := range node.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady && t.Effect == corev1.TaintEffectNoSchedule {
			return
		}
	}
	node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule})
}

// The finalizers of the StorageObjectInUseProtection admission plugin.
const (
	PVProtectionFinalizer  = "kubernetes.io/pv-protection"
	PVCProtectionFinalizer = "kubernetes.io/pvc-protection"
)

// PersistentVolumeProtection applies the StorageObjectInUseProtection admission plugin to a
// PersistentVolume being created: it gets the kubernetes.io/pv-protection finalizer.
func PersistentVolumeProtection(pv *corev1.PersistentVolume) {
	pv.Finalizers = addFinalizer(pv.Finalizers, PVProtectionFinalizer)
}

// PersistentVolumeClaimProtection applies the StorageObjectInUseProtection admission plugin to
// a PersistentVolumeClaim being created: it gets the kubernetes.io/pvc-protection finalizer.
func PersistentVolumeClaimProtection(pvc *corev1.PersistentVolumeClaim) {
	pvc.Finalizers = addFinalizer(pvc.Finalizers, PVCProtectionFinalizer)
}

func addFinalizer(finalizers []string, f string) []string {
	for _, x := range finalizers {
		if x == f {
			return finalizers
		}
	}
	return append(finalizers, f)
}
