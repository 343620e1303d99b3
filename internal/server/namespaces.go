package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/storage"
)

// namespaceCheck refuses content in a namespace that does not exist or is being deleted,
// with upstream's messages.
func namespaceCheck(ns *registry.Store) func(ctx context.Context, namespace string) error {
	return func(ctx context.Context, namespace string) error {
		obj, err := ns.Get(ctx, "", namespace, "0")
		if apierrors.IsNotFound(err) {
			// The cache may not have caught up with a namespace created a moment ago.
			obj, err = ns.Get(ctx, "", namespace, "")
		}
		if err != nil {
			if apierrors.IsNotFound(err) {
				return apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, namespace)
			}
			return err
		}
		if n := obj.(*corev1.Namespace); n.Status.Phase == corev1.NamespaceTerminating || n.DeletionTimestamp != nil {
			return &registry.NamespaceTerminatingError{Namespace: namespace}
		}
		return nil
	}
}

// runNamespaceFinalizer deletes the contents of namespaces being deleted and then removes the
// "kubernetes" finalizer, so that the namespace goes. It is the part of upstream's namespace
// controller the API needs to be usable, run when the server runs no controller manager (whose namespace
// controller does it, with status conditions, otherwise).
func runNamespaceFinalizer(ctx context.Context, reg *registry.Registry, log *slog.Logger) {
	nsStore := reg.Store(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"})
	ctx = registry.WithUser(ctx, registry.UserInfo{Name: "system:serviceaccount:kube-system:namespace-controller"})
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		res, err := nsStore.List(ctx, "", storage.ListOptions{ResourceVersion: "0"})
		if err != nil {
			continue
		}
		for _, it := range res.Items {
			ns := it.(*corev1.Namespace)
			if ns.DeletionTimestamp == nil {
				continue
			}
			if err := finalizeNamespace(ctx, reg, nsStore, ns.Name); err != nil && ctx.Err() == nil {
				log.Debug("namespace not finalized yet", "namespace", ns.Name, "reason", err)
			}
		}
	}
}

func finalizeNamespace(ctx context.Context, reg *registry.Registry, nsStore *registry.Store, name string) error {
	remaining := 0
	bg := metav1.DeletePropagationBackground
	for _, res := range reg.Resources() {
		if !res.Namespaced || !res.HasVerb("delete") {
			continue
		}
		st := reg.Store(res.GroupVersionResource())
		list, err := st.List(ctx, name, storage.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return err
		}
		for _, it := range list.Items {
			a, _ := meta.Accessor(it)
			remaining++
			if a.GetDeletionTimestamp() != nil {
				continue
			}
			if _, _, err := st.Delete(ctx, name, a.GetName(), &metav1.DeleteOptions{PropagationPolicy: &bg}, false); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	if remaining > 0 {
		return fmt.Errorf("%d objects remain", remaining)
	}
	_, _, err := nsStore.Update(ctx, "", name, func(cur runtime.Object) (runtime.Object, error) {
		ns := cur.(*corev1.Namespace).DeepCopy()
		var keep []corev1.FinalizerName
		for _, f := range ns.Spec.Finalizers {
			if f != corev1.FinalizerKubernetes {
				keep = append(keep, f)
			}
		}
		ns.Spec.Finalizers = keep
		return ns, nil
	}, registry.WriteOptions{Subresource: "finalize"})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
