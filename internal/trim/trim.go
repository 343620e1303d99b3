// Package trim provides informer transforms that keep what clients cache small.
package trim

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/cache"
)

// ManagedFields is an informer transform (informers.WithTransform) that drops an object's
// metadata.managedFields before it is cached. No controller, scheduler or node reads them,
// and they are often the largest part of an object. Updates built from the cached objects are
// safe: a write without managedFields keeps the stored ones, as upstream's field manager does.
var ManagedFields cache.TransformFunc = func(obj any) (any, error) {
	if a, err := meta.Accessor(obj); err == nil {
		a.SetManagedFields(nil)
	}
	return obj, nil
}
