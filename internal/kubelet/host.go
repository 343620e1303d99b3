package kubelet

import (
	"context"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/trim"
)

// HostOptions configure a Host.
type HostOptions struct {
	// Clock defaults to the real clock.
	Clock clock.WithTicker
	// Workers is how many work items run at once (default 16).
	Workers int
	// PodFieldSelector selects the pods watched: "spec.nodeName=NAME" for one node (the default
	// when the host runs one kubelet is up to the caller), "spec.nodeName!=" for many.
	PodFieldSelector string
	// NodeFieldSelector selects the Nodes watched ("metadata.name=NAME" for one; empty: all).
	NodeFieldSelector string
	// WatchServices keeps every Service in an informer, for the Service environment
	// variables of kubelets with Config.Environment.
	WatchServices bool
	Log           *slog.Logger
}

// Host runs kubelets: it owns what they share, where upstream's kubelet has one of each: the
// API client, one pod informer and one node informer (their events dispatched by node name), the
// event broadcaster, and one delaying work queue with a fixed pool of workers in place of
// goroutines and timers per node and per pod. A real agent runs one kubelet on a Host; skiff
// simulate runs thousands.
type Host struct {
	client      kubernetes.Interface
	clock       clock.WithTicker
	opts        HostOptions
	log         *slog.Logger
	queue       workqueue.TypedDelayingInterface[workKey]
	broadcaster record.EventBroadcaster
	factory     informers.SharedInformerFactory
	nodeFactory informers.SharedInformerFactory
	pods        cache.SharedIndexInformer
	// svcFactory and services are set with HostOptions.WatchServices.
	svcFactory informers.SharedInformerFactory
	services   cache.SharedIndexInformer

	mu       sync.RWMutex
	kubelets map[string]*Kubelet
	started  bool
}

const nodeNameIndex = "spec.nodeName"

// NewHost returns a Host; Run starts it.
func NewHost(client kubernetes.Interface, opts HostOptions) *Host {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Workers <= 0 {
		opts.Workers = 16
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	h := &Host{client: client, clock: opts.Clock, opts: opts, log: opts.Log, kubelets: map[string]*Kubelet{}}
	h.queue = workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[workKey]{Clock: opts.Clock})
	h.broadcaster = record.NewBroadcaster()
	h.factory = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(trim.ManagedFields),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = opts.PodFieldSelector }))
	h.nodeFactory = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(trim.ManagedFields),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = opts.NodeFieldSelector }))
	h.pods = h.factory.Core().V1().Pods().Informer()
	_ = h.pods.AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
		return []string{obj.(*corev1.Pod).Spec.NodeName}, nil
	}})
	_, _ = h.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { h.podChanged(obj.(*corev1.Pod)) },
		UpdateFunc: func(old, obj any) { h.podChanged(obj.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				if kl := h.kubelet(p.Spec.NodeName); kl != nil {
					kl.HandlePodRemoved(p.UID)
				}
			}
		},
	})
	if opts.WatchServices {
		h.svcFactory = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(trim.ManagedFields))
		h.services = h.svcFactory.Core().V1().Services().Informer()
	}
	nodes := h.nodeFactory.Core().V1().Nodes().Informer()
	_, _ = nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { h.nodeChanged(obj.(*corev1.Node)) },
		UpdateFunc: func(old, obj any) { h.nodeChanged(obj.(*corev1.Node)) },
	})
	return h
}

func (h *Host) kubelet(node string) *Kubelet {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.kubelets[node]
}

func (h *Host) podChanged(p *corev1.Pod) {
	if kl := h.kubelet(p.Spec.NodeName); kl != nil {
		kl.HandlePod(p)
	}
}

func (h *Host) nodeChanged(n *corev1.Node) {
	if kl := h.kubelet(n.Name); kl != nil {
		kl.setNode(n)
	}
}

// schedule implements scheduler with the shared delaying queue.
func (h *Host) schedule(k workKey, at time.Time) {
	if d := at.Sub(h.clock.Now()); d > 0 {
		h.queue.AddAfter(k, d)
		return
	}
	h.queue.Add(k)
}

// AddNode starts a kubelet for cfg with runtime rt.
func (h *Host) AddNode(cfg Config, rt Runtime) *Kubelet {
	rec := h.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: cfg.NodeName})
	kl := newKubelet(cfg, h.client, rt, h.clock, rec, h, h.log)
	if h.services != nil {
		kl.services = h.listServices
	}
	h.mu.Lock()
	h.kubelets[cfg.NodeName] = kl
	started := h.started
	h.mu.Unlock()
	if started {
		h.startKubelet(kl)
	}
	return kl
}

func (h *Host) startKubelet(kl *Kubelet) {
	// Spread the heartbeats of many nodes over the renew interval.
	h.mu.RLock()
	many := len(h.kubelets) > 1
	h.mu.RUnlock()
	at := h.clock.Now()
	if many {
		at = at.Add(kl.stagger)
	}
	h.schedule(workKey{kl: kl, kind: workNode}, at)
	objs, _ := h.pods.GetIndexer().ByIndex(nodeNameIndex, kl.cfg.NodeName)
	for _, o := range objs {
		kl.HandlePod(o.(*corev1.Pod))
	}
	// Every pod of the node is known now: what the runtime has beyond them is left over.
	kl.startHousekeeping()
	kl.startEviction()
}

// listServices returns every Service, and whether the informer has listed them yet.
func (h *Host) listServices() ([]*corev1.Service, bool) {
	if !h.services.HasSynced() {
		return nil, false
	}
	objs := h.services.GetStore().List()
	out := make([]*corev1.Service, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(*corev1.Service))
	}
	return out, true
}

// RemoveNode stops the kubelet of node: no more heartbeats or status, as if the machine
// disappeared. Its Node object stays.
func (h *Host) RemoveNode(node string) {
	h.mu.Lock()
	kl := h.kubelets[node]
	delete(h.kubelets, node)
	h.mu.Unlock()
	if kl != nil {
		kl.stop()
	}
}

// Run starts the informers and the workers and blocks until ctx is done.
func (h *Host) Run(ctx context.Context) error {
	h.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: h.client.CoreV1().Events("")})
	defer h.broadcaster.Shutdown()
	h.factory.Start(ctx.Done())
	h.nodeFactory.Start(ctx.Done())
	if h.svcFactory != nil {
		h.svcFactory.Start(ctx.Done())
	}
	h.factory.WaitForCacheSync(ctx.Done())
	h.nodeFactory.WaitForCacheSync(ctx.Done())
	h.mu.Lock()
	h.started = true
	kls := make([]*Kubelet, 0, len(h.kubelets))
	for _, kl := range h.kubelets {
		kls = append(kls, kl)
	}
	h.mu.Unlock()
	for _, kl := range kls {
		h.startKubelet(kl)
	}
	var wg sync.WaitGroup
	for i := 0; i < h.opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, shutdown := h.queue.Get()
				if shutdown {
					return
				}
				k.kl.process(ctx, k)
				h.queue.Done(k)
			}
		}()
	}
	<-ctx.Done()
	h.mu.Lock()
	for _, kl := range h.kubelets {
		kl.stop()
	}
	h.mu.Unlock()
	h.queue.ShutDown()
	wg.Wait()
	h.factory.Shutdown()
	h.nodeFactory.Shutdown()
	if h.svcFactory != nil {
		h.svcFactory.Shutdown()
	}
	return nil
}
