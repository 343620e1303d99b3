package node

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/storage"
)

// RegistrySource looks pods and claims up in the registry's watch caches.
type RegistrySource struct {
	pods, claims, slices *registry.Store
}

// NewRegistrySource returns a Source over reg.
func NewRegistrySource(reg *registry.Registry) *RegistrySource {
	return &RegistrySource{
		pods:   reg.Store(schema.GroupVersionResource{Version: "v1", Resource: "pods"}),
		claims: reg.Store(schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}),
		slices: reg.Store(resourcev1.SchemeGroupVersion.WithResource("resourceslices")),
	}
}

// PodsOnNode lists the pods bound to node from the cache's spec.nodeName index.
func (s *RegistrySource) PodsOnNode(ctx context.Context, node string, fresh bool) ([]*corev1.Pod, error) {
	rv := "0"
	if fresh {
		rv = ""
	}
	res, err := s.pods.List(ctx, "", storage.ListOptions{ResourceVersion: rv,
		Predicate: storage.Predicate{Field: fields.OneTermEqualSelector("spec.nodeName", node)}})
	if err != nil {
		return nil, err
	}
	pods := make([]*corev1.Pod, 0, len(res.Items))
	for _, o := range res.Items {
		if p, ok := o.(*corev1.Pod); ok {
			pods = append(pods, p)
		}
	}
	return pods, nil
}

// PersistentVolumeClaim returns a claim from the cache, or nil.
func (s *RegistrySource) PersistentVolumeClaim(ctx context.Context, namespace, name string) (*corev1.PersistentVolumeClaim, error) {
	o, err := s.claims.Get(ctx, namespace, name, "0")
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pvc, _ := o.(*corev1.PersistentVolumeClaim)
	return pvc, nil
}

// ResourceSlice returns a resource slice from the cache, or nil.
func (s *RegistrySource) ResourceSlice(ctx context.Context, name string) (*resourcev1.ResourceSlice, error) {
	o, err := s.slices.Get(ctx, "", name, "0")
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rs, _ := o.(*resourcev1.ResourceSlice)
	return rs, nil
}
