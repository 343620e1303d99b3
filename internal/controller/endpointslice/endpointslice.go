// Package endpointslice is the EndpointSlice controller: it keeps, for every Service with a
// selector, EndpointSlices that list the Service's pods.
//
// sync(key) lists the pods the Service selects, resolves the Service's ports on each (a named
// targetPort is looked up in the pod's container ports, so pods may resolve to different
// ports; each distinct ports list gets slices of its own), builds one endpoint per pod with an
// IP (conditions ready, serving and terminating as upstream computes them, the node's zone,
// and a targetRef), and reconciles the Service's slices with few writes (see Reconcile): at
// most MaxEndpoints endpoints per slice, named <service>-<random> through generateName,
// labelled kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by, and owned
// by the Service, so the garbage collector removes them with it. A Service without endpoints
// keeps one empty slice. The kubernetes Service in default is left to the API server, and
// Services without a selector or of type ExternalName get no slices from this controller.
//
// The slice informer may lag behind the controller's own writes; the controller remembers the
// generation each write produced and does not reconcile a Service again until its informer
// has caught up, so a stale cache never leads to duplicate slices.
package endpointslice

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiff-project/skiff/internal/controller/keyqueue"
)

// Name is the controller's name, as upstream's.
const Name = "endpointslice-controller"

// Event reasons, as upstream's.
const (
	FailedToUpdateEndpointSlices = "FailedToUpdateEndpointSlices"
)

// Controller is the EndpointSlice controller.
type Controller struct {
	client   kubernetes.Interface
	services corelisters.ServiceLister
	pods     corelisters.PodLister
	nodes    corelisters.NodeLister
	slices   discoverylisters.EndpointSliceLister
	queue    keyqueue.Queue
	recorder record.EventRecorder
	log      *slog.Logger
	synced   []cache.InformerSynced
	tracker  tracker
}

// New returns the EndpointSlice controller, registering its informers on f.
func New(client kubernetes.Interface, f informers.SharedInformerFactory, recorder record.EventRecorder, log *slog.Logger) (*Controller, error) {
	svcInf := f.Core().V1().Services().Informer()
	podInf := f.Core().V1().Pods().Informer()
	nodeInf := f.Core().V1().Nodes().Informer()
	sliceInf := f.Discovery().V1().EndpointSlices().Informer()
	c := &Controller{
		client:   client,
		services: f.Core().V1().Services().Lister(),
		pods:     f.Core().V1().Pods().Lister(),
		nodes:    f.Core().V1().Nodes().Lister(),
		slices:   f.Discovery().V1().EndpointSlices().Lister(),
		queue:    keyqueue.New(Name),
		recorder: recorder,
		log:      log,
		synced:   []cache.InformerSynced{svcInf.HasSynced, podInf.HasSynced, nodeInf.HasSynced, sliceInf.HasSynced},
		tracker:  tracker{m: map[string]map[string]int64{}, since: map[string]time.Time{}},
	}
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{svcInf, cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { keyqueue.Enqueue(c.queue, obj) },
			UpdateFunc: func(_, obj any) { keyqueue.Enqueue(c.queue, obj) },
			DeleteFunc: func(obj any) { keyqueue.Enqueue(c.queue, obj) },
		}},
		{podInf, PodHandler(c.queue, c.services)},
		{nodeInf, cache.ResourceEventHandlerFuncs{UpdateFunc: c.updateNode}},
		{sliceInf, cache.ResourceEventHandlerFuncs{
			AddFunc:    c.sliceChanged,
			UpdateFunc: func(_, obj any) { c.sliceChanged(obj) },
			DeleteFunc: c.sliceChanged,
		}},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, Name, c.queue, workers, c.log, c.sync, c.synced...)
}

// PodHandler enqueues the Services whose selector matches a pod before or after each change
// (shared with the Endpoints controller).
func PodHandler(q keyqueue.Queue, services corelisters.ServiceLister) cache.ResourceEventHandler {
	enqueue := func(pods ...*corev1.Pod) {
		seen := map[string]bool{}
		for _, pod := range pods {
			all, err := services.Services(pod.Namespace).List(labels.Everything())
			if err != nil {
				continue
			}
			for _, svc := range all {
				if svc.Spec.Selector == nil || !labels.SelectorFromValidatedSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
					continue
				}
				if key := svc.Namespace + "/" + svc.Name; !seen[key] {
					seen[key] = true
					q.Add(key)
				}
			}
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { enqueue(obj.(*corev1.Pod)) },
		UpdateFunc: func(oldObj, newObj any) {
			old, cur := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
			if old.ResourceVersion != cur.ResourceVersion {
				enqueue(old, cur)
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				enqueue(pod)
			}
		},
	}
}

// updateNode resyncs every Service when a node's zone changes.
func (c *Controller) updateNode(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Node), newObj.(*corev1.Node)
	if old.Labels[corev1.LabelTopologyZone] == cur.Labels[corev1.LabelTopologyZone] {
		return
	}
	all, _ := c.services.List(labels.Everything())
	for _, svc := range all {
		c.queue.Add(svc.Namespace + "/" + svc.Name)
	}
}

func (c *Controller) sliceChanged(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || s.Labels[managedByLabel] != ManagedBy || s.Labels[serviceNameLabel] == "" {
		return
	}
	c.queue.Add(s.Namespace + "/" + s.Labels[serviceNameLabel])
}

func (c *Controller) zone(node string) string {
	n, err := c.nodes.Get(node)
	if err != nil {
		return ""
	}
	return n.Labels[corev1.LabelTopologyZone]
}

// Managed reports whether svc gets endpoints from the controllers: it has a selector, is not
// ExternalName, and is not default/kubernetes (which the API server maintains).
func Managed(svc *corev1.Service) bool {
	return svc.Spec.Selector != nil && svc.Spec.Type != corev1.ServiceTypeExternalName &&
		!(svc.Namespace == metav1.NamespaceDefault && svc.Name == "kubernetes")
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.tracker.forget(key) // the garbage collector deletes the slices the Service owned
		return nil
	}
	if err != nil {
		return err
	}
	if !Managed(svc) || svc.DeletionTimestamp != nil {
		return nil
	}
	existing, err := c.slices.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{serviceNameLabel: name, managedByLabel: ManagedBy}))
	if err != nil {
		return err
	}
	if !c.tracker.caughtUp(key, existing) {
		c.queue.AddAfter(key, time.Second) // the slice events will bring it back sooner
		return nil
	}
	var owned []*discoveryv1.EndpointSlice
	for _, s := range existing {
		if ref := metav1.GetControllerOfNoCopy(s); ref == nil || ref.UID == svc.UID {
			owned = append(owned, s)
		}
	}
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return err
	}
	var plan Plan
	types := AddressTypes(svc)
	for _, t := range types {
		var ofType []*discoveryv1.EndpointSlice
		for _, s := range owned {
			if s.AddressType == t {
				ofType = append(ofType, s)
			}
		}
		p := Reconcile(svc, t, Desired(svc, pods, t, c.zone), ofType)
		plan.Create = append(plan.Create, p.Create...)
		plan.Update = append(plan.Update, p.Update...)
		plan.Delete = append(plan.Delete, p.Delete...)
	}
	for _, s := range owned { // slices of an address type the Service no longer has
		stale := true
		for _, t := range types {
			stale = stale && s.AddressType != t
		}
		if stale {
			plan.Delete = append(plan.Delete, s)
		}
	}
	if err := c.apply(ctx, key, plan); err != nil {
		c.recorder.Eventf(svc, corev1.EventTypeWarning, FailedToUpdateEndpointSlices, "Error updating Endpoint Slices for Service %s/%s: %v", ns, name, err)
		return err
	}
	return nil
}

// apply writes plan, remembering the generation of each write for the tracker.
func (c *Controller) apply(ctx context.Context, key string, plan Plan) error {
	var errs []error
	api := func(ns string) interface {
		Create(context.Context, *discoveryv1.EndpointSlice, metav1.CreateOptions) (*discoveryv1.EndpointSlice, error)
		Update(context.Context, *discoveryv1.EndpointSlice, metav1.UpdateOptions) (*discoveryv1.EndpointSlice, error)
		Delete(context.Context, string, metav1.DeleteOptions) error
	} {
		return c.client.DiscoveryV1().EndpointSlices(ns)
	}
	for _, s := range plan.Create {
		created, err := api(s.Namespace).Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				continue
			}
			errs = append(errs, err)
			continue
		}
		c.tracker.expect(key, created.Name, created.Generation)
	}
	for _, s := range plan.Update {
		updated, err := api(s.Namespace).Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.tracker.expect(key, updated.Name, updated.Generation)
	}
	for _, s := range plan.Delete {
		err := api(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		c.tracker.expect(key, s.Name, deleted)
	}
	return errors.Join(errs...)
}

// deleted is the generation the tracker expects of a slice the controller deleted.
const deleted = -1

// tracker remembers, per Service, the generation of each slice the controller last wrote, so
// that sync can tell whether its informer has seen its own writes.
type tracker struct {
	mu    sync.Mutex
	m     map[string]map[string]int64 // service key -> slice name -> generation (or deleted)
	since map[string]time.Time        // service key -> first unobserved write
}

// trackerTimeout is how long the tracker waits for the informer before it trusts the cache
// again (a slice someone else deleted is never seen at the written generation).
const trackerTimeout = 10 * time.Second

func (t *tracker) expect(key, slice string, gen int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[key] == nil {
		t.m[key] = map[string]int64{}
		t.since[key] = time.Now()
	}
	t.m[key][slice] = gen
}

func (t *tracker) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, key)
	delete(t.since, key)
}

// caughtUp reports whether cached shows every write the controller made for key; once it
// does, the writes are forgotten.
func (t *tracker) caughtUp(key string, cached []*discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	want := t.m[key]
	if len(want) == 0 {
		return true
	}
	if time.Since(t.since[key]) > trackerTimeout {
		delete(t.m, key)
		delete(t.since, key)
		return true
	}
	have := map[string]int64{}
	for _, s := range cached {
		have[s.Name] = s.Generation
	}
	for name, gen := range want {
		g, ok := have[name]
		if gen == deleted && ok || gen != deleted && (!ok || g < gen) {
			return false
		}
	}
	delete(t.m, key)
	delete(t.since, key)
	return true
}
