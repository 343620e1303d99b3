package printers

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
)

// Printer renders objects of one kind as Table rows.
type Printer struct {
	// Columns are the Table's column definitions, upstream's, in order; Priority 1 marks -o wide columns.
	Columns []metav1.TableColumnDefinition
	// Cells returns one row's cells for obj, evaluated at now (for AGE and similar). The cells line up with Columns.
	Cells func(obj runtime.Object, now time.Time) ([]interface{}, error)
}

// Values of Table's includeObject, as in metav1.TableOptions.
const (
	includeNoneValue     = string(metav1.IncludeNone)
	includeMetadataValue = string(metav1.IncludeMetadata)
	includeObjectValue   = string(metav1.IncludeObject)
)

// registry holds the printer of every kind that has one, filled by the
// per-group files' init functions through register.
var registry = map[schema.GroupKind]Printer{}

// register records p as the printer for the kinds gks; registering a kind
// twice is a programming error and panics at start-up.
func register(p Printer, gks ...schema.GroupKind) {
	for _, gk := range gks {
		if _, dup := registry[gk]; dup {
			panic(fmt.Sprintf("printers: %v registered twice", gk))
		}
		registry[gk] = p
	}
}

// For returns the printer for objects of the given group and kind; ok is false for kinds with no
// specific printer, for which Default is used.
func For(gk schema.GroupKind) (p Printer, ok bool) {
	p, ok = registry[gk]
	return p, ok
}

// Default is upstream's default table: NAME and AGE (used for unknown kinds and custom resources without printer columns).
// It matches apiextensions-apiserver's table for a custom resource whose
// version declares no additionalPrinterColumns (a "date" Age column).
var Default = Printer{
	Columns: []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Age", Type: "date", Description: objectMetaDoc["creationTimestamp"]},
	},
	Cells: func(obj runtime.Object, now time.Time) ([]interface{}, error) {
		m, err := objectMeta(obj)
		if err != nil {
			return nil, err
		}
		return []interface{}{m.GetName(), age(m.GetCreationTimestamp(), now)}, nil
	},
}

// createdAt is kube-apiserver's default table convertor, used upstream for
// built-in kinds that have no printer (Role, ClusterRole, LimitRange): NAME
// and CREATED AT, the creation time in RFC 3339 and UTC.
var createdAt = Printer{
	Columns: []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Created At", Type: "date", Description: objectMetaDoc["creationTimestamp"]},
	},
	Cells: func(obj runtime.Object, _ time.Time) ([]interface{}, error) {
		m, err := objectMeta(obj)
		if err != nil {
			return nil, err
		}
		return []interface{}{m.GetName(), createdAtCell(m.GetCreationTimestamp())}, nil
	},
}

// Table builds a full metav1.Table for items (each a runtime.Object of the printer's kind), at now.
// includeObject is "None", "Metadata" (default: row.Object is a PartialObjectMetadata, meta.k8s.io/v1, carrying the object's metadata), or "Object" (the full object); noHeaders omits ColumnDefinitions (used by watch events after the first).
// As kube-apiserver does, an object carrying the initial-events-end bookmark
// annotation is always given as metadata. An unknown includeObject, an item
// of the wrong kind, or cells that do not line up with the columns are errors.
func (p Printer) Table(items []runtime.Object, now time.Time, includeObject string, noHeaders bool) (*metav1.Table, error) {
	switch includeObject {
	case "", includeNoneValue, includeMetadataValue, includeObjectValue:
	default:
		return nil, fmt.Errorf("printers: unrecognized includeObject value: %q", includeObject)
	}
	table := &metav1.Table{
		TypeMeta: metav1.TypeMeta{APIVersion: metav1.SchemeGroupVersion.String(), Kind: "Table"},
		Rows:     make([]metav1.TableRow, 0, len(items)),
	}
	if !noHeaders {
		table.ColumnDefinitions = append([]metav1.TableColumnDefinition(nil), p.Columns...)
	}
	for _, item := range items {
		cells, err := p.Cells(item, now)
		if err != nil {
			return nil, err
		}
		if len(cells) != len(p.Columns) {
			return nil, fmt.Errorf("printers: %d cells for %d columns for %T", len(cells), len(p.Columns), item)
		}
		row := metav1.TableRow{Cells: cells, Conditions: rowConditions(item)}
		row.Object.Object, err = rowObject(item, includeObject)
		if err != nil {
			return nil, err
		}
		table.Rows = append(table.Rows, row)
	}
	return table, nil
}

// rowObject returns what a row carries for item under includeObject: nothing,
// a PartialObjectMetadata copy of its metadata, or item itself.
func rowObject(item runtime.Object, include string) (runtime.Object, error) {
	if include == includeObjectValue && !isInitialEventsEnd(item) {
		return item, nil
	}
	if include == includeNoneValue && !isInitialEventsEnd(item) {
		return nil, nil
	}
	m, err := objectMeta(item)
	if err != nil {
		return nil, err
	}
	partial := meta.AsPartialObjectMetadata(m).DeepCopy()
	partial.TypeMeta = metav1.TypeMeta{APIVersion: metav1.SchemeGroupVersion.String(), Kind: "PartialObjectMetadata"}
	return partial, nil
}

// isInitialEventsEnd reports whether obj is the bookmark that ends a watch's
// initial events, which kube-apiserver always renders as metadata.
func isInitialEventsEnd(obj runtime.Object) bool {
	m, err := objectMeta(obj)
	if err != nil {
		return false
	}
	return m.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true"
}

// rowConditions returns the row conditions upstream attaches: a Completed
// condition for pods that succeeded or failed, none otherwise.
func rowConditions(obj runtime.Object) []metav1.TableRowCondition {
	if pod, ok := obj.(*corev1.Pod); ok && pod != nil {
		return podRowConditions(pod)
	}
	return nil
}

// cellsOf adapts a typed cell function to Printer.Cells: it rejects objects
// of another type and nil pointers instead of panicking.
func cellsOf[T runtime.Object](f func(obj T, now time.Time) ([]interface{}, error)) func(runtime.Object, time.Time) ([]interface{}, error) {
	return func(obj runtime.Object, now time.Time) ([]interface{}, error) {
		typed, ok := obj.(T)
		if !ok || isNilPointer(obj) {
			var want T
			return nil, fmt.Errorf("printers: expected a non-nil %T, got %T", want, obj)
		}
		return f(typed, now)
	}
}

// objectMeta returns obj's metadata, or an error for an object without
// metadata or a nil pointer.
func objectMeta(obj runtime.Object) (metav1.Object, error) {
	if isNilPointer(obj) {
		return nil, fmt.Errorf("printers: nil %T", obj)
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, fmt.Errorf("printers: %T has no object metadata: %w", obj, err)
	}
	return m, nil
}

// isNilPointer reports whether obj is an interface holding a nil pointer.
func isNilPointer(obj runtime.Object) bool {
	if obj == nil {
		return true
	}
	v := reflect.ValueOf(obj)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// objectMetaDoc holds ObjectMeta's field descriptions, which upstream uses for
// the NAME and AGE columns of every kind.
var objectMetaDoc = metav1.ObjectMeta{}.SwaggerDoc()

// nameColumn is the NAME column every printer starts with (Event aside).
func nameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc["name"]}
}

// ageColumn is the AGE column: the object's age as a human-readable duration.
func ageColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: objectMetaDoc["creationTimestamp"]}
}

// Descriptions of the CONTAINERS and IMAGES columns of workload kinds.
const (
	containersDoc = "Names of each container in the template."
	imagesDoc     = "Images referenced by each container in the template."
)

// age returns how long before now t was, as kubectl shows ages ("5m",
// "3d4h"), or "<unknown>" for a zero t.
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// microAge is age for a MicroTime.
func microAge(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// createdAtCell renders a creation time as the default table convertor
// does: RFC 3339 in UTC (a zero time gives the zero time's rendering).
func createdAtCell(t metav1.Time) string {
	return t.Time.UTC().Format(time.RFC3339)
}

// boolPtrCell renders an optional boolean as "True", "False" or "<unset>".
func boolPtrCell(b *bool) string {
	if b == nil {
		return "<unset>"
	}
	if *b {
		return "True"
	}
	return "False"
}

// int32Value returns *p, or 0 for nil, as conversion to the internal
// (non-pointer) field would.
func int32Value(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// stringValue returns *p, or "" for nil.
func stringValue(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// orNone returns s, or "<none>" when s is empty.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// listWithMore joins the first max items of list and, when total exceeds
// max, adds " + N more..."; an empty list is "<unset>".
func listWithMore(list []string, total, max int) string {
	if len(list) > max {
		list = list[:max]
	}
	ret := strings.Join(list, ",")
	if total > max {
		return fmt.Sprintf("%s + %d more...", ret, total-max)
	}
	if ret == "" {
		return "<unset>"
	}
	return ret
}
