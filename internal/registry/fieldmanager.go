package registry

import (
	"context"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// fieldManagers keeps metadata.managedFields on every write (server-side apply's bookkeeping),
// with one manager for the main resource and one for its status, each resetting the fields the
// other owns, as upstream's strategies' GetResetFields do.
type fieldManagers struct {
	once         sync.Once
	main, status *managedfields.FieldManager
	err          error
}

var (
	typeConverterOnce sync.Once
	typeConverter     managedfields.TypeConverter
)

// schemaConverter returns the type converter for built-in kinds (client-go's applyconfigurations
// schema, with list and map semantics), built once per process.
func schemaConverter(scheme *runtime.Scheme) managedfields.TypeConverter {
	typeConverterOnce.Do(func() { typeConverter = applyconfigurations.NewTypeConverter(scheme) })
	return typeConverter
}

func resetFilter(gv string, paths ...[]interface{}) map[fieldpath.APIVersion]fieldpath.Filter {
	set := fieldpath.NewSet()
	for _, p := range paths {
		set.Insert(fieldpath.MakePathOrDie(p...))
	}
	return map[fieldpath.APIVersion]fieldpath.Filter{fieldpath.APIVersion(gv): fieldpath.NewExcludeSetFilter(set)}
}

// managers returns the resource's field managers, building them on first use.
func (s *Store) managers() (*fieldManagers, error) {
	fm := s.fm
	fm.once.Do(func() {
		tc := schemaConverter(s.scheme)
		if _, err := tc.ObjectToTyped(s.newObject()); err != nil {
			// A kind outside client-go's schema (apiextensions): deduce its structure.
			tc = managedfields.NewDeducedTypeConverter()
		}
		gv := s.R.GVK.GroupVersion()
		var mainReset, statusReset map[fieldpath.APIVersion]fieldpath.Filter
		if s.R.Status {
			mainReset = resetFilter(gv.String(), []interface{}{"status"})
			statusReset = resetFilter(gv.String(), []interface{}{"spec"})
		}
		fm.main, fm.err = managedfields.NewDefaultFieldManager(tc, s.scheme, s.scheme, s.scheme, s.R.GVK, gv, "", mainReset)
		if fm.err == nil && s.R.Status {
			fm.status, fm.err = managedfields.NewDefaultFieldManager(tc, s.scheme, s.scheme, s.scheme, s.R.GVK, gv, "status", statusReset)
		}
	})
	return fm, fm.err
}

func (s *Store) newObject() runtime.Object {
	obj, err := s.scheme.New(s.R.GVK)
	if err != nil {
		panic(err)
	}
	obj.GetObjectKind().SetGroupVersionKind(s.R.GVK)
	return obj
}

func (fm *fieldManagers) forSubresource(sub string) *managedfields.FieldManager {
	if sub == "status" && fm.status != nil {
		return fm.status
	}
	return fm.main
}

// trackUpdate records in obj's managedFields what the manager of ctx changed from live.
func (s *Store) trackUpdate(ctx context.Context, live, obj runtime.Object, subresource string) runtime.Object {
	if skipTracking(ctx) {
		return obj
	}
	fm, err := s.managers()
	if err != nil {
		return obj
	}
	if live == nil {
		live = s.newObject()
	}
	return fm.forSubresource(subresource).UpdateNoErrors(live, obj, managerFrom(ctx))
}

// Apply merges a server-side apply configuration into live for manager, failing with a 409
// listing the conflicts unless force is set.
func (s *Store) Apply(live, applied runtime.Object, manager string, force bool, subresource string) (runtime.Object, error) {
	fm, err := s.managers()
	if err != nil {
		return nil, err
	}
	return fm.forSubresource(subresource).Apply(live, applied, manager, force)
}

// NewObject returns an empty object of the resource's kind.
func (s *Store) NewObject() runtime.Object { return s.newObject() }

type managerKey struct{}
type skipTrackingKey struct{}

// WithManager returns ctx naming the field manager of a write: the fieldManager parameter, or
// else the first part of the client's User-Agent, as upstream does.
func WithManager(ctx context.Context, fieldManager, userAgent string) context.Context {
	m := fieldManager
	if m == "" {
		m = strings.Split(userAgent, "/")[0]
		if len(m) > 128 {
			m = m[:128]
		}
	}
	return context.WithValue(ctx, managerKey{}, m)
}

// WithoutTracking marks a write whose managedFields are already computed (server-side apply).
func WithoutTracking(ctx context.Context) context.Context {
	return context.WithValue(ctx, skipTrackingKey{}, true)
}

func managerFrom(ctx context.Context) string {
	m, _ := ctx.Value(managerKey{}).(string)
	if m == "" {
		return "unknown"
	}
	return m
}

func skipTracking(ctx context.Context) bool {
	b, _ := ctx.Value(skipTrackingKey{}).(bool)
	return b
}
