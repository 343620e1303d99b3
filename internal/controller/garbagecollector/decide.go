package garbagecollector

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// OwnerState is what the collector found out about one owner reference.
type OwnerState int

const (
	// Solid: the owner exists and is not waiting for its dependents to go.
	Solid OwnerState = iota
	// Dangling: no object with the owner's name and UID exists (it was deleted, or never was).
	Dangling
	// Waiting: the owner is being deleted in the foreground (it waits for its dependents).
	Waiting
)

// Action is what the collector does with a dependent that is not itself being deleted.
type Action struct {
	// Delete the dependent with Policy.
	Delete bool
	Policy metav1.DeletionPropagation
	// RemoveRefs are owner references to drop (dangling owners, when a solid one remains).
	RemoveRefs []types.UID
	// Unblock are owner references whose blockOwnerDeletion to clear (waiting owners, when a
	// solid one remains: the dependent stays, so it must not hold the owner up).
	Unblock []types.UID
}

// DecideDependent is upstream's attemptToDeleteItem for an object that is not being deleted:
// with at least one solid owner it stays (dropping dangling references and unblocking waiting
// owners); with none it is deleted, in the foreground if a waiting owner needs its own
// dependents gone first, else with the policy its finalizers ask for (Background by default).
func DecideDependent(obj metav1.Object, owners map[types.UID]OwnerState, hasDependents bool) Action {
	var solid, dangling, waiting []types.UID
	for _, ref := range obj.GetOwnerReferences() {
		switch owners[ref.UID] {
		case Solid:
			solid = append(solid, ref.UID)
		case Dangling:
			dangling = append(dangling, ref.UID)
		case Waiting:
			waiting = append(waiting, ref.UID)
		}
	}
	if len(obj.GetOwnerReferences()) == 0 {
		return Action{}
	}
	if len(solid) > 0 {
		a := Action{RemoveRefs: dangling}
		for _, ref := range obj.GetOwnerReferences() {
			if owners[ref.UID] == Waiting && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
				a.Unblock = append(a.Unblock, ref.UID)
			}
		}
		return a
	}
	if len(waiting) > 0 && hasDependents {
		return Action{Delete: true, Policy: metav1.DeletePropagationForeground}
	}
	policy := metav1.DeletePropagationBackground
	for _, f := range obj.GetFinalizers() {
		switch f {
		case metav1.FinalizerOrphanDependents:
			policy = metav1.DeletePropagationOrphan
		case metav1.FinalizerDeleteDependents:
			policy = metav1.DeletePropagationForeground
		}
	}
	return Action{Delete: true, Policy: policy}
}

// Blocking returns the dependents that hold up owner's foreground deletion: those whose
// reference to owner has blockOwnerDeletion set.
func Blocking(owner types.UID, dependents []metav1.Object) []metav1.Object {
	var out []metav1.Object
	for _, d := range dependents {
		for _, ref := range d.GetOwnerReferences() {
			if ref.UID == owner && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
				out = append(out, d)
			}
		}
	}
	return out
}

func hasFinalizer(obj metav1.Object, f string) bool {
	for _, x := range obj.GetFinalizers() {
		if x == f {
			return true
		}
	}
	return false
}

func withoutFinalizer(fs []string, f string) []string {
	var out []string
	for _, x := range fs {
		if x != f {
			out = append(out, x)
		}
	}
	return out
}
