package registry

import (
	"context"
	"fmt"
	"sort"

	clientv3 "go.etcd.io/etcd/client/v3"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/skiff-project/skiff/internal/conversion"
	"github.com/skiff-project/skiff/internal/storage"
)

// NewScheme returns a scheme with every k8s.io/api kind, the apiextensions kinds and the
// meta.k8s.io kinds (Table, PartialObjectMetadata) registered.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		return nil, err
	}
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	if err := metav1.AddMetaToScheme(s); err != nil {
		return nil, err
	}
	if err := conversion.AddToScheme(s); err != nil {
		return nil, err
	}
	// Options may name meta.k8s.io/v1 as their group-version (kubectl's DeleteOptions do).
	s.AddKnownTypes(metav1.SchemeGroupVersion, &metav1.DeleteOptions{}, &metav1.ListOptions{},
		&metav1.GetOptions{}, &metav1.CreateOptions{}, &metav1.UpdateOptions{}, &metav1.PatchOptions{})
	return s, nil
}

// Registry is the table of served resources and their stores.
type Registry struct {
	Scheme *runtime.Scheme
	Codecs serializer.CodecFactory

	resources []*Resource
	byGVR     map[schema.GroupVersionResource]*Resource
	stores    map[*Resource]*Store
}

// New returns a registry of resources over scheme.
func New(scheme *runtime.Scheme, resources []*Resource) (*Registry, error) {
	r := &Registry{
		Scheme: scheme,
		Codecs: serializer.NewCodecFactory(scheme),
		byGVR:  map[schema.GroupVersionResource]*Resource{},
		stores: map[*Resource]*Store{},
	}
	for _, res := range resources {
		if err := r.add(res); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Registry) add(res *Resource) error {
	gvr := res.GroupVersionResource()
	if _, ok := r.byGVR[gvr]; ok {
		return fmt.Errorf("resource %s registered twice", gvr)
	}
	if !r.Scheme.Recognizes(res.GVK) {
		return fmt.Errorf("resource %s: kind %s is not in the scheme", gvr, res.GVK)
	}
	if res.EtcdPrefix == "" && res.Verbs == nil {
		res.EtcdPrefix = "/registry/" + res.Plural + "/"
	}
	if res.EtcdPrefix == "" {
		res.EtcdPrefix = "-" // create-only resources are never stored
	}
	r.resources = append(r.resources, res)
	r.byGVR[gvr] = res
	return nil
}

// Open creates the storage of every resource on feed. Call before feed.Start.
func (r *Registry) Open(ctx context.Context, client *clientv3.Client, feed *storage.Feed, transformers map[schema.GroupResource]storage.Transformer) error {
	byPrefix := map[string]*storage.Store{}
	byGVK := map[schema.GroupVersionKind]*Store{}
	for _, res := range r.resources {
		st := &Store{R: res, scheme: r.Scheme, fm: &fieldManagers{}}
		if res.Virtual != nil || res.EtcdPrefix == "-" {
			r.stores[res] = st
			continue
		}
		if !res.StorageGVK.Empty() && res.StorageGVK != res.GVK {
			inner, ok := byGVK[res.StorageGVK]
			if !ok || inner.R.EtcdPrefix != res.EtcdPrefix {
				return fmt.Errorf("resource %s: its storage kind %s must be served, at prefix %s, before it", res.GroupVersionResource(), res.StorageGVK, res.EtcdPrefix)
			}
			st.inner, st.storage = inner, inner.storage
			r.stores[res] = st
			continue
		}
		byGVK[res.GVK] = st
		ss, ok := byPrefix[res.EtcdPrefix]
		if !ok {
			var err error
			ss, err = storage.NewStore(ctx, client, feed, storage.ResourceConfig{
				Resource:    res.GroupResource(),
				Prefix:      res.EtcdPrefix,
				Codec:       newProtoCodec(r.Scheme, res.GVK),
				Transformer: transformers[res.GroupResource()],
				NewFunc:     r.newFunc(res.GVK),
				Attrs:       st.Attrs,
				IndexField:  res.IndexField,
			})
			if err != nil {
				return err
			}
			byPrefix[res.EtcdPrefix] = ss
		}
		st.storage = ss
		r.stores[res] = st
	}
	return nil
}

func (r *Registry) newFunc(gvk schema.GroupVersionKind) func() runtime.Object {
	return func() runtime.Object {
		obj, err := r.Scheme.New(gvk)
		if err != nil {
			panic(err)
		}
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		return obj
	}
}

// New returns an empty object of gvk with its TypeMeta set.
func (r *Registry) New(gvk schema.GroupVersionKind) runtime.Object { return r.newFunc(gvk)() }

// Lookup returns the resource served at gvr.
func (r *Registry) Lookup(gvr schema.GroupVersionResource) (*Resource, *Store, bool) {
	res, ok := r.byGVR[gvr]
	if !ok {
		return nil, nil, false
	}
	return res, r.stores[res], true
}

// Store returns the store of the resource served at gvr, or nil.
func (r *Registry) Store(gvr schema.GroupVersionResource) *Store {
	_, s, _ := r.Lookup(gvr)
	return s
}

// Resources returns every resource, in registration order.
func (r *Registry) Resources() []*Resource { return r.resources }

// GroupVersions returns the served group-versions: the core group first, then the others in
// upstream's discovery order where known, then alphabetically.
func (r *Registry) GroupVersions() []schema.GroupVersion {
	seen := map[schema.GroupVersion]bool{}
	var out []schema.GroupVersion
	for _, res := range r.resources {
		gv := res.GVK.GroupVersion()
		if !seen[gv] {
			seen[gv] = true
			out = append(out, gv)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return groupRank(out[i].Group) < groupRank(out[j].Group) })
	return out
}

// groupOrder is upstream's discovery order of built-in groups.
var groupOrder = []string{
	"", "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io",
	"autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io", "policy", "rbac.authorization.k8s.io",
	"storage.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io", "scheduling.k8s.io",
	"coordination.k8s.io", "node.k8s.io", "discovery.k8s.io", "resource.k8s.io", "flowcontrol.apiserver.k8s.io",
}

func groupRank(g string) int {
	for i, x := range groupOrder {
		if x == g {
			return i
		}
	}
	return len(groupOrder)
}
