package storage

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Codec turns an object into the bytes stored in etcd and back. Implementations own the
// wire format (protobuf for built-in kinds, JSON for custom resources) and any encryption.
type Codec interface {
	Encode(obj runtime.Object) ([]byte, error)
	Decode(data []byte) (runtime.Object, error)
}

// Transformer transforms stored bytes, for encryption at rest.
type Transformer interface {
	// TransformToStorage turns an encoded object into the bytes to store.
	TransformToStorage(plain []byte) ([]byte, error)
	// TransformFromStorage undoes TransformToStorage. stale reports bytes that are not in the
	// current form (plaintext, or an old key): an update rewrites them even if the object did
	// not change.
	TransformFromStorage(data []byte) (plain []byte, stale bool, err error)
}

// AttrFunc returns the labels and selectable fields of an object, for label and field selectors.
type AttrFunc func(obj runtime.Object) (labels.Set, fields.Set, error)

// ResourceConfig describes how one resource is stored.
type ResourceConfig struct {
	// Resource names the resource in errors (for example pods, or deployments.apps).
	Resource schema.GroupResource
	// Prefix is the etcd key prefix, ending in "/" (for example /registry/pods/).
	Prefix string
	// Codec encodes values.
	Codec Codec
	// Transformer, if set, transforms encoded values on their way to and from etcd.
	Transformer Transformer
	// NewFunc returns an empty object of the resource's kind, used for bookmarks.
	NewFunc func() runtime.Object
	// Attrs extracts labels and selectable fields.
	Attrs AttrFunc
	// IndexField, if set, is a selectable field (for example spec.nodeName) whose exact-match
	// selectors are answered from an index, for lists and watches alike.
	IndexField string
	// HistorySize is how many events the cache keeps for watches that resume from an older
	// resourceVersion. Zero means DefaultHistorySize.
	HistorySize int
}

// DefaultHistorySize is the number of events a cache keeps by default.
const DefaultHistorySize = 4096

// Predicate selects objects by label and field selectors. Nil selectors match everything.
type Predicate struct {
	Label labels.Selector
	Field fields.Selector
}

// Empty reports whether p selects everything.
func (p Predicate) Empty() bool {
	return (p.Label == nil || p.Label.Empty()) && (p.Field == nil || p.Field.Empty())
}

func (p Predicate) matches(l labels.Set, f fields.Set) bool {
	if p.Label != nil && !p.Label.Empty() && !p.Label.Matches(l) {
		return false
	}
	if p.Field != nil && !p.Field.Empty() && !p.Field.Matches(f) {
		return false
	}
	return true
}

// indexValue returns the value an exact-match field selector requires of field, if any.
func (p Predicate) indexValue(field string) (string, bool) {
	if field == "" || p.Field == nil {
		return "", false
	}
	return p.Field.RequiresExactMatch(field)
}

// ResourceVersionMatch mirrors metav1.ResourceVersionMatch.
type ResourceVersionMatch string

// The resourceVersionMatch values.
const (
	MatchNone         ResourceVersionMatch = ""
	MatchNotOlderThan ResourceVersionMatch = "NotOlderThan"
	MatchExact        ResourceVersionMatch = "Exact"
)

// ListOptions are the options of a LIST.
type ListOptions struct {
	// Prefix narrows the list below the resource prefix, e.g. to one namespace ("ns/").
	Prefix          string
	ResourceVersion string
	Match           ResourceVersionMatch
	Limit           int64
	Continue        string
	Predicate       Predicate
}

// ListResult is a page of a LIST.
type ListResult struct {
	Items           []runtime.Object
	ResourceVersion uint64
	Continue        string
	// RemainingItemCount is set when the count of items after this page is known.
	RemainingItemCount *int64
}

// WatchOptions are the options of a WATCH.
type WatchOptions struct {
	Prefix            string
	ResourceVersion   string
	Predicate         Predicate
	SendInitialEvents *bool
	AllowBookmarks    bool
}

// continueToken is upstream's continue token: base64 of JSON with the list's revision and the
// key (relative to the resource prefix) to start after.
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	StartKey        string `json:"start"`
}

func encodeContinue(rv uint64, startKey string) string {
	b, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", ResourceVersion: int64(rv), StartKey: startKey})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(s string) (uint64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, "", fmt.Errorf("continue key is not valid: %v", err)
	}
	var t continueToken
	if err := json.Unmarshal(b, &t); err != nil {
		return 0, "", fmt.Errorf("continue key is not valid: %v", err)
	}
	if t.APIVersion != "meta.k8s.io/v1" {
		return 0, "", fmt.Errorf("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	}
	if t.ResourceVersion <= 0 || t.StartKey == "" {
		return 0, "", fmt.Errorf("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	}
	return uint64(t.ResourceVersion), t.StartKey, nil
}

// ParseResourceVersion parses a resourceVersion; "" is 0.
func ParseResourceVersion(rv string) (uint64, error) {
	if rv == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q: %v", rv, err))
	}
	return v, nil
}

// setResourceVersion writes rv into obj's metadata.
func setResourceVersion(obj runtime.Object, rv uint64) {
	if a, err := meta.Accessor(obj); err == nil {
		a.SetResourceVersion(strconv.FormatUint(rv, 10))
	}
}

// Event is one change to one object, shared by every watcher that receives it.
type Event struct {
	Type   EventType
	Key    string
	Object runtime.Object
	// PrevObject is the object before the change (nil for an add).
	PrevObject runtime.Object
	RV         uint64

	labels, prevLabels labels.Set
	fields, prevFields fields.Set

	enc encodings
}

// EventType is the kind of a change.
type EventType string

// The event types of a watch.
const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
	Bookmark EventType = "BOOKMARK"
	Error    EventType = "ERROR"
)

// Encoded returns the object of e encoded under key (a content type), calling enc at most
// once per key across every watcher of e.
func (e *Event) Encoded(key string, enc func(runtime.Object) ([]byte, error)) ([]byte, error) {
	return e.enc.get(key, e.Object, enc)
}
