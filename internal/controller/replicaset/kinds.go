package replicaset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// ReplicaSetKind and ReplicationControllerKind are the owners' kinds in ownerReferences.
var (
	ReplicaSetKind            = appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
	ReplicationControllerKind = corev1.SchemeGroupVersion.WithKind("ReplicationController")
)

func replicaSetKind(client kubernetes.Interface, lister appslisters.ReplicaSetLister) kind {
	return kind{
		name:           "replicaset",
		gvk:            ReplicaSetKind,
		hasTerminating: true,
		get:            func(ns, name string) (*appsv1.ReplicaSet, error) { return lister.ReplicaSets(ns).Get(name) },
		list:           func(ns string) ([]*appsv1.ReplicaSet, error) { return lister.ReplicaSets(ns).List(labels.Everything()) },
		fresh: func(ctx context.Context, ns, name string) (metav1.Object, error) {
			return client.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
		},
		updateStatus: func(ctx context.Context, rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) (*appsv1.ReplicaSet, error) {
			next := rs.DeepCopy()
			next.Status = st
			return client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
		},
		eventObject: func(rs *appsv1.ReplicaSet) runtime.Object { return rs },
	}
}

func rcKind(client kubernetes.Interface, lister corelisters.ReplicationControllerLister) kind {
	return kind{
		name: "replicationcontroller",
		gvk:  ReplicationControllerKind,
		get: func(ns, name string) (*appsv1.ReplicaSet, error) {
			rc, err := lister.ReplicationControllers(ns).Get(name)
			if err != nil {
				return nil, err
			}
			return RCToReplicaSet(rc), nil
		},
		list: func(ns string) ([]*appsv1.ReplicaSet, error) {
			rcs, err := lister.ReplicationControllers(ns).List(labels.Everything())
			out := make([]*appsv1.ReplicaSet, len(rcs))
			for i, rc := range rcs {
				out[i] = RCToReplicaSet(rc)
			}
			return out, err
		},
		fresh: func(ctx context.Context, ns, name string) (metav1.Object, error) {
			return client.CoreV1().ReplicationControllers(ns).Get(ctx, name, metav1.GetOptions{})
		},
		updateStatus: func(ctx context.Context, rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) (*appsv1.ReplicaSet, error) {
			rc, err := lister.ReplicationControllers(rs.Namespace).Get(rs.Name)
			if err != nil {
				return nil, err
			}
			next := rc.DeepCopy()
			next.Status = rcStatus(st)
			out, err := client.CoreV1().ReplicationControllers(rs.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
			if err != nil {
				return nil, err
			}
			return RCToReplicaSet(out), nil
		},
		eventObject: func(rs *appsv1.ReplicaSet) runtime.Object {
			return &corev1.ReplicationController{TypeMeta: metav1.TypeMeta{Kind: "ReplicationController", APIVersion: "v1"},
				ObjectMeta: *rs.ObjectMeta.DeepCopy()}
		},
	}
}

// RCToReplicaSet converts a ReplicationController into the ReplicaSet it behaves as (a copy).
func RCToReplicaSet(rc *corev1.ReplicationController) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{ObjectMeta: *rc.ObjectMeta.DeepCopy()}
	rs.Spec.Replicas = rc.Spec.Replicas
	rs.Spec.MinReadySeconds = rc.Spec.MinReadySeconds
	rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: rc.Spec.Selector}
	if rc.Spec.Template != nil {
		rs.Spec.Template = *rc.Spec.Template.DeepCopy()
	}
	rs.Status = appsv1.ReplicaSetStatus{Replicas: rc.Status.Replicas, FullyLabeledReplicas: rc.Status.FullyLabeledReplicas,
		ReadyReplicas: rc.Status.ReadyReplicas, AvailableReplicas: rc.Status.AvailableReplicas,
		ObservedGeneration: rc.Status.ObservedGeneration}
	for _, c := range rc.Status.Conditions {
		rs.Status.Conditions = append(rs.Status.Conditions, appsv1.ReplicaSetCondition{Type: appsv1.ReplicaSetConditionType(c.Type),
			Status: c.Status, LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message})
	}
	return rs
}

func rcStatus(st appsv1.ReplicaSetStatus) corev1.ReplicationControllerStatus {
	out := corev1.ReplicationControllerStatus{Replicas: st.Replicas, FullyLabeledReplicas: st.FullyLabeledReplicas,
		ReadyReplicas: st.ReadyReplicas, AvailableReplicas: st.AvailableReplicas, ObservedGeneration: st.ObservedGeneration}
	for _, c := range st.Conditions {
		out.Conditions = append(out.Conditions, corev1.ReplicationControllerCondition{Type: corev1.ReplicationControllerConditionType(c.Type),
			Status: c.Status, LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message})
	}
	return out
}
