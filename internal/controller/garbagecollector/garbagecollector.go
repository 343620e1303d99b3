// Package garbagecollector deletes objects whose owners are gone, as upstream's garbage
// collector does, over every resource the API server serves that can be listed, watched and
// deleted (found through discovery, rechecked every 30 s so that custom resources join).
//
// It watches object metadata only (PartialObjectMetadata lists and watches) and keeps a graph:
// each object by UID, and for each UID the objects that name it in an ownerReference. A queue
// of UIDs feeds process(uid):
//
//   - an object being deleted with the orphan finalizer has the references to it removed from
//     its dependents, then the finalizer removed (Orphan propagation);
//   - an object being deleted with the foregroundDeletion finalizer gets its dependents deleted,
//     and loses the finalizer once no dependent with blockOwnerDeletion remains (Foreground);
//   - any other object with owner references is checked owner by owner (the graph first, then
//     a live GET, so a lagging watch never condemns an object whose owner was just created);
//     with no owner left it is deleted (DecideDependent), which is Background propagation and
//     also collects objects whose owners never existed.
//
// When an object disappears, its dependents and its owners are queued again.
package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff-project/skiff/internal/trim"
)

// ignored are resources the collector does not track, as upstream.
var ignored = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:              true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

type node struct {
	gvr schema.GroupVersionResource
	obj *metav1.PartialObjectMetadata
}

// Collector is the garbage collector.
type Collector struct {
	meta      metadata.Interface
	discovery discovery.DiscoveryInterface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	queue     workqueue.TypedRateLimitingInterface[types.UID]
	log       *slog.Logger

	mu         sync.Mutex
	nodes      map[types.UID]*node
	dependents map[types.UID]map[types.UID]bool
	watched    map[schema.GroupVersionResource]cache.SharedIndexInformer

	// Source, if set, returns the lister-watcher of a resource's metadata to use instead of
	// the metadata client's, or nil for that client's (see package cacheinformer).
	Source func(schema.GroupVersionResource) cache.ListerWatcher
}

// New returns a collector using the metadata client and discovery.
func New(metaClient metadata.Interface, disc discovery.DiscoveryInterface, log *slog.Logger) *Collector {
	return &Collector{
		meta:       metaClient,
		discovery:  disc,
		mapper:     restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
		queue:      workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.UID](), workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "garbagecollector"}),
		log:        log,
		nodes:      map[types.UID]*node{},
		dependents: map[types.UID]map[types.UID]bool{},
		watched:    map[schema.GroupVersionResource]cache.SharedIndexInformer{},
	}
}

// Run runs the collector until ctx ends.
func (c *Collector) Run(ctx context.Context, workers int) {
	defer c.queue.ShutDown()
	if err := c.syncResources(ctx); err != nil {
		c.log.Warn("garbage collector: discovery", "err", err)
	}
	go func() {
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.next(ctx) {
			}
		}()
	}
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
			c.mapper.Reset()
			if err := c.syncResources(ctx); err != nil {
				c.log.Debug("garbage collector: discovery", "err", err)
			}
		}
	}
}

// informerFor returns a started metadata informer for gvr. It lists then watches instead of
// using client-go's streaming lists (WatchListClient): an informer stuck waiting for the
// initial-events bookmark would hold up the collector's start, and streaming lists of
// PartialObjectMetadata have not been proven against skiff's API server.
func (c *Collector) informerFor(ctx context.Context, gvr schema.GroupVersionResource) cache.SharedIndexInformer {
	var lw cache.ListerWatcher
	if c.Source != nil {
		lw = c.Source(gvr)
	}
	remote := lw == nil
	if remote {
		r := c.meta.Resource(gvr)
		lw = &listWatch{ListWatch: &cache.ListWatch{
			ListWithContextFunc:  func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return r.List(ctx, o) },
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return r.Watch(ctx, o) },
		}}
	}
	inf := cache.NewSharedIndexInformer(lw, &metav1.PartialObjectMetadata{}, 0, cache.Indexers{})
	if remote {
		// Objects lent by Source come without managedFields, and are not ours to change.
		_ = inf.SetTransform(trim.ManagedFields)
	}
	go inf.RunWithContext(ctx)
	return inf
}

// listWatch opts out of streaming lists.
type listWatch struct{ *cache.ListWatch }

func (listWatch) IsWatchListSemanticsUnSupported() bool { return true }

// syncResources starts informers for the deletable, listable, watchable resources not yet
// watched, and waits for them to sync.
func (c *Collector) syncResources(ctx context.Context) error {
	lists, err := c.discovery.ServerPreferredResources()
	if lists == nil && err != nil {
		return err
	}
	var started []cache.InformerSynced
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			if !hasVerbs(r.Verbs, "list", "watch", "delete") || containsSlash(r.Name) {
				continue
			}
			gvr := gv.WithResource(r.Name)
			if ignored[gvr.GroupResource()] {
				continue
			}
			c.mu.Lock()
			_, ok := c.watched[gvr]
			c.mu.Unlock()
			if ok {
				continue
			}
			inf := c.informerFor(ctx, gvr)
			if _, herr := inf.AddEventHandler(c.handler(gvr)); herr != nil {
				continue
			}
			c.mu.Lock()
			c.watched[gvr] = inf
			c.mu.Unlock()
			started = append(started, inf.HasSynced)

		}
	}
	cache.WaitForCacheSync(ctx.Done(), started...)
	return err
}

func containsSlash(s string) bool {
	for _, r := range s {
		if r == '/' {
			return true
		}
	}
	return false
}

func hasVerbs(verbs []string, want ...string) bool {
	have := map[string]bool{}
	for _, v := range verbs {
		have[v] = true
	}
	for _, w := range want {
		if !have[w] {
			return false
		}
	}
	return true
}

func asMeta(obj any) (*metav1.PartialObjectMetadata, bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	m, ok := obj.(*metav1.PartialObjectMetadata)
	return m, ok
}

func (c *Collector) handler(gvr schema.GroupVersionResource) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.observe(gvr, nil, obj) },
		UpdateFunc: func(old, obj any) { c.observe(gvr, old, obj) },
		DeleteFunc: func(obj any) { c.forget(obj) },
	}
}

// observe records obj in the graph and queues what needs a look.
func (c *Collector) observe(gvr schema.GroupVersionResource, oldObj, obj any) {
	m, ok := asMeta(obj)
	if !ok {
		return
	}
	c.mu.Lock()
	var oldRefs []metav1.OwnerReference
	if prev, ok := c.nodes[m.UID]; ok {
		oldRefs = prev.obj.OwnerReferences
	}
	for _, ref := range oldRefs {
		delete(c.dependents[ref.UID], m.UID)
	}
	c.nodes[m.UID] = &node{gvr: gvr, obj: m}
	for _, ref := range m.OwnerReferences {
		if c.dependents[ref.UID] == nil {
			c.dependents[ref.UID] = map[types.UID]bool{}
		}
		c.dependents[ref.UID][m.UID] = true
	}
	c.mu.Unlock()
	deleting := m.DeletionTimestamp != nil && (hasFinalizer(m, metav1.FinalizerOrphanDependents) || hasFinalizer(m, metav1.FinalizerDeleteDependents))
	if len(m.OwnerReferences) > 0 || deleting {
		c.queue.Add(m.UID)
	}
	// An owner whose ownerReferences changed may have lost a blocking dependent.
	for _, ref := range oldRefs {
		c.queue.Add(ref.UID)
	}
	if m.DeletionTimestamp != nil {
		c.enqueueRelated(m)
	}
}

// forget removes a deleted object and queues its dependents and owners.
func (c *Collector) forget(obj any) {
	m, ok := asMeta(obj)
	if !ok {
		return
	}
	c.mu.Lock()
	if cur, ok := c.nodes[m.UID]; ok {
		for _, ref := range cur.obj.OwnerReferences {
			delete(c.dependents[ref.UID], m.UID)
		}
	}
	delete(c.nodes, m.UID)
	c.mu.Unlock()
	c.enqueueRelated(m)
}

func (c *Collector) enqueueRelated(m *metav1.PartialObjectMetadata) {
	c.mu.Lock()
	var uids []types.UID
	for d := range c.dependents[m.UID] {
		uids = append(uids, d)
	}
	c.mu.Unlock()
	for _, ref := range m.OwnerReferences {
		uids = append(uids, ref.UID)
	}
	for _, u := range uids {
		c.queue.Add(u)
	}
}

func (c *Collector) next(ctx context.Context) bool {
	uid, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(uid)
	if err := c.process(ctx, uid); err != nil {
		if ctx.Err() == nil && c.queue.NumRequeues(uid) < 15 {
			c.log.Debug("garbage collector: retrying", "uid", uid, "err", err)
			c.queue.AddRateLimited(uid)
			return true
		}
	}
	c.queue.Forget(uid)
	return true
}

func (c *Collector) node(uid types.UID) *node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[uid]
}

func (c *Collector) dependentsOf(uid types.UID) []*node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*node
	for d := range c.dependents[uid] {
		if n, ok := c.nodes[d]; ok {
			out = append(out, n)
		}
	}
	return out
}

func (c *Collector) client(n *node) metadata.ResourceInterface {
	r := c.meta.Resource(n.gvr)
	if n.obj.Namespace != "" {
		return r.Namespace(n.obj.Namespace)
	}
	return r
}

func (c *Collector) process(ctx context.Context, uid types.UID) error {
	n := c.node(uid)
	if n == nil {
		return nil
	}
	m := n.obj
	if m.DeletionTimestamp != nil {
		switch {
		case hasFinalizer(m, metav1.FinalizerOrphanDependents):
			return c.orphan(ctx, n)
		case hasFinalizer(m, metav1.FinalizerDeleteDependents):
			return c.foreground(ctx, n)
		}
		return nil
	}
	if len(m.OwnerReferences) == 0 {
		return nil
	}
	owners := map[types.UID]OwnerState{}
	for _, ref := range m.OwnerReferences {
		st, err := c.ownerState(ctx, m.Namespace, ref)
		if err != nil {
			return err
		}
		owners[ref.UID] = st
	}
	a := DecideDependent(m, owners, len(c.dependentsOf(uid)) > 0)
	switch {
	case a.Delete:
		policy := a.Policy
		err := c.client(n).Delete(ctx, m.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &m.UID}, PropagationPolicy: &policy})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		if err == nil {
			c.log.Debug("garbage collector: deleted", "resource", n.gvr.Resource, "namespace", m.Namespace, "name", m.Name, "policy", policy)
		}
		return err
	case len(a.RemoveRefs) > 0 || len(a.Unblock) > 0:
		return c.patchRefs(ctx, n, a.RemoveRefs, a.Unblock)
	}
	return nil
}

// ownerState looks ref up in the graph, and if it is not there, asks the API server.
func (c *Collector) ownerState(ctx context.Context, ns string, ref metav1.OwnerReference) (OwnerState, error) {
	if o := c.node(ref.UID); o != nil {
		return stateOf(o.obj), nil
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return Dangling, nil
	}
	mapping, err := c.mapper.RESTMapping(gv.WithKind(ref.Kind).GroupKind(), gv.Version)
	if meta.IsNoMatchError(err) {
		c.mapper.Reset()
		mapping, err = c.mapper.RESTMapping(gv.WithKind(ref.Kind).GroupKind(), gv.Version)
	}
	if err != nil {
		return Solid, fmt.Errorf("owner %s %s: %w", ref.APIVersion, ref.Kind, err)
	}
	r := c.meta.Resource(mapping.Resource)
	var got *metav1.PartialObjectMetadata
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		got, err = r.Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
	} else {
		got, err = r.Get(ctx, ref.Name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return Dangling, nil
	}
	if err != nil {
		return Solid, err
	}
	if got.UID != ref.UID {
		return Dangling, nil
	}
	return stateOf(got), nil
}

func stateOf(m *metav1.PartialObjectMetadata) OwnerState {
	if m.DeletionTimestamp != nil && hasFinalizer(m, metav1.FinalizerDeleteDependents) {
		return Waiting
	}
	return Solid
}

// patchRefs drops the owner references remove and clears blockOwnerDeletion on unblock, with
// the object's resourceVersion as precondition.
func (c *Collector) patchRefs(ctx context.Context, n *node, remove, unblock []types.UID) error {
	fresh, err := c.client(n).Get(ctx, n.obj.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if fresh.UID != n.obj.UID {
		return nil
	}
	drop, clear := map[types.UID]bool{}, map[types.UID]bool{}
	for _, u := range remove {
		drop[u] = true
	}
	for _, u := range unblock {
		clear[u] = true
	}
	refs := []metav1.OwnerReference{}
	for _, ref := range fresh.OwnerReferences {
		if drop[ref.UID] {
			continue
		}
		if clear[ref.UID] {
			f := false
			ref.BlockOwnerDeletion = &f
		}
		refs = append(refs, ref)
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": refs, "resourceVersion": fresh.ResourceVersion}})
	_, err = c.client(n).Patch(ctx, fresh.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// removeFinalizer removes f from n's object.
func (c *Collector) removeFinalizer(ctx context.Context, n *node, f string) error {
	fresh, err := c.client(n).Get(ctx, n.obj.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if fresh.UID != n.obj.UID || !hasFinalizer(fresh, f) {
		return nil
	}
	fs := withoutFinalizer(fresh.Finalizers, f)
	if fs == nil {
		fs = []string{}
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": fs, "resourceVersion": fresh.ResourceVersion}})
	_, err = c.client(n).Patch(ctx, fresh.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// orphan strips the references to n from its dependents, then removes the orphan finalizer.
func (c *Collector) orphan(ctx context.Context, n *node) error {
	for _, d := range c.dependentsOf(n.obj.UID) {
		if err := c.patchRefs(ctx, d, []types.UID{n.obj.UID}, nil); err != nil {
			return err
		}
	}
	return c.removeFinalizer(ctx, n, metav1.FinalizerOrphanDependents)
}

// foreground deletes n's dependents and removes the foregroundDeletion finalizer once none
// blocks it any more.
func (c *Collector) foreground(ctx context.Context, n *node) error {
	deps := c.dependentsOf(n.obj.UID)
	var objs []metav1.Object
	for _, d := range deps {
		objs = append(objs, d.obj)
		if d.obj.DeletionTimestamp == nil {
			c.queue.Add(d.obj.UID) // DecideDependent sees n as Waiting and deletes it
		}
	}
	if len(Blocking(n.obj.UID, objs)) > 0 {
		return nil // each dependent's disappearance queues n again
	}
	return c.removeFinalizer(ctx, n, metav1.FinalizerDeleteDependents)
}
