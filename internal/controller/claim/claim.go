// Package claim decides which objects a controller owns, as upstream's ControllerRefManager:
// a controller adopts orphans its selector matches, keeps what it controls and still matches,
// and releases what it controls but no longer matches. Objects controlled by someone else are
// never touched.
package claim

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// Action is what to do with one object.
type Action int

const (
	// Ignore: not ours, and not to become ours now.
	Ignore Action = iota
	// Keep: ours already.
	Keep
	// Adopt: an orphan that matches; make it ours.
	Adopt
	// Release: ours but no longer matching; let it go.
	Release
)

func (a Action) String() string {
	return [...]string{"Ignore", "Keep", "Adopt", "Release"}[a]
}

// Decide returns what owner (selecting with sel) does with obj.
func Decide(owner metav1.Object, sel labels.Selector, obj metav1.Object) Action {
	matches := sel.Matches(labels.Set(obj.GetLabels()))
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		if ref.UID != owner.GetUID() {
			return Ignore
		}
		if matches {
			return Keep
		}
		if owner.GetDeletionTimestamp() != nil {
			return Ignore
		}
		return Release
	}
	if owner.GetDeletionTimestamp() != nil || !matches || obj.GetDeletionTimestamp() != nil ||
		obj.GetNamespace() != owner.GetNamespace() {
		return Ignore
	}
	return Adopt
}

// Patcher applies a strategic merge patch to the object namespace/name of the kind claimed.
type Patcher func(ctx context.Context, namespace, name string, patch []byte) error

// Claimer claims objects for one owner.
type Claimer struct {
	Owner    metav1.Object
	OwnerGVK schema.GroupVersionKind
	Selector labels.Selector
	// CanAdopt is called once, before the first adoption; it should re-read the owner from the
	// API server and fail if it is gone, replaced (another UID) or being deleted, so that a stale
	// cache never adopts for a dead owner.
	CanAdopt func(ctx context.Context) error
	Patch    Patcher
}

// Claim returns the objects of objs that Owner controls after adopting and releasing. An object
// that vanished meanwhile is skipped; other errors are returned together with what was claimed.
func Claim[T metav1.Object](ctx context.Context, c *Claimer, objs []T) ([]T, error) {
	var out []T
	var errs []error
	checked := false
	for _, o := range objs {
		switch Decide(c.Owner, c.Selector, o) {
		case Keep:
			out = append(out, o)
		case Adopt:
			if !checked {
				if err := c.CanAdopt(ctx); err != nil {
					return out, fmt.Errorf("can't adopt: %w", err)
				}
				checked = true
			}
			if err := c.Patch(ctx, o.GetNamespace(), o.GetName(), AdoptPatch(c.OwnerGVK, c.Owner, o.GetUID())); err != nil {
				if !apierrors.IsNotFound(err) {
					errs = append(errs, err)
				}
				continue
			}
			out = append(out, o)
		case Release:
			if err := c.Patch(ctx, o.GetNamespace(), o.GetName(), ReleasePatch(c.Owner.GetUID(), o.GetUID())); err != nil &&
				!apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return out, errs[0]
	}
	return out, nil
}

// AdoptPatch is the strategic merge patch that makes owner the controller of the object with
// uid (the object's uid makes the patch fail if the object was replaced).
func AdoptPatch(gvk schema.GroupVersionKind, owner metav1.Object, uid types.UID) []byte {
	t := true
	p := map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
			Name: owner.GetName(), UID: owner.GetUID(), Controller: &t, BlockOwnerDeletion: &t}},
		"uid": uid,
	}}
	b, _ := json.Marshal(p)
	return b
}

// ReleasePatch removes the owner reference to ownerUID from the object with uid.
func ReleasePatch(ownerUID, uid types.UID) []byte {
	p := map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": ownerUID}},
		"uid":             uid,
	}}
	b, _ := json.Marshal(p)
	return b
}

// OwnerCheck returns a CanAdopt function: get re-reads the owner from the API server.
func OwnerCheck(owner metav1.Object, get func(ctx context.Context) (metav1.Object, error)) func(context.Context) error {
	return func(ctx context.Context) error {
		fresh, err := get(ctx)
		if err != nil {
			return err
		}
		if fresh.GetUID() != owner.GetUID() {
			return fmt.Errorf("original %s/%s is gone: got uid %v, wanted %v", owner.GetNamespace(), owner.GetName(), fresh.GetUID(), owner.GetUID())
		}
		if fresh.GetDeletionTimestamp() != nil {
			return fmt.Errorf("%s/%s has just been deleted at %v", owner.GetNamespace(), owner.GetName(), fresh.GetDeletionTimestamp())
		}
		return nil
	}
}

// ControllerIndex is the name of the informer index AddControllerIndex adds: objects by their
// controller's UID, orphans by "orphan/<namespace>".
const ControllerIndex = "controllerUID"

// AddControllerIndex adds ControllerIndex to informer unless it has it already. Call it before
// the informer starts.
func AddControllerIndex(informer cache.SharedIndexInformer) error {
	if _, ok := informer.GetIndexer().GetIndexers()[ControllerIndex]; ok {
		return nil
	}
	return informer.AddIndexers(cache.Indexers{ControllerIndex: func(obj any) ([]string, error) {
		o, err := meta.Accessor(obj)
		if err != nil {
			return nil, nil
		}
		if ref := metav1.GetControllerOfNoCopy(o); ref != nil {
			return []string{string(ref.UID)}, nil
		}
		return []string{"orphan/" + o.GetNamespace()}, nil
	}})
}

// Candidates returns the objects owner may claim from an indexer with ControllerIndex: those it
// controls and the orphans of its namespace.
func Candidates[T any](indexer cache.Indexer, owner metav1.Object) ([]T, error) {
	var out []T
	for _, v := range []string{string(owner.GetUID()), "orphan/" + owner.GetNamespace()} {
		objs, err := indexer.ByIndex(ControllerIndex, v)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if t, ok := o.(T); ok {
				out = append(out, t)
			}
		}
	}
	return out, nil
}
