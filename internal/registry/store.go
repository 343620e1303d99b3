package registry

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-project/skiff/internal/storage"
)

// The finalizers the garbage collector acts on.
const (
	FinalizerOrphan     = metav1.FinalizerOrphanDependents
	FinalizerForeground = metav1.FinalizerDeleteDependents
)

// Store serves one resource with the semantics clients rely on: generateName, uid and
// creationTimestamp, generation, the status split, optimistic concurrency, graceful deletion
// and finalizers. Objects it returns may be shared with the cache: never modify them.
type Store struct {
	R       *Resource
	storage *storage.Store
	scheme  *runtime.Scheme
	// NamespaceCheck, if set, refuses namespaced creates in a missing or terminating namespace.
	NamespaceCheck func(ctx context.Context, namespace string) error
	// Now is the clock.
	Now func() time.Time
	// Hooks act on other state when objects of this resource change (service IP and port
	// allocation); nil for most resources.
	Hooks Hooks

	fm        *fieldManagers
	admission Admission
	// inner, if set, is the store of the version this resource is stored in (versioned.go).
	inner *Store
}

// NamespaceTerminatingError is what a NamespaceCheck returns for a namespace being deleted.
type NamespaceTerminatingError struct{ Namespace string }

func (e *NamespaceTerminatingError) Error() string {
	return fmt.Sprintf("unable to create new content in namespace %s because it is being terminated", e.Namespace)
}

// Hooks let a resource keep other state in step with its objects.
type Hooks interface {
	// BeforeCreate runs after validation and before the object is stored; it may change obj.
	// The returned undo runs if the object is then not stored.
	BeforeCreate(ctx context.Context, obj runtime.Object, dryRun bool) (undo func(), err error)
	// BeforeUpdate runs on each attempt of an update, after validation; it may change obj.
	BeforeUpdate(ctx context.Context, obj, old runtime.Object, dryRun bool) error
	// AfterUpdate runs once an update is stored.
	AfterUpdate(ctx context.Context, obj, old runtime.Object)
	// AfterDelete runs once an object is gone.
	AfterDelete(ctx context.Context, obj runtime.Object)
}

// Storage returns the underlying storage.
func (s *Store) Storage() *storage.Store { return s.storage }

// Key returns the storage key of an object.
func (s *Store) Key(namespace, name string) string {
	if s.R.Namespaced {
		return namespace + "/" + name
	}
	return name
}

func (s *Store) nsPrefix(namespace string) string {
	if s.R.Namespaced && namespace != "" {
		return namespace + "/"
	}
	return ""
}

// Attrs returns an object's labels and selectable fields.
func (s *Store) Attrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	a, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	f := fields.Set{"metadata.name": a.GetName()}
	if s.R.Namespaced {
		f["metadata.namespace"] = a.GetNamespace()
	}
	if s.R.Fields != nil {
		for k, v := range s.R.Fields(obj) {
			f[k] = v
		}
	}
	return labels.Set(a.GetLabels()), f, nil
}

// Get returns one object; see storage.Store.Get for resourceVersion.
func (s *Store) Get(ctx context.Context, namespace, name, resourceVersion string) (runtime.Object, error) {
	if s.inner != nil {
		return s.getVersioned(ctx, namespace, name, resourceVersion)
	}
	return s.storage.Get(ctx, s.Key(namespace, name), resourceVersion)
}

// List returns a page of objects in namespace ("" for all).
func (s *Store) List(ctx context.Context, namespace string, opts storage.ListOptions) (*storage.ListResult, error) {
	if s.inner != nil {
		return s.listVersioned(ctx, namespace, opts)
	}
	opts.Prefix = s.nsPrefix(namespace)
	return s.storage.List(ctx, opts)
}

// ListOwnWrites lists objects in namespace from the cache once it reflects every write this
// server has made (see storage.Store.ListOwnWrites).
func (s *Store) ListOwnWrites(ctx context.Context, namespace string) (*storage.ListResult, error) {
	if s.inner != nil {
		return s.List(ctx, namespace, storage.ListOptions{})
	}
	return s.storage.ListOwnWrites(ctx, s.nsPrefix(namespace))
}

// Watch watches objects in namespace ("" for all).
func (s *Store) Watch(ctx context.Context, namespace string, opts storage.WatchOptions) (*storage.Watcher, error) {
	if s.inner != nil {
		return s.watchVersioned(ctx, namespace, opts)
	}
	opts.Prefix = s.nsPrefix(namespace)
	return s.storage.Watch(ctx, opts)
}

// WriteOptions are the options of a write.
type WriteOptions struct {
	DryRun bool
	// Subresource is "" or "status".
	Subresource string
	// AllowCreate lets an update create a missing object (server-side apply).
	AllowCreate bool
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Store) ttl(obj runtime.Object) int64 {
	if s.R.TTL == nil {
		return 0
	}
	return int64(s.R.TTL(obj) / time.Second)
}

// Create stores a new object in namespace.
func (s *Store) Create(ctx context.Context, namespace string, obj runtime.Object, o WriteOptions) (runtime.Object, error) {
	if s.inner != nil {
		return s.createVersioned(ctx, namespace, obj, o)
	}
	a, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if err := s.checkNamespace(a, namespace); err != nil {
		return nil, err
	}
	if a.GetName() == "" && a.GetGenerateName() != "" {
		a.SetName(generateName(a.GetGenerateName()))
	}
	if s.R.Namespaced && s.NamespaceCheck != nil {
		if err := s.NamespaceCheck(ctx, namespace); err != nil {
			var term *NamespaceTerminatingError
			if errors.As(err, &term) {
				return nil, apierrors.NewForbidden(s.R.GroupResource(), a.GetName(), err)
			}
			return nil, err
		}
	}
	a.SetUID(types.UID(uuid.New().String()))
	a.SetCreationTimestamp(metav1.NewTime(s.now().Truncate(time.Second)))
	a.SetDeletionTimestamp(nil)
	a.SetDeletionGracePeriodSeconds(nil)
	a.SetResourceVersion("")
	a.SetSelfLink("")
	if s.R.Generation {
		a.SetGeneration(1)
	} else {
		a.SetGeneration(0)
	}
	s.scheme.Default(obj)
	obj = s.trackUpdate(ctx, nil, obj, "")
	obj, err = s.admit(ctx, OperationCreate, "", obj, nil, namespace, a.GetName(), o.DryRun, true)
	if err != nil {
		return nil, err
	}
	a, _ = meta.Accessor(obj)
	if s.R.PrepareForCreate != nil {
		s.R.PrepareForCreate(ctx, obj)
	}
	if errs := s.validate(obj, nil); len(errs) > 0 {
		return nil, apierrors.NewInvalid(s.R.GVK.GroupKind(), a.GetName(), errs)
	}
	if _, err := s.admit(ctx, OperationCreate, "", obj, nil, namespace, a.GetName(), o.DryRun, false); err != nil {
		return nil, err
	}
	undo := func() {}
	if s.Hooks != nil {
		var err error
		if undo, err = s.Hooks.BeforeCreate(ctx, obj, o.DryRun); err != nil {
			return nil, err
		}
	}
	if o.DryRun {
		undo()
		return obj, nil
	}
	out, err := s.storage.Create(ctx, s.Key(namespace, a.GetName()), obj, s.ttl(obj))
	if err != nil {
		undo()
	}
	return out, err
}

func (s *Store) checkNamespace(a metav1.Object, namespace string) error {
	if !s.R.Namespaced {
		a.SetNamespace("")
		return nil
	}
	switch a.GetNamespace() {
	case "":
		a.SetNamespace(namespace)
	case namespace:
	default:
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

func (s *Store) validate(obj, old runtime.Object) field.ErrorList {
	return s.validateSub(obj, old, "")
}

// validateSub validates a write to subresource (a status write is checked with the status
// rules, which allow what only the status writer may change).
func (s *Store) validateSub(obj, old runtime.Object, subresource string) field.ErrorList {
	a, _ := meta.Accessor(obj)
	nameFn := s.R.NameValidation
	if nameFn == nil {
		nameFn = apivalidation.NameIsDNSSubdomain
	}
	var errs field.ErrorList
	if old == nil {
		errs = apivalidation.ValidateObjectMetaAccessor(a, s.R.Namespaced, nameFn, field.NewPath("metadata"))
		if s.R.Validate != nil {
			errs = append(errs, s.R.Validate(obj)...)
		}
		return errs
	}
	oa, _ := meta.Accessor(old)
	errs = apivalidation.ValidateObjectMetaAccessorUpdate(a, oa, field.NewPath("metadata"))
	errs = append(errs, apivalidation.ValidateObjectMetaAccessor(a, s.R.Namespaced, nameFn, field.NewPath("metadata"))...)
	if subresource == "status" && s.R.ValidateStatusUpdate != nil {
		errs = append(errs, s.R.ValidateStatusUpdate(obj, old)...)
	} else if s.R.ValidateUpdate != nil {
		errs = append(errs, s.R.ValidateUpdate(obj, old)...)
	} else if s.R.Validate != nil {
		errs = append(errs, s.R.Validate(obj)...)
	}
	return errs
}

// TransformFunc computes the object a write wants from the current one. It must not change
// current; it returns a new object (decoded from a request, or patched from a copy).
type TransformFunc func(current runtime.Object) (runtime.Object, error)

// Update replaces the object namespace/name with what fn computes from the current one, with
// the metadata rules of an update. It creates the object (fn gets nil) if it is missing and
// the resource allows create on update. created tells which happened.
func (s *Store) Update(ctx context.Context, namespace, name string, fn TransformFunc, o WriteOptions) (out runtime.Object, created bool, err error) {
	if s.inner != nil {
		return s.updateVersioned(ctx, namespace, name, fn, o)
	}
	key := s.Key(namespace, name)
	ctx = context.WithValue(ctx, dryRunKey{}, o.DryRun)
	var before runtime.Object
	prepare := func(cur runtime.Object) (runtime.Object, error) {
		before = cur
		next, err := fn(cur)
		if err != nil {
			return nil, err
		}
		return s.prepareUpdate(ctx, next, cur, namespace, name, o.Subresource)
	}
	if o.DryRun {
		cur, err := s.storage.Get(ctx, key, "")
		if apierrors.IsNotFound(err) && (s.R.CreateOnUpdate || o.AllowCreate) && o.Subresource == "" {
			return s.createFromUpdate(ctx, namespace, name, fn, o)
		}
		if err != nil {
			return nil, false, err
		}
		out, err := prepare(cur)
		return out, false, err
	}
	out, err = s.storage.Update(ctx, key, prepare, s.ttl(nil))
	if apierrors.IsNotFound(err) && (s.R.CreateOnUpdate || o.AllowCreate) && o.Subresource == "" {
		return s.createFromUpdate(ctx, namespace, name, fn, o)
	}
	if err != nil {
		return nil, false, err
	}
	if s.Hooks != nil && before != nil {
		s.Hooks.AfterUpdate(ctx, out, before)
	}
	return s.finishIfDeleted(ctx, key, out), false, nil
}

func (s *Store) createFromUpdate(ctx context.Context, namespace, name string, fn TransformFunc, o WriteOptions) (runtime.Object, bool, error) {
	obj, err := fn(nil)
	if err != nil {
		return nil, false, err
	}
	a, err := meta.Accessor(obj)
	if err != nil {
		return nil, false, apierrors.NewBadRequest(err.Error())
	}
	if a.GetName() != name {
		return nil, false, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", a.GetName(), name))
	}
	if a.GetResourceVersion() != "" {
		return nil, false, apierrors.NewNotFound(s.R.GroupResource(), name)
	}
	out, err := s.Create(ctx, namespace, obj, o)
	return out, err == nil, err
}

// finishIfDeleted removes an object that is being deleted once its last finalizer is gone.
func (s *Store) finishIfDeleted(ctx context.Context, key string, obj runtime.Object) runtime.Object {
	a, err := meta.Accessor(obj)
	if err != nil || a.GetDeletionTimestamp() == nil || len(a.GetFinalizers()) > 0 {
		return obj
	}
	if g := a.GetDeletionGracePeriodSeconds(); g != nil && *g > 0 {
		return obj
	}
	if s.R.Finalizing != nil && s.R.Finalizing(obj) {
		return obj
	}
	rv := a.GetResourceVersion()
	deleted, err := s.storage.Delete(ctx, key, func(cur runtime.Object) error {
		ca, _ := meta.Accessor(cur)
		if ca.GetResourceVersion() != rv {
			return apierrors.NewConflict(s.R.GroupResource(), a.GetName(), fmt.Errorf("changed"))
		}
		return nil
	})
	if err != nil {
		return obj
	}
	if s.Hooks != nil {
		s.Hooks.AfterDelete(ctx, deleted)
	}
	return deleted
}

// prepareUpdate applies the rules of an update to next, given the stored cur.
func (s *Store) prepareUpdate(ctx context.Context, next, cur runtime.Object, namespace, name, subresource string) (runtime.Object, error) {
	a, err := meta.Accessor(next)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	ca, _ := meta.Accessor(cur)
	if err := s.checkNamespace(a, namespace); err != nil {
		return nil, err
	}
	if a.GetName() != name {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", a.GetName(), name))
	}
	if a.GetResourceVersion() == "" && s.R.RequireResourceVersion {
		// Upstream names the resource, not the kind, in this error.
		gk := schema.GroupKind{Group: s.R.GVK.Group, Kind: s.R.Plural}
		return nil, apierrors.NewInvalid(gk, name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "resourceVersion"), uint64(0), "must be specified for an update")})
	}
	if rv := a.GetResourceVersion(); rv != "" && rv != ca.GetResourceVersion() {
		return nil, apierrors.NewConflict(s.R.GroupResource(), name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	if uid := a.GetUID(); uid != "" && uid != ca.GetUID() {
		return nil, apierrors.NewConflict(s.R.GroupResource(), name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", uid, ca.GetUID()))
	}
	switch subresource {
	case "status":
		next = mergeInto(cur, next, "Status")
		a, _ = meta.Accessor(next)
	case "finalize":
		next = mergeInto(cur, next, "Spec", "Finalizers")
		a, _ = meta.Accessor(next)
	case "approval":
		next = mergeInto(cur, next, "Status", "Conditions")
		a, _ = meta.Accessor(next)
	case "binding":
	default:
		if s.R.Status {
			// A deep copy: the stored object is shared with the cache and its readers.
			copyField(next, cur.DeepCopyObject(), "Status")
		}
	}
	a.SetUID(ca.GetUID())
	a.SetCreationTimestamp(ca.GetCreationTimestamp())
	if dt := ca.GetDeletionTimestamp(); dt != nil {
		t := *dt
		a.SetDeletionTimestamp(&t)
	} else {
		a.SetDeletionTimestamp(nil)
	}
	if g := ca.GetDeletionGracePeriodSeconds(); g != nil {
		v := *g
		a.SetDeletionGracePeriodSeconds(&v)
	} else {
		a.SetDeletionGracePeriodSeconds(nil)
	}
	a.SetGeneration(ca.GetGeneration())
	a.SetResourceVersion(ca.GetResourceVersion())
	a.SetSelfLink("")
	if ca.GetDeletionTimestamp() != nil && len(a.GetFinalizers()) > len(ca.GetFinalizers()) {
		// Upstream forbids adding finalizers to an object being deleted.
		if errs := apivalidation.ValidateNoNewFinalizers(a.GetFinalizers(), ca.GetFinalizers(), field.NewPath("metadata", "finalizers")); len(errs) > 0 {
			return nil, apierrors.NewInvalid(s.R.GVK.GroupKind(), name, errs)
		}
	}
	s.scheme.Default(next)
	next = s.trackUpdate(ctx, cur, next, subresource)
	next, err = s.admit(ctx, OperationUpdate, subresource, next, cur, namespace, name, dryRunFrom(ctx), true)
	if err != nil {
		return nil, err
	}
	a, _ = meta.Accessor(next)
	if s.R.PrepareForUpdate != nil {
		s.R.PrepareForUpdate(ctx, next, cur)
	}
	if subresource == "status" && s.R.PrepareForStatusUpdate != nil {
		s.R.PrepareForStatusUpdate(ctx, next, cur)
	}
	if s.R.Generation && subresource == "" && !specEqual(next, cur) {
		a.SetGeneration(ca.GetGeneration() + 1)
	}
	// pods/binding sets spec.nodeName, which pod update validation forbids; upstream's binding
	// writes storage directly without it, checking only what bind() already checks.
	if subresource != "binding" {
		if errs := s.validateSub(next, cur, subresource); len(errs) > 0 {
			return nil, apierrors.NewInvalid(s.R.GVK.GroupKind(), name, errs)
		}
	}
	if _, err := s.admit(ctx, OperationUpdate, subresource, next, cur, namespace, name, dryRunFrom(ctx), false); err != nil {
		return nil, err
	}
	if s.Hooks != nil {
		if err := s.Hooks.BeforeUpdate(ctx, next, cur, dryRunFrom(ctx)); err != nil {
			return nil, err
		}
	}
	return next, nil
}

type dryRunKey struct{}

func dryRunFrom(ctx context.Context) bool { b, _ := ctx.Value(dryRunKey{}).(bool); return b }

// copyField sets the struct field at path (field names) of dst to src's, for typed objects.
func copyField(dst, src runtime.Object, path ...string) {
	dv := reflect.ValueOf(dst).Elem()
	sv := reflect.ValueOf(src).Elem()
	for _, name := range path {
		if dv.Kind() != reflect.Struct {
			return
		}
		dv, sv = dv.FieldByName(name), sv.FieldByName(name)
		if !dv.IsValid() || !sv.IsValid() {
			return
		}
	}
	if dv.CanSet() {
		dv.Set(sv)
	}
}

// mergeInto returns a copy of cur with the field at path taken from next: a subresource
// write changes only its part of the object.
func mergeInto(cur, next runtime.Object, path ...string) runtime.Object {
	merged := cur.DeepCopyObject()
	copyField(merged, next, path...)
	if na, err := meta.Accessor(next); err == nil {
		ma, _ := meta.Accessor(merged)
		ma.SetResourceVersion(na.GetResourceVersion())
		ma.SetUID(na.GetUID())
	}
	return merged
}

// specEqual reports whether a and b agree on every top-level field other than TypeMeta,
// ObjectMeta and Status: what bumps metadata.generation.
func specEqual(a, b runtime.Object) bool {
	av, bv := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	if av.Kind() != reflect.Struct || av.Type() != bv.Type() {
		return equality.Semantic.DeepEqual(a, b)
	}
	t := av.Type()
	for i := 0; i < t.NumField(); i++ {
		switch t.Field(i).Name {
		case "TypeMeta", "ObjectMeta", "Status":
			continue
		}
		if !equality.Semantic.DeepEqual(av.Field(i).Interface(), bv.Field(i).Interface()) {
			return false
		}
	}
	return true
}

// generateName appends five random characters to base, as upstream's name generator does,
// shortening base so that the result stays within 63 characters.
func generateName(base string) string {
	const maxBase = 63 - 5
	if len(base) > maxBase {
		base = base[:maxBase]
	}
	return base + utilrand.String(5)
}

// Delete deletes namespace/name following opts: preconditions, grace period and propagation.
// deleted is false when the object was only marked for deletion (finalizers or a grace
// period remain); the returned object is then its new state.
func (s *Store) Delete(ctx context.Context, namespace, name string, opts *metav1.DeleteOptions, dryRun bool) (out runtime.Object, deleted bool, err error) {
	if s.inner != nil {
		return s.deleteVersioned(ctx, namespace, name, opts, dryRun)
	}
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if errs := validateDeleteOptions(opts); len(errs) > 0 {
		return nil, false, apierrors.NewInvalid(schema.GroupKind{Group: "meta.k8s.io", Kind: "DeleteOptions"}, "", errs)
	}
	key := s.Key(namespace, name)
	cur, err := s.storage.Get(ctx, key, "")
	if err != nil {
		return nil, false, err
	}
	check := func(c runtime.Object) error { return s.checkPreconditions(c, name, opts.Preconditions) }
	if err := check(cur); err != nil {
		return nil, false, err
	}
	if _, err := s.admit(ctx, OperationDelete, "", nil, cur, namespace, name, dryRun, true); err != nil {
		return nil, false, err
	}
	if _, err := s.admit(ctx, OperationDelete, "", nil, cur, namespace, name, dryRun, false); err != nil {
		return nil, false, err
	}
	ca, _ := meta.Accessor(cur)
	grace := int64(0)
	if s.R.GracePeriod != nil {
		grace = s.R.GracePeriod(cur, opts.GracePeriodSeconds)
	}
	finalizers := deletionFinalizers(ca.GetFinalizers(), opts)
	finalizing := s.R.Finalizing != nil && s.R.Finalizing(cur)
	if len(finalizers) == 0 && grace == 0 && !finalizing {
		if dryRun {
			return cur, true, nil
		}
		out, err := s.storage.Delete(ctx, key, check)
		if err == nil && s.Hooks != nil {
			s.Hooks.AfterDelete(ctx, out)
		}
		return out, err == nil, err
	}
	mark := func(c runtime.Object) (runtime.Object, error) {
		if err := check(c); err != nil {
			return nil, err
		}
		next := c.DeepCopyObject()
		a, _ := meta.Accessor(next)
		a.SetFinalizers(deletionFinalizers(a.GetFinalizers(), opts))
		if s.R.MarkDeleting != nil {
			s.R.MarkDeleting(next)
		}
		now := s.now().Truncate(time.Second)
		if dt := a.GetDeletionTimestamp(); dt != nil {
			// Already being deleted: a shorter grace period may bring the deadline forward.
			if g := a.GetDeletionGracePeriodSeconds(); g != nil && grace < *g {
				t := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
				if t.Before(dt) {
					a.SetDeletionTimestamp(&t)
				}
				a.SetDeletionGracePeriodSeconds(&grace)
			}
			return next, nil
		}
		t := metav1.NewTime(now.Add(time.Duration(grace) * time.Second))
		a.SetDeletionTimestamp(&t)
		a.SetDeletionGracePeriodSeconds(&grace)
		return next, nil
	}
	if dryRun {
		out, err := mark(cur)
		return out, false, err
	}
	out, err = s.storage.Update(ctx, key, mark, 0)
	if err != nil {
		return nil, false, err
	}
	if o := s.finishIfDeleted(ctx, key, out); o != out {
		return o, true, nil
	}
	return out, false, nil
}

func (s *Store) checkPreconditions(cur runtime.Object, name string, p *metav1.Preconditions) error {
	if p == nil {
		return nil
	}
	a, _ := meta.Accessor(cur)
	if p.UID != nil && *p.UID != a.GetUID() {
		return apierrors.NewConflict(s.R.GroupResource(), name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, a.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != a.GetResourceVersion() {
		return apierrors.NewConflict(s.R.GroupResource(), name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, a.GetResourceVersion()))
	}
	return nil
}

// deletionFinalizers returns the finalizers an object carries after a delete with opts: the
// propagation policy adds or removes the garbage collector's orphan and foreground finalizers.
func deletionFinalizers(current []string, opts *metav1.DeleteOptions) []string {
	policy := opts.PropagationPolicy
	if policy == nil && opts.OrphanDependents != nil {
		p := metav1.DeletePropagationBackground
		if *opts.OrphanDependents {
			p = metav1.DeletePropagationOrphan
		}
		policy = &p
	}
	if policy == nil {
		return current
	}
	var out []string
	for _, f := range current {
		if f != FinalizerOrphan && f != FinalizerForeground {
			out = append(out, f)
		}
	}
	switch *policy {
	case metav1.DeletePropagationOrphan:
		out = append(out, FinalizerOrphan)
	case metav1.DeletePropagationForeground:
		out = append(out, FinalizerForeground)
	}
	return out
}

func validateDeleteOptions(o *metav1.DeleteOptions) field.ErrorList {
	var errs field.ErrorList
	if o.OrphanDependents != nil && o.PropagationPolicy != nil {
		errs = append(errs, field.Invalid(field.NewPath("propagationPolicy"), o.PropagationPolicy, "orphanDependents and deletionPropagation cannot be both set"))
	}
	if p := o.PropagationPolicy; p != nil {
		switch *p {
		case metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan:
		default:
			errs = append(errs, field.NotSupported(field.NewPath("propagationPolicy"), *p, []string{string(metav1.DeletePropagationForeground), string(metav1.DeletePropagationBackground), string(metav1.DeletePropagationOrphan), "nil"}))
		}
	}
	for _, d := range o.DryRun {
		if d != metav1.DryRunAll {
			errs = append(errs, field.NotSupported(field.NewPath("dryRun"), o.DryRun, []string{metav1.DryRunAll}))
		}
	}
	return errs
}
