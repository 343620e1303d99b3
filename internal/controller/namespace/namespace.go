package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-project/skiff/internal/controller/keyqueue"
)

// Name is the controller's name, as upstream's.
const Name = "namespace-controller"

// Controller is the namespace controller.
type Controller struct {
	client     kubernetes.Interface
	meta       metadata.Interface
	discovery  discovery.DiscoveryInterface
	namespaces corelisters.NamespaceLister
	queue      keyqueue.Queue
	synced     []cache.InformerSynced
	log        *slog.Logger
	now        func() time.Time
}

// New returns the controller, registering its informer on f.
func New(client kubernetes.Interface, meta metadata.Interface, disc discovery.DiscoveryInterface, f informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	inf := f.Core().V1().Namespaces()
	c := &Controller{client: client, meta: meta, discovery: disc, namespaces: inf.Lister(), queue: keyqueue.New(Name), log: log, now: time.Now,
		synced: []cache.InformerSynced{inf.Informer().HasSynced}}
	enqueue := func(obj any) {
		if ns, ok := obj.(*corev1.Namespace); ok && ns.DeletionTimestamp != nil {
			keyqueue.Enqueue(c.queue, ns)
		}
	}
	_, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	return c, err
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, Name, c.queue, workers, c.log, c.sync, c.synced...)
}

func hasKubernetesFinalizer(ns *corev1.Namespace) bool {
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return true
		}
	}
	return false
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, err := c.namespaces.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp == nil || !hasKubernetesFinalizer(ns) {
		return nil
	}
	p := c.deleteContent(ctx, ns.Name)
	conds := Conditions(ns.Status.Conditions, p, c.now())
	if !apiequality.Semantic.DeepEqual(conds, ns.Status.Conditions) {
		next := ns.DeepCopy()
		next.Status.Conditions = conds
		if _, err := c.client.CoreV1().Namespaces().UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if !p.Done() {
		c.queue.AddAfter(key, max(p.Wait, time.Second))
		return nil
	}
	cur, err := c.client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	cur.Spec.Finalizers = WithoutKubernetesFinalizer(cur.Spec.Finalizers)
	_, err = c.client.CoreV1().Namespaces().Finalize(ctx, cur, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// deleteContent deletes what is left in namespace and reports what remains.
func (c *Controller) deleteContent(ctx context.Context, namespace string) Progress {
	p := Progress{Remaining: map[string]int{}, Finalizers: map[string]int{}}
	lists, err := c.discovery.ServerPreferredNamespacedResources()
	if err != nil {
		p.DiscoveryErr = err
		if len(lists) == 0 {
			return p
		}
	}
	bg := metav1.DeletePropagationBackground
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if !hasVerbs(r.Verbs, "list", "delete") {
				continue
			}
			gvr := gv.WithResource(r.Name)
			client := c.meta.Resource(gvr).Namespace(namespace)
			items, err := client.List(ctx, metav1.ListOptions{})
			if err != nil {
				if !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
					p.DeleteErrs = append(p.DeleteErrs, fmt.Errorf("%s: %w", ResourceKey(gvr.GroupResource()), err))
				}
				continue
			}
			deleted := false
			for _, it := range items.Items {
				if it.DeletionTimestamp != nil {
					continue
				}
				err := client.Delete(ctx, it.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
				if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
					p.DeleteErrs = append(p.DeleteErrs, fmt.Errorf("%s %s: %w", ResourceKey(gvr.GroupResource()), it.Name, err))
				}
				deleted = true
			}
			if deleted {
				// What had no finalizers and no grace period is gone now; count the rest.
				if items, err = client.List(ctx, metav1.ListOptions{}); err != nil {
					p.DeleteErrs = append(p.DeleteErrs, fmt.Errorf("%s: %w", ResourceKey(gvr.GroupResource()), err))
					continue
				}
			}
			for _, it := range items.Items {
				p.Remaining[ResourceKey(gvr.GroupResource())]++
				for _, f := range it.Finalizers {
					p.Finalizers[f]++
				}
				if it.DeletionGracePeriodSeconds != nil {
					p.Wait = max(p.Wait, time.Duration(*it.DeletionGracePeriodSeconds)*time.Second)
				}
			}
		}
	}
	var discErr *discovery.ErrGroupDiscoveryFailed
	if p.DiscoveryErr != nil && !errors.As(p.DiscoveryErr, &discErr) {
		p.DeleteErrs = append(p.DeleteErrs, p.DiscoveryErr)
	}
	return p
}

func hasVerbs(verbs metav1.Verbs, want ...string) bool {
	for _, w := range want {
		found := false
		for _, v := range verbs {
			if v == w {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
