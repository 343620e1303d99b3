package registry

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Resource describes one served resource: its names, its storage and its strategy. Adding a
// resource to skiff is one Resource value in resources.go.
type Resource struct {
	// GVK is the kind served at this resource.
	GVK schema.GroupVersionKind
	// StorageGVK, if set, is the kind stored when it differs from GVK (autoscaling/v1 HPAs are
	// stored as v2). The resource then shares EtcdPrefix with the resource serving StorageGVK,
	// which must be registered before it, and objects are converted through the scheme.
	StorageGVK schema.GroupVersionKind
	// FieldLabelConversion maps this version's field selector labels to the stored version's.
	FieldLabelConversion map[string]string
	// Plural and Singular are the resource names (pods, pod).
	Plural, Singular string
	// Namespaced is true for namespaced resources.
	Namespaced bool
	// ShortNames and Categories appear in discovery (po; all).
	ShortNames, Categories []string
	// EtcdPrefix is the key prefix in etcd (upstream's, e.g. /registry/minions/ for nodes).
	EtcdPrefix string

	// Status is true if the resource has a status subresource; writes to the main resource
	// then keep the stored status, and writes to status keep everything else.
	Status bool
	// Scale describes the scale subresource, if any.
	Scale *ScaleSpec
	// Generation is true if metadata.generation starts at 1 and is bumped on every change
	// outside metadata and status.
	Generation bool
	// CreateOnUpdate allows PUT to create a missing object.
	CreateOnUpdate bool
	// RequireResourceVersion refuses an update of an existing object that does not carry
	// metadata.resourceVersion (upstream's AllowUnconditionalUpdate false: CSIStorageCapacity,
	// DeviceTaintRule). Patches and server-side apply start from the stored object, so only a
	// PUT can lack it.
	RequireResourceVersion bool
	// ReturnDeletedObject makes DELETE return the object rather than a Success Status.
	ReturnDeletedObject bool
	// Subresources lists subresources served by special handlers (log, exec, binding, ...).
	Subresources []string
	// Verbs overrides the default verb set (all eight).
	Verbs []string
	// NameValidation checks metadata.name; nil means DNS subdomain.
	NameValidation func(name string, prefix bool) []string

	// PrepareForCreate sets server-owned fields of a new object (after defaulting).
	PrepareForCreate func(ctx context.Context, obj runtime.Object)
	// PrepareForUpdate sets server-owned fields of an updated object from the old one.
	PrepareForUpdate func(ctx context.Context, obj, old runtime.Object)
	// PrepareForStatusUpdate, if set, runs after PrepareForUpdate on writes to the status
	// subresource (a ResourceClaim drops the status of devices it no longer holds).
	PrepareForStatusUpdate func(ctx context.Context, obj, old runtime.Object)
	// Validate and ValidateUpdate return the object's errors beyond ObjectMeta's.
	Validate       func(obj runtime.Object) field.ErrorList
	ValidateUpdate func(obj, old runtime.Object) field.ErrorList
	// ValidateStatusUpdate checks writes to the status subresource.
	ValidateStatusUpdate func(obj, old runtime.Object) field.ErrorList
	// Fields returns the resource's selectable fields beyond metadata.name and
	// metadata.namespace; FieldLabels lists their names (for 400s on unknown ones).
	Fields      func(obj runtime.Object) fields.Set
	FieldLabels []string
	// IndexField is a selectable field answered from an index (pods: spec.nodeName).
	IndexField string
	// TTL returns the lifetime in etcd of an object (nil on updates, which renew it), 0 for
	// none (events: one hour).
	TTL func(obj runtime.Object) time.Duration
	// GracePeriod decides a graceful deletion: the grace period in seconds to wait, given the
	// one requested (nil if none); 0 deletes at once. Nil means every deletion is immediate.
	GracePeriod func(obj runtime.Object, requested *int64) int64
	// Finalizing reports whether the object still has work to do before it may go, beyond
	// metadata.finalizers (namespaces: spec.finalizers). Such an object is marked for deletion
	// and removed once that work is done.
	Finalizing func(obj runtime.Object) bool
	// MarkDeleting updates an object that is marked for deletion (namespaces: phase Terminating).
	MarkDeleting func(obj runtime.Object)
	// Virtual, if set, makes this a create-only resource that is never stored (access and
	// token reviews): a create calls Virtual with the decoded object and answers its result.
	Virtual func(ctx context.Context, obj runtime.Object) (runtime.Object, error)
}

// ScaleSpec locates the replica fields behind a scale subresource.
type ScaleSpec struct {
	// Replicas returns spec.replicas, status.replicas and the label selector as a string.
	Get func(obj runtime.Object) (specReplicas, statusReplicas int32, selector string)
	// Set writes spec.replicas.
	Set func(obj runtime.Object, replicas int32)
}

// GroupResource returns the resource's group and plural.
func (r *Resource) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: r.GVK.Group, Resource: r.Plural}
}

// GroupVersionResource returns the resource's group, version and plural.
func (r *Resource) GroupVersionResource() schema.GroupVersionResource {
	return r.GVK.GroupVersion().WithResource(r.Plural)
}

// AllVerbs are the verbs of an ordinary resource.
var AllVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// VerbList returns the resource's verbs.
func (r *Resource) VerbList() []string {
	if r.Verbs != nil {
		return r.Verbs
	}
	return AllVerbs
}

// HasVerb reports whether the resource supports verb.
func (r *Resource) HasVerb(verb string) bool {
	for _, v := range r.VerbList() {
		if v == verb {
			return true
		}
	}
	return false
}

// FieldLabel returns the stored version's name of a field selector label, and whether the
// resource supports selecting on it.
func (r *Resource) FieldLabel(label string) (string, bool) {
	if c, ok := r.FieldLabelConversion[label]; ok {
		label = c
	}
	if label == "metadata.name" || label == "metadata.namespace" && (r.Namespaced || r.Plural == "namespaces") {
		return label, true
	}
	for _, l := range r.FieldLabels {
		if l == label {
			return label, true
		}
	}
	return "", false
}
