// Package endpoints is the Endpoints controller: it keeps the legacy v1 Endpoints object of
// every Service with a selector (same name as the Service) listing the Service's pods.
//
// sync(key) computes the subsets from the pods the Service selects (see Subsets), cuts them to
// MaxCapacity addresses with the annotation endpoints.kubernetes.io/over-capacity: truncated
// (see Truncate), and creates or updates the Endpoints when its subsets, labels or that
// annotation differ. Each write carries endpoints.kubernetes.io/last-change-trigger-time, the
// earliest pod or Service change it reflects (see LastChange). When the Service goes the
// controller deletes its Endpoints (they have no owner reference). default/kubernetes is left
// to the API server, and Services without a selector are left alone.
package endpoints

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/skiff-project/skiff/internal/controller/endpointslice"
	"github.com/skiff-project/skiff/internal/controller/keyqueue"
)

// Name is the controller's name, as upstream's.
const Name = "endpoint-controller"

// FailedToUpdateEndpoint is the event reason of a failed write, as upstream's.
const FailedToUpdateEndpoint = "FailedToUpdateEndpoint"

// Controller is the Endpoints controller.
type Controller struct {
	client    kubernetes.Interface
	services  corelisters.ServiceLister
	pods      corelisters.PodLister
	endpoints corelisters.EndpointsLister
	queue     keyqueue.Queue
	recorder  record.EventRecorder
	log       *slog.Logger
	synced    []cache.InformerSynced

	mu   sync.Mutex
	seen map[string]map[string]time.Time // service key -> pod UID -> trigger time last reflected
}

// New returns the Endpoints controller, registering its informers on f.
func New(client kubernetes.Interface, f informers.SharedInformerFactory, recorder record.EventRecorder, log *slog.Logger) (*Controller, error) {
	svcInf := f.Core().V1().Services().Informer()
	podInf := f.Core().V1().Pods().Informer()
	epInf := f.Core().V1().Endpoints().Informer()
	c := &Controller{
		client:    client,
		services:  f.Core().V1().Services().Lister(),
		pods:      f.Core().V1().Pods().Lister(),
		endpoints: f.Core().V1().Endpoints().Lister(),
		queue:     keyqueue.New(Name),
		recorder:  recorder,
		log:       log,
		synced:    []cache.InformerSynced{svcInf.HasSynced, podInf.HasSynced, epInf.HasSynced},
		seen:      map[string]map[string]time.Time{},
	}
	enqueue := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { keyqueue.Enqueue(c.queue, obj) },
		UpdateFunc: func(_, obj any) { keyqueue.Enqueue(c.queue, obj) },
		DeleteFunc: func(obj any) { keyqueue.Enqueue(c.queue, obj) },
	}
	if _, err := svcInf.AddEventHandler(enqueue); err != nil {
		return nil, err
	}
	if _, err := podInf.AddEventHandler(endpointslice.PodHandler(c.queue, c.services)); err != nil {
		return nil, err
	}
	// A deleted Endpoints object comes back (as upstream, only deletes are watched: an
	// Endpoints object without a Service, written by someone else, is left alone).
	if _, err := epInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) { keyqueue.Enqueue(c.queue, obj) },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, Name, c.queue, workers, c.log, c.sync, c.synced...)
}

// Labels are the labels of svc's Endpoints: the Service's own, and
// service.kubernetes.io/headless for a headless Service.
func Labels(svc *corev1.Service) map[string]string {
	out := map[string]string{}
	maps.Copy(out, svc.Labels)
	delete(out, corev1.IsHeadlessService)
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		out[corev1.IsHeadlessService] = ""
	}
	return out
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	if ns == metav1.NamespaceDefault && name == "kubernetes" {
		return nil
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.mu.Lock()
		delete(c.seen, key)
		c.mu.Unlock()
		if _, err := c.endpoints.Endpoints(ns).Get(name); apierrors.IsNotFound(err) {
			return nil
		}
		err := c.client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	if !endpointslice.Managed(svc) || svc.DeletionTimestamp != nil {
		return nil
	}
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return err
	}
	subsets := Subsets(svc, pods)
	truncated := Truncate(subsets)
	c.mu.Lock()
	seen, svcKnown := c.seen[key]
	trigger := LastChange(pods, seen, !svcKnown, svc.CreationTimestamp.Time)
	now := map[string]time.Time{}
	for _, p := range pods {
		now[string(p.UID)] = TriggerTime(p)
	}
	c.seen[key] = now
	c.mu.Unlock()

	current, err := c.endpoints.Endpoints(ns).Get(name)
	create := apierrors.IsNotFound(err)
	if err != nil && !create {
		return err
	}
	wantLabels := Labels(svc)
	if !create && apiequality.Semantic.DeepEqual(normalize(current.Subsets), normalize(subsets)) &&
		apiequality.Semantic.DeepEqual(orEmpty(current.Labels), wantLabels) &&
		(current.Annotations[OverCapacity] == Truncated) == truncated {
		return nil
	}
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if !create {
		ep = current.DeepCopy()
	}
	ep.Subsets = subsets
	ep.Labels = wantLabels
	if ep.Annotations == nil {
		ep.Annotations = map[string]string{}
	}
	if truncated {
		ep.Annotations[OverCapacity] = Truncated
	} else {
		delete(ep.Annotations, OverCapacity)
	}
	if !trigger.IsZero() {
		ep.Annotations[LastChangeTriggerTime] = trigger.UTC().Format(time.RFC3339Nano)
	} else {
		delete(ep.Annotations, LastChangeTriggerTime)
	}
	if create {
		_, err = c.client.CoreV1().Endpoints(ns).Create(ctx, ep, metav1.CreateOptions{})
	} else {
		_, err = c.client.CoreV1().Endpoints(ns).Update(ctx, ep, metav1.UpdateOptions{})
	}
	if err != nil {
		c.mu.Lock()
		delete(c.seen, key) // the next attempt reports these changes again
		c.mu.Unlock()
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			c.recorder.Eventf(svc, corev1.EventTypeWarning, FailedToUpdateEndpoint, "Failed to update endpoint %s/%s: %v", ns, name, err)
		}
		return err
	}
	return nil
}

// normalize treats nil and empty lists alike, as the API server's round trip does.
func normalize(subsets []corev1.EndpointSubset) []corev1.EndpointSubset {
	out := []corev1.EndpointSubset{}
	for _, s := range subsets {
		n := corev1.EndpointSubset{}
		if len(s.Addresses) > 0 {
			n.Addresses = s.Addresses
		}
		if len(s.NotReadyAddresses) > 0 {
			n.NotReadyAddresses = s.NotReadyAddresses
		}
		if len(s.Ports) > 0 {
			n.Ports = s.Ports
		}
		out = append(out, n)
	}
	return out
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
