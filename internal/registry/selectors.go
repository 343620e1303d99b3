package registry

import (
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff-project/skiff/internal/storage"
)

// Predicate parses a list or watch's labelSelector and fieldSelector (either may be empty)
// into a storage predicate, with field labels in the stored version's names. A malformed
// selector, or a field the resource cannot select on, is a 400 with upstream's message.
func (r *Resource) Predicate(labelSelector, fieldSelector string) (storage.Predicate, error) {
	var p storage.Predicate
	if labelSelector != "" {
		sel, err := labels.Parse(labelSelector)
		if err != nil {
			return p, apierrors.NewBadRequest(err.Error())
		}
		p.Label = sel
	}
	if fieldSelector != "" {
		sel, err := fields.ParseSelector(fieldSelector)
		if err != nil {
			return p, apierrors.NewBadRequest(err.Error())
		}
		sel, err = sel.Transform(func(f, v string) (string, string, error) {
			stored, ok := r.FieldLabel(f)
			if !ok {
				return "", "", fmt.Errorf("field label not supported: %s", f)
			}
			return stored, v, nil
		})
		if err != nil {
			return p, apierrors.NewBadRequest(err.Error())
		}
		p.Field = sel
	}
	return p, nil
}

// PartialMetadata returns obj's metadata as a PartialObjectMetadata of meta.k8s.io/version.
// It shares obj's maps and slices (labels, owner references, managedFields ...): neither may
// be changed afterwards.
func PartialMetadata(obj runtime.Object, version string) *metav1.PartialObjectMetadata {
	pm := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/" + version, Kind: "PartialObjectMetadata"}}
	// meta.Accessor returns typed objects themselves (a *Pod is a metav1.Object), not their
	// *ObjectMeta; GetObjectMeta reaches the embedded struct.
	if oma, ok := obj.(metav1.ObjectMetaAccessor); ok {
		if om, ok := oma.GetObjectMeta().(*metav1.ObjectMeta); ok {
			pm.ObjectMeta = *om
			return pm
		}
	}
	if a, err := meta.Accessor(obj); err == nil {
		// Custom resources (unstructured) have no ObjectMeta struct to copy.
		pm.ObjectMeta = metav1.ObjectMeta{Name: a.GetName(), GenerateName: a.GetGenerateName(), Namespace: a.GetNamespace(),
			UID: a.GetUID(), ResourceVersion: a.GetResourceVersion(), Generation: a.GetGeneration(),
			CreationTimestamp: a.GetCreationTimestamp(), DeletionTimestamp: a.GetDeletionTimestamp(),
			DeletionGracePeriodSeconds: a.GetDeletionGracePeriodSeconds(), Labels: a.GetLabels(), Annotations: a.GetAnnotations(),
			OwnerReferences: a.GetOwnerReferences(), Finalizers: a.GetFinalizers(), ManagedFields: a.GetManagedFields()}
	}
	return pm
}
