// Package resourcequota is the ResourceQuota admission plugin: a create (or an update that grows
// what an object consumes) is charged against every ResourceQuota of its namespace that counts
// it, and refused with upstream's message when it would take a quota past its hard limits:
//
//	pods "x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1
//
// The charge is written to the quota's status.used with a compare-and-swap on its
// resourceVersion before the object is stored, so concurrent creates are serialised on the quota
// and can never overshoot it together. The ResourceQuota controller later recounts status.used
// from what exists, which returns charges for writes that failed after admission.
//
// As upstream, a quota counts only once its status.hard is set (by the controller); until its
// status.used holds every resource it limits, writes it counts are refused with "status unknown
// for quota".
package resourcequota

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff-project/skiff/internal/quota"
	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/storage"
)

// Plugin is the ResourceQuota admission plugin. Only Validate does work.
type Plugin struct {
	// Quotas is the resourcequotas store.
	Quotas *registry.Store
	// Now is the clock deciding whether deleted pods still count (default time.Now).
	Now func() time.Time
}

// Admit does nothing.
func (p *Plugin) Admit(context.Context, *registry.AdmissionAttributes) error { return nil }

// errExceeded carries a refusal out of the quota's update function.
type errExceeded struct{ msg string }

func (e *errExceeded) Error() string { return e.msg }

// Validate charges the write against the namespace's quotas.
func (p *Plugin) Validate(ctx context.Context, a *registry.AdmissionAttributes) error {
	if (a.Operation != registry.OperationCreate && a.Operation != registry.OperationUpdate) || a.Subresource != "" ||
		a.Namespace == "" || !a.Resource.Namespaced || a.Object == nil {
		return nil
	}
	list, err := p.Quotas.List(ctx, a.Namespace, storage.ListOptions{ResourceVersion: "0"})
	if err == nil && len(list.Items) == 0 {
		// As upstream's live lookup when its informer has none: a quota this server has just
		// stored is charged even before the cache has seen it.
		list, err = p.Quotas.ListOwnWrites(ctx, a.Namespace)
	}
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("list resource quotas: %w", err))
	}
	if len(list.Items) == 0 {
		return nil
	}
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	gr := a.Resource.GroupResource()
	forbid := func(err error) error { return apierrors.NewForbidden(gr, a.Name, err) }

	var matched []string
	for _, o := range list.Items {
		q := o.(*corev1.ResourceQuota)
		if !quota.Matches(q, gr, a.Object) {
			continue
		}
		restricted := handled(q, gr)
		if err := quota.Constraints(restricted, a.Object); err != nil {
			return forbid(fmt.Errorf("failed quota: %s: %v", q.Name, err))
		}
		var unknown []string
		for _, r := range restricted {
			if _, ok := q.Status.Used[r]; !ok {
				unknown = append(unknown, string(r))
			}
		}
		if len(unknown) > 0 {
			return forbid(fmt.Errorf("status unknown for quota: %s, resources: %s", q.Name, strings.Join(sortedStrings(restricted), ",")))
		}
		matched = append(matched, q.Name)
	}
	if len(matched) == 0 {
		return nil
	}
	delta := quota.Usage(gr, a.Object, now)
	if a.Operation == registry.OperationUpdate && a.OldObject != nil {
		if m, err := meta.Accessor(a.OldObject); err == nil && m.GetResourceVersion() != "" {
			delta = quota.Subtract(delta, quota.Usage(gr, a.OldObject, now))
		}
	}
	delta = quota.RemoveZeros(delta)
	if len(delta) == 0 {
		return nil
	}
	// The charge is written by the API server itself, not by the caller.
	sysCtx := registry.WithUser(ctx, registry.UserInfo{Name: "system:apiserver", Groups: []string{"system:masters"}})
	for _, name := range matched {
		_, _, err := p.Quotas.Update(sysCtx, a.Namespace, name, func(cur runtime.Object) (runtime.Object, error) {
			q := cur.(*corev1.ResourceQuota).DeepCopy()
			if !quota.Matches(q, gr, a.Object) {
				return q, nil
			}
			hardNames := quota.Names(q.Status.Hard)
			requested := quota.Mask(delta, hardNames)
			if len(requested) == 0 {
				return q, nil
			}
			used := quota.Add(q.Status.Used, requested)
			if exceeded := quota.Exceeded(quota.Mask(used, quota.Names(requested)), q.Status.Hard); len(exceeded) > 0 {
				return nil, &errExceeded{fmt.Sprintf("exceeded quota: %s, requested: %s, used: %s, limited: %s", q.Name,
					quota.Format(quota.Mask(requested, exceeded)), quota.Format(quota.Mask(q.Status.Used, exceeded)),
					quota.Format(quota.Mask(q.Status.Hard, exceeded)))}
			}
			q.Status.Used = used
			return q, nil
		}, registry.WriteOptions{Subresource: "status", DryRun: a.DryRun})
		var ex *errExceeded
		switch {
		case errors.As(err, &ex):
			return forbid(ex)
		case apierrors.IsNotFound(err):
			continue // deleted meanwhile
		case err != nil:
			return apierrors.NewInternalError(fmt.Errorf("update resource quota %s: %w", name, err))
		}
	}
	return nil
}

// handled lists the resources q limits that count objects of gr, sorted.
func handled(q *corev1.ResourceQuota, gr schema.GroupResource) []corev1.ResourceName {
	var out []corev1.ResourceName
	for _, n := range quota.Names(q.Status.Hard) {
		if quota.Handles(gr, n) {
			out = append(out, n)
		}
	}
	return out
}

func sortedStrings(names []corev1.ResourceName) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(n)
	}
	return out
}
