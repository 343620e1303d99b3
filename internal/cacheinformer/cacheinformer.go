// Package cacheinformer lends the control plane's in-process components (the scheduler and the
// controller manager) the API server's own cached objects, so that a pod is decoded and held
// once in the server process instead of once more per component.
//
// Without it each in-process component lists and watches over loopback HTTPS like any client
// and decodes its own copy of every object: with many pods those copies were half of the
// server's live heap (BENCHMARKS.md). Informers built here list and watch the registry's stores
// directly; the objects they deliver are the watch cache's own.
//
// The contract is client-go's, enforced more strictly: an object obtained from an informer
// must never be mutated (copy it first, as every controller must anyway). Here a mutation
// would also change what the API server serves. Writes still go through the API, with each
// component's identity, authorization and admission; only reads bypass HTTP, and with it
// authorization (the components read these resources cluster-wide in any case).
package cacheinformer

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/storage"
)

// Source lends informers over a registry's stores.
type Source struct {
	reg *registry.Registry
}

// New returns a Source over reg, whose stores must be open.
func New(reg *registry.Registry) *Source { return &Source{reg: reg} }

// shared lists the kinds whose informers Prime replaces: the ones whose count grows with the
// cluster.
var shared = []struct {
	gvr     schema.GroupVersionResource
	example runtime.Object
}{
	{corev1.SchemeGroupVersion.WithResource("pods"), &corev1.Pod{}},
	{corev1.SchemeGroupVersion.WithResource("nodes"), &corev1.Node{}},
}

// Prime registers, on f, informers for pods and nodes that read the API server's watch cache
// directly. Call it before anything asks f for those informers: later requests for them
// (f.Core().V1().Pods() and so on) return these. The factory's transform, if any, is not
// applied to them, since it would change the server's own objects.
func (s *Source) Prime(f informers.SharedInformerFactory) {
	for _, k := range shared {
		lw, err := s.ListerWatcher(k.gvr, false)
		if err != nil {
			panic(err) // pods and nodes are always served
		}
		f.InformerFor(k.example, func(_ kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
			inf := cache.NewSharedIndexInformer(lw, k.example, resync, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
			return untransformed{inf}
		})
	}
}

// Metadata returns a ListerWatcher of gvr's objects as PartialObjectMetadata (what a metadata
// informer holds), without their managedFields, or nil if gvr is not stored here.
func (s *Source) Metadata(gvr schema.GroupVersionResource) cache.ListerWatcher {
	lw, err := s.ListerWatcher(gvr, true)
	if err != nil {
		return nil
	}
	return lw
}

// untransformed is an informer that ignores SetTransform: the informer factory sets its
// transform on every informer it holds, and a transform mutates the objects it is given.
type untransformed struct{ cache.SharedIndexInformer }

func (untransformed) SetTransform(cache.TransformFunc) error { return nil }

// ListerWatcher returns a ListerWatcher over the store of gvr. With metadata, it delivers
// PartialObjectMetadata that share the stored objects' metadata (labels, owner references
// and the rest are the same maps and slices), without managedFields.
func (s *Source) ListerWatcher(gvr schema.GroupVersionResource, metadata bool) (*ListerWatcher, error) {
	res, store, ok := s.reg.Lookup(gvr)
	if !ok || store.Storage() == nil {
		return nil, fmt.Errorf("%s is not stored by this server", gvr)
	}
	return &ListerWatcher{res: res, store: store, metadata: metadata}, nil
}

// ListerWatcher lists and watches one resource from its store. It implements
// cache.ListerWatcherWithContext.
type ListerWatcher struct {
	res      *registry.Resource
	store    *registry.Store
	metadata bool
}

// IsWatchListSemanticsUnSupported makes informers list then watch: a list from the cache is
// a slice of pointers, cheaper than a stream of initial events.
func (*ListerWatcher) IsWatchListSemanticsUnSupported() bool { return true }

// item is what an informer gets for a stored object.
func (lw *ListerWatcher) item(obj runtime.Object) runtime.Object {
	if !lw.metadata {
		return obj
	}
	return partialMetadata(obj)
}

// partialMetadata returns obj's metadata as a PartialObjectMetadata without managedFields,
// sharing obj's maps and slices.
func partialMetadata(obj runtime.Object) *metav1.PartialObjectMetadata {
	pm := registry.PartialMetadata(obj, "v1")
	pm.ManagedFields = nil
	return pm
}

// ListWithContext lists the resource in opts.Namespace-less scope (all namespaces), as an
// informer does.
func (lw *ListerWatcher) ListWithContext(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
	p, err := lw.res.Predicate(opts.LabelSelector, opts.FieldSelector)
	if err != nil {
		return nil, err
	}
	res, err := lw.store.List(ctx, "", storage.ListOptions{
		ResourceVersion: opts.ResourceVersion,
		Match:           storage.ResourceVersionMatch(opts.ResourceVersionMatch),
		Limit:           opts.Limit,
		Continue:        opts.Continue,
		Predicate:       p,
	})
	if err != nil {
		return nil, err
	}
	// A metav1.List of RawExtensions holding the objects themselves: client-go's
	// meta.ExtractList takes each Object as it is, where a typed list would be a copy.
	list := &metav1.List{ListMeta: metav1.ListMeta{ResourceVersion: strconv.FormatUint(res.ResourceVersion, 10),
		Continue: res.Continue, RemainingItemCount: res.RemainingItemCount}}
	list.Items = make([]runtime.RawExtension, len(res.Items))
	for i, it := range res.Items {
		list.Items[i].Object = lw.item(it)
	}
	return list, nil
}

// WatchWithContext watches from opts.ResourceVersion until ctx ends, the watch is stopped,
// opts.TimeoutSeconds pass, or the store ends it (the informer then resumes, as after a
// server-side close).
func (lw *ListerWatcher) WatchWithContext(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	p, err := lw.res.Predicate(opts.LabelSelector, opts.FieldSelector)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	if opts.TimeoutSeconds != nil && *opts.TimeoutSeconds > 0 {
		wctx, cancel = context.WithTimeout(ctx, time.Duration(*opts.TimeoutSeconds)*time.Second)
	}
	sw, err := lw.store.Watch(wctx, "", storage.WatchOptions{
		ResourceVersion: opts.ResourceVersion,
		Predicate:       p,
		AllowBookmarks:  opts.AllowWatchBookmarks,
	})
	if err != nil {
		cancel()
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			// As the API server does: a too-old resourceVersion is an ERROR event in the
			// stream, which makes the informer list again.
			return errorWatch(err), nil
		}
		return nil, err
	}
	w := &watcher{result: make(chan watch.Event), done: make(chan struct{})}
	w.stop = func() { close(w.done); cancel() }
	go w.run(wctx, sw, lw)
	return w, nil
}

// watcher adapts a storage watcher to watch.Interface.
type watcher struct {
	result chan watch.Event
	done   chan struct{}
	stop   func()
	once   sync.Once
}

func (w *watcher) run(ctx context.Context, sw *storage.Watcher, lw *ListerWatcher) {
	defer close(w.result)
	defer sw.Stop()
	for {
		var ev storage.WatchEvent
		var ok bool
		select {
		case ev, ok = <-sw.ResultChan():
			if !ok {
				return
			}
		case <-ctx.Done():
			return
		case <-w.done:
			return
		}
		out := watch.Event{Type: watch.EventType(ev.Type), Object: ev.Object}
		switch ev.Type {
		case storage.Error, storage.Bookmark:
			if lw.metadata && ev.Type == storage.Bookmark {
				out.Object = partialMetadata(ev.Object)
			}
		default:
			out.Object = lw.item(ev.Object)
		}
		select {
		case w.result <- out:
		case <-ctx.Done():
			return
		case <-w.done:
			return
		}
	}
}

// Stop ends the watch; ResultChan is closed soon after.
func (w *watcher) Stop() { w.once.Do(w.stop) }

func (w *watcher) ResultChan() <-chan watch.Event { return w.result }

// errorWatch returns a watch that delivers err as one ERROR event and ends.
func errorWatch(err error) watch.Interface {
	status := &metav1.Status{Status: metav1.StatusFailure, Message: err.Error()}
	if st, ok := err.(apierrors.APIStatus); ok {
		s := st.Status()
		status = &s
	}
	ch := make(chan watch.Event, 1)
	ch <- watch.Event{Type: watch.Error, Object: status}
	close(ch)
	return &closedWatch{ch: ch}
}

type closedWatch struct{ ch chan watch.Event }

func (w *closedWatch) Stop()                          {}
func (w *closedWatch) ResultChan() <-chan watch.Event { return w.ch }

// List is ListWithContext without a context (cache.ListerWatcher); informers use the
// context variants.
func (lw *ListerWatcher) List(opts metav1.ListOptions) (runtime.Object, error) {
	return lw.ListWithContext(context.Background(), opts)
}

// Watch is WatchWithContext without a context (cache.ListerWatcher).
func (lw *ListerWatcher) Watch(opts metav1.ListOptions) (watch.Interface, error) {
	return lw.WatchWithContext(context.Background(), opts)
}
