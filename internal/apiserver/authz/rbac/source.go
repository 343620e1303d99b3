package rbac

import (
	"context"
	"fmt"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/storage"
)

// RegistrySource reads RBAC objects from the registry's watch caches.
type RegistrySource struct {
	roles, clusterRoles, roleBindings, clusterRoleBindings *registry.Store
}

// NewRegistrySource returns a Source over reg's rbac.authorization.k8s.io/v1 stores.
func NewRegistrySource(reg *registry.Registry) *RegistrySource {
	st := func(resource string) *registry.Store {
		return reg.Store(schema.GroupVersionResource{Group: rbacv1.GroupName, Version: "v1", Resource: resource})
	}
	return &RegistrySource{roles: st("roles"), clusterRoles: st("clusterroles"), roleBindings: st("rolebindings"), clusterRoleBindings: st("clusterrolebindings")}
}

// Objects lists the four kinds from the cache. A fresh read first waits until the cache has
// caught up with etcd (one cache feeds every resource, so one consistent list suffices).
func (s *RegistrySource) Objects(ctx context.Context, fresh bool) (*Objects, error) {
	objs := &Objects{}
	rv := "0"
	if fresh {
		rv = ""
	}
	list := func(st *registry.Store, add func(any) bool) error {
		res, err := st.List(ctx, "", storage.ListOptions{ResourceVersion: rv})
		if err != nil {
			return err
		}
		rv = "0"
		for _, o := range res.Items {
			if !add(o) {
				return fmt.Errorf("%s: unexpected object %T", st.R.GroupResource(), o)
			}
		}
		return nil
	}
	if err := list(s.clusterRoleBindings, func(o any) bool {
		b, ok := o.(*rbacv1.ClusterRoleBinding)
		objs.ClusterRoleBindings = append(objs.ClusterRoleBindings, b)
		return ok
	}); err != nil {
		return nil, err
	}
	if err := list(s.roleBindings, func(o any) bool {
		b, ok := o.(*rbacv1.RoleBinding)
		objs.RoleBindings = append(objs.RoleBindings, b)
		return ok
	}); err != nil {
		return nil, err
	}
	if err := list(s.clusterRoles, func(o any) bool {
		r, ok := o.(*rbacv1.ClusterRole)
		objs.ClusterRoles = append(objs.ClusterRoles, r)
		return ok
	}); err != nil {
		return nil, err
	}
	if err := list(s.roles, func(o any) bool {
		r, ok := o.(*rbacv1.Role)
		objs.Roles = append(objs.Roles, r)
		return ok
	}); err != nil {
		return nil, err
	}
	return objs, nil
}

// Watch calls changed whenever an RBAC object changes, until ctx ends. It returns at once;
// its goroutines end with ctx.
func (s *RegistrySource) Watch(ctx context.Context, changed func()) {
	for _, st := range []*registry.Store{s.roles, s.clusterRoles, s.roleBindings, s.clusterRoleBindings} {
		go watchStore(ctx, st, changed)
	}
}

// watchStore reports every change of st's objects, re-establishing the watch when the server
// ends it.
func watchStore(ctx context.Context, st *registry.Store, changed func()) {
	for ctx.Err() == nil {
		w, err := st.Watch(ctx, "", storage.WatchOptions{ResourceVersion: "0"})
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		// Events may have been missed since the last watch ended.
		changed()
		func() {
			defer w.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case ev, ok := <-w.ResultChan():
					if !ok {
						return
					}
					if ev.Type != storage.Bookmark {
						changed()
					}
				}
			}
		}()
	}
}
