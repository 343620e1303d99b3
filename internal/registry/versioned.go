package registry

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/storage"
)

// A Store whose inner store is set serves its resource in another version than the one stored
// (Resource.StorageGVK): every object is converted on the way in and out through the scheme's
// conversion functions, and the inner store does the work in the storage version.

func (s *Store) convert(obj runtime.Object, gvk schema.GroupVersionKind) (runtime.Object, error) {
	if obj == nil {
		return nil, nil
	}
	if obj.GetObjectKind().GroupVersionKind() == gvk {
		return obj, nil
	}
	out, err := s.scheme.New(gvk)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	if err := s.scheme.Convert(obj, out, nil); err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("convert to %s: %w", gvk, err))
	}
	out.GetObjectKind().SetGroupVersionKind(gvk)
	return out, nil
}

func (s *Store) toServed(obj runtime.Object, err error) (runtime.Object, error) {
	if err != nil || obj == nil {
		return obj, err
	}
	return s.convert(obj, s.R.GVK)
}

func (s *Store) toStorage(obj runtime.Object) (runtime.Object, error) {
	return s.convert(obj, s.inner.R.GVK)
}

func (s *Store) getVersioned(ctx context.Context, namespace, name, rv string) (runtime.Object, error) {
	return s.toServed(s.inner.Get(ctx, namespace, name, rv))
}

func (s *Store) listVersioned(ctx context.Context, namespace string, opts storage.ListOptions) (*storage.ListResult, error) {
	res, err := s.inner.List(ctx, namespace, opts)
	if err != nil {
		return nil, err
	}
	out := *res
	out.Items = make([]runtime.Object, 0, len(res.Items))
	for _, it := range res.Items {
		c, err := s.toServed(it, nil)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, c)
	}
	return &out, nil
}

func (s *Store) watchVersioned(ctx context.Context, namespace string, opts storage.WatchOptions) (*storage.Watcher, error) {
	w, err := s.inner.Watch(ctx, namespace, opts)
	if err != nil {
		return nil, err
	}
	return w.Map(func(ev storage.WatchEvent) storage.WatchEvent {
		switch ev.Type {
		case storage.Error:
			return ev
		case storage.Bookmark:
			obj := s.newObject()
			if src, err := meta.Accessor(ev.Object); err == nil {
				dst, _ := meta.Accessor(obj)
				dst.SetResourceVersion(src.GetResourceVersion())
				dst.SetAnnotations(src.GetAnnotations())
			}
			return storage.WatchEvent{Type: ev.Type, Object: obj, RV: ev.RV}
		}
		obj, err := s.toServed(ev.Object, nil)
		if err != nil {
			st := apierrors.NewInternalError(err).Status()
			return storage.WatchEvent{Type: storage.Error, Object: &st}
		}
		return storage.WatchEvent{Type: ev.Type, Object: obj, RV: ev.RV}
	}), nil
}

func (s *Store) createVersioned(ctx context.Context, namespace string, obj runtime.Object, o WriteOptions) (runtime.Object, error) {
	s.scheme.Default(obj)
	st, err := s.toStorage(obj)
	if err != nil {
		return nil, err
	}
	return s.toServed(s.inner.Create(ctx, namespace, st, o))
}

func (s *Store) updateVersioned(ctx context.Context, namespace, name string, fn TransformFunc, o WriteOptions) (runtime.Object, bool, error) {
	wrapped := func(cur runtime.Object) (runtime.Object, error) {
		served, err := s.toServed(cur, nil)
		if err != nil {
			return nil, err
		}
		next, err := fn(served)
		if err != nil || next == nil {
			return next, err
		}
		s.scheme.Default(next)
		return s.toStorage(next)
	}
	out, created, err := s.inner.Update(ctx, namespace, name, wrapped, o)
	if err != nil {
		return nil, false, err
	}
	out, err = s.toServed(out, nil)
	return out, created, err
}

func (s *Store) deleteVersioned(ctx context.Context, namespace, name string, opts *metav1.DeleteOptions, dryRun bool) (runtime.Object, bool, error) {
	out, deleted, err := s.inner.Delete(ctx, namespace, name, opts, dryRun)
	if err != nil {
		return nil, false, err
	}
	out, err = s.toServed(out, nil)
	return out, deleted, err
}
