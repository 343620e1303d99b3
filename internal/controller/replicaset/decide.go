package replicaset

import (
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/controller/podstate"
)

// BurstReplicas is the most pods one sync creates or deletes.
const BurstReplicas = 500

// SlowStartInitialBatchSize is the first batch of a slow-start create.
const SlowStartInitialBatchSize = 1

// Plan is what one sync does to the pods of a ReplicaSet.
type Plan struct {
	Create int
	Delete []*corev1.Pod
}

// Decide compares the ReplicaSet's wanted replicas with its active pods. related are the pods
// of its sibling ReplicaSets (same controller), used to rank pods for deletion.
func Decide(replicas int32, active, related []*corev1.Pod, now time.Time) Plan {
	diff := len(active) - int(replicas)
	switch {
	case diff < 0:
		return Plan{Create: min(-diff, BurstReplicas)}
	case diff > 0:
		return Plan{Delete: podstate.RankForDeletion(active, related, min(diff, BurstReplicas), now)}
	}
	return Plan{}
}

// CalculateStatus is the status rs should have given its claimed active and terminating pods
// and the error of the last create or delete round (upstream's calculateStatus).
func CalculateStatus(rs *appsv1.ReplicaSet, active, terminating []*corev1.Pod, manageErr error, now time.Time) appsv1.ReplicaSetStatus {
	st := *rs.Status.DeepCopy()
	fully, ready, available := 0, 0, 0
	tmpl := labels.Set(rs.Spec.Template.Labels).AsSelectorPreValidated()
	for _, p := range active {
		if tmpl.Matches(labels.Set(p.Labels)) {
			fully++
		}
		if podstate.IsReady(p) {
			ready++
			if podstate.IsAvailable(p, rs.Spec.MinReadySeconds, now) {
				available++
			}
		}
	}
	failure := condition(st.Conditions, appsv1.ReplicaSetReplicaFailure)
	switch {
	case manageErr != nil && failure == nil:
		reason := ""
		if diff := len(active) - int(replicasOf(rs)); diff < 0 {
			reason = "FailedCreate"
		} else if diff > 0 {
			reason = "FailedDelete"
		}
		st.Conditions = append(st.Conditions, appsv1.ReplicaSetCondition{Type: appsv1.ReplicaSetReplicaFailure,
			Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now), Reason: reason, Message: manageErr.Error()})
	case manageErr == nil && failure != nil:
		var keep []appsv1.ReplicaSetCondition
		for _, c := range st.Conditions {
			if c.Type != appsv1.ReplicaSetReplicaFailure {
				keep = append(keep, c)
			}
		}
		st.Conditions = keep
	}
	st.Replicas = int32(len(active))
	st.FullyLabeledReplicas = int32(fully)
	st.ReadyReplicas = int32(ready)
	st.AvailableReplicas = int32(available)
	t := int32(len(terminating))
	st.TerminatingReplicas = &t
	st.ObservedGeneration = rs.Generation
	return st
}

func condition(conds []appsv1.ReplicaSetCondition, t appsv1.ReplicaSetConditionType) *appsv1.ReplicaSetCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

func replicasOf(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}

// SlowStartBatch calls fn count times in batches of 1, 2, 4, ... (each batch in parallel),
// stopping after the first batch with an error. It returns how many calls succeeded and the
// first error, so that a quota or admission failure costs one request, not count.
func SlowStartBatch(count, initial int, fn func() error) (int, error) {
	remaining := count
	successes := 0
	for batch := min(remaining, initial); batch > 0; batch = min(2*batch, remaining) {
		errs := make(chan error, batch)
		var wg sync.WaitGroup
		for i := 0; i < batch; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fn(); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		failed := len(errs)
		successes += batch - failed
		if failed > 0 {
			return successes, <-errs
		}
		remaining -= batch
	}
	return successes, nil
}

// PodFromTemplate is the pod a controller creates from template: the template's labels,
// annotations, finalizers and spec, the name prefix "<owner>-", and a controller reference.
func PodFromTemplate(template *corev1.PodTemplateSpec, owner metav1.Object, gvk schema.GroupVersionKind) *corev1.Pod {
	t := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Labels:       copyMap(template.Labels),
			Annotations:  copyMap(template.Annotations),
			GenerateName: podNamePrefix(owner.GetName()),
			Namespace:    owner.GetNamespace(),
			Finalizers:   append([]string(nil), template.Finalizers...),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
				Name: owner.GetName(), UID: owner.GetUID(), Controller: &t, BlockOwnerDeletion: &t}},
		},
	}
	pod.Spec = *template.Spec.DeepCopy()
	return pod
}

// podNamePrefix is upstream's: the owner's name and a dash (the API server shortens a long
// generateName itself).
func podNamePrefix(name string) string { return name + "-" }

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
