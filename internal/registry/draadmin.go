package registry

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DRAAdminAccess is the Hooks of ResourceClaims and ResourceClaimTemplates that enforces, as
// upstream's strategies do, that admin access to devices is only requested (in a claim's or a
// template's requests) or granted (in a claim's allocation) in a namespace labelled
// resource.kubernetes.io/admin-access: "true". Upstream checks this with validation; here it
// runs after validation, so it is reported only for an otherwise valid object.
type DRAAdminAccess struct {
	// Namespaces is the store of namespaces.
	Namespaces *Store
}

var _ Hooks = DRAAdminAccess{}

// BeforeCreate checks the requests of a new claim or template.
func (d DRAAdminAccess) BeforeCreate(ctx context.Context, obj runtime.Object, _ bool) (func(), error) {
	var requests []resourcev1.DeviceRequest
	var namespace, name string
	var kind string
	switch o := obj.(type) {
	case *resourcev1.ResourceClaim:
		requests, namespace, name, kind = o.Spec.Devices.Requests, o.Namespace, o.Name, "ResourceClaim"
	case *resourcev1.ResourceClaimTemplate:
		requests, namespace, name, kind = o.Spec.Spec.Devices.Requests, o.Namespace, o.Name, "ResourceClaimTemplate"
	default:
		return func() {}, nil
	}
	for i, r := range requests {
		// Admin access is only possible in an exact request.
		if r.Exactly != nil && r.Exactly.AdminAccess != nil && *r.Exactly.AdminAccess {
			// Upstream's path omits a template's spec.spec.
			p := field.NewPath("spec", "devices", "requests").Index(i).Child("adminAccess")
			return func() {}, d.check(ctx, kind, namespace, name, p)
		}
	}
	return func() {}, nil
}

// BeforeUpdate checks an allocation that newly grants admin access (the spec of a claim is
// immutable, and an allocation cannot change once made).
func (d DRAAdminAccess) BeforeUpdate(ctx context.Context, obj, old runtime.Object, _ bool) error {
	c, ok := obj.(*resourcev1.ResourceClaim)
	if !ok {
		return nil
	}
	if prev, ok := old.(*resourcev1.ResourceClaim); !ok || adminAllocation(prev) != nil {
		return nil
	}
	if p := adminAllocation(c); p != nil {
		return d.check(ctx, "ResourceClaim", c.Namespace, c.Name, p)
	}
	return nil
}

// AfterUpdate does nothing.
func (DRAAdminAccess) AfterUpdate(context.Context, runtime.Object, runtime.Object) {}

// AfterDelete does nothing.
func (DRAAdminAccess) AfterDelete(context.Context, runtime.Object) {}

// adminAllocation returns the path of the first allocation result with admin access, or nil.
func adminAllocation(c *resourcev1.ResourceClaim) *field.Path {
	if c.Status.Allocation == nil {
		return nil
	}
	for i, r := range c.Status.Allocation.Devices.Results {
		if r.AdminAccess != nil && *r.AdminAccess {
			return field.NewPath("status", "allocation", "devices", "results").Index(i).Child("adminAccess")
		}
	}
	return nil
}

// check refuses admin access at p unless the namespace carries the admin-access label.
func (d DRAAdminAccess) check(ctx context.Context, kind, namespace, name string, p *field.Path) error {
	gk := schema.GroupKind{Group: resourcev1.GroupName, Kind: kind}
	obj, err := d.Namespaces.Get(ctx, "", namespace, "")
	if err != nil {
		return apierrors.NewInvalid(gk, name, field.ErrorList{
			field.InternalError(p, fmt.Errorf("could not retrieve namespace to verify admin access: %w", err))})
	}
	if ns, ok := obj.(*corev1.Namespace); !ok || ns.Labels[resourcev1.DRAAdminNamespaceLabelKey] != "true" {
		return apierrors.NewInvalid(gk, name, field.ErrorList{field.Forbidden(p,
			fmt.Sprintf("admin access to devices requires the `%s: true` label on the containing namespace", resourcev1.DRAAdminNamespaceLabelKey))})
	}
	return nil
}
