// Package resourcequota is the ResourceQuota controller: it keeps every quota's status.hard equal
// to its spec.hard and its status.used equal to what the objects in its namespace consume (package
// quota measures them), so that the ResourceQuota admission plugin charges writes against true
// numbers and returns what deleted objects and failed writes held.
//
// A quota is recounted when it is created or its spec changes, when an object it may count is
// deleted (or a pod stops counting, by reaching a terminal phase), and every ResyncPeriod. Creates
// are not recounts: the admission plugin charged them, and informers that have not yet seen the
// new object would undo the charge. Status is written
// with the resourceVersion it was computed from, so a charge admitted meanwhile is never lost: the
// write conflicts and the quota is recounted.
package resourcequota

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-project/skiff/internal/controller/keyqueue"
	"github.com/skiff-project/skiff/internal/quota"
)

// Name is the controller's name, as upstream's.
const Name = "resourcequota-controller"

// ResyncPeriod is how often every quota is recounted (upstream's --resource-quota-sync-period).
const ResyncPeriod = 5 * time.Minute

// Controller is the ResourceQuota controller.
type Controller struct {
	client  kubernetes.Interface
	meta    metadata.Interface
	quotas  corelisters.ResourceQuotaLister
	listers map[schema.GroupResource]func(namespace string) ([]runtime.Object, error)
	queue   keyqueue.Queue
	log     *slog.Logger
	synced  []cache.InformerSynced
	now     func() time.Time
}

// New returns the controller, registering its informers on f. meta lists the objects of other
// resources that count/<resource>.<group> quotas name.
func New(client kubernetes.Interface, meta metadata.Interface, f informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	core := f.Core().V1()
	c := &Controller{client: client, meta: meta, quotas: core.ResourceQuotas().Lister(), queue: keyqueue.New(Name), log: log, now: time.Now,
		listers: map[schema.GroupResource]func(string) ([]runtime.Object, error){}}
	qInf := core.ResourceQuotas().Informer()
	c.synced = append(c.synced, qInf.HasSynced)
	if _, err := qInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { keyqueue.Enqueue(c.queue, obj) },
		// Status-only updates are the admission plugin's charges: recounting on them, from
		// informers that may not have seen the charged object yet, would undo them.
		UpdateFunc: func(old, cur any) {
			o, n := old.(*corev1.ResourceQuota), cur.(*corev1.ResourceQuota)
			if !quota.Equal(o.Spec.Hard, n.Spec.Hard) || !quota.Equal(n.Spec.Hard, n.Status.Hard) {
				keyqueue.Enqueue(c.queue, cur)
			}
		},
	}); err != nil {
		return nil, err
	}
	type tracked struct {
		gr   string
		inf  cache.SharedIndexInformer
		list func(ns string) ([]runtime.Object, error)
	}
	all := []tracked{
		{"pods", core.Pods().Informer(), func(ns string) ([]runtime.Object, error) {
			l, err := core.Pods().Lister().Pods(ns).List(labels.Everything())
			return objects(l), err
		}},
		{"services", core.Services().Informer(), func(ns string) ([]runtime.Object, error) {
			l, err := core.Services().Lister().Services(ns).List(labels.Everything())
			return objects(l), err
		}},
		{"persistentvolumeclaims", core.PersistentVolumeClaims().Informer(), func(ns string) ([]runtime.Object, error) {
			l, err := core.PersistentVolumeClaims().Lister().PersistentVolumeClaims(ns).List(labels.Everything())
			return objects(l), err
		}},
		{"configmaps", core.ConfigMaps().Informer(), func(ns string) ([]runtime.Object, error) {
			l, err := core.ConfigMaps().Lister().ConfigMaps(ns).List(labels.Everything())
			return objects(l), err
		}},
		{"secrets", core.Secrets().Informer(), func(ns string) ([]runtime.Object, error) {
			l, err := core.Secrets().Lister().Secrets(ns).List(labels.Everything())
			return objects(l), err
		}},
		{"replicationcontrollers", core.ReplicationControllers().Informer(), func(ns string) ([]runtime.Object, error) {
			l, err := core.ReplicationControllers().Lister().ReplicationControllers(ns).List(labels.Everything())
			return objects(l), err
		}},
		{"resourcequotas", qInf, func(ns string) ([]runtime.Object, error) {
			l, err := c.quotas.ResourceQuotas(ns).List(labels.Everything())
			return objects(l), err
		}},
	}
	for _, t := range all {
		c.listers[schema.GroupResource{Resource: t.gr}] = t.list
		if t.gr == "resourcequotas" {
			continue
		}
		c.synced = append(c.synced, t.inf.HasSynced)
		if _, err := t.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			// Creates are charged by the admission plugin; only what returns usage triggers a
			// recount here (as upstream's replenishment).
			UpdateFunc: func(old, cur any) {
				if o, ok := old.(*corev1.Pod); ok {
					if n := cur.(*corev1.Pod); quota.Counts(o, c.now()) != quota.Counts(n, c.now()) {
						c.enqueueNamespaceOf(cur)
					}
				}
			},
			DeleteFunc: c.enqueueNamespaceOf,
		}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

type objectList[T any] interface{ ~[]*T }

func objects[T any, L objectList[T]](l L) []runtime.Object {
	out := make([]runtime.Object, 0, len(l))
	for _, o := range l {
		out = append(out, any(o).(runtime.Object))
	}
	return out
}

// enqueueNamespaceOf enqueues the quotas of obj's namespace.
func (c *Controller) enqueueNamespaceOf(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	qs, err := c.quotas.ResourceQuotas(m.GetNamespace()).List(labels.Everything())
	if err != nil {
		return
	}
	for _, q := range qs {
		keyqueue.Enqueue(c.queue, q)
	}
}

// Run runs workers until ctx ends, recounting every quota each ResyncPeriod.
func (c *Controller) Run(ctx context.Context, workers int) {
	go func() {
		t := time.NewTicker(ResyncPeriod)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				qs, _ := c.quotas.List(labels.Everything())
				for _, q := range qs {
					keyqueue.Enqueue(c.queue, q)
				}
			}
		}
	}()
	keyqueue.Run(ctx, Name, c.queue, workers, c.log, c.sync, c.synced...)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	q, err := c.quotas.ResourceQuotas(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	objs := map[schema.GroupResource][]runtime.Object{}
	for gr := range Resources(q.Spec.Hard) {
		list, ok := c.listers[gr]
		if !ok {
			list = c.metadataLister(ctx, gr)
		}
		l, err := list(ns)
		if err != nil {
			return err
		}
		objs[gr] = l
	}
	status := Status(q, objs, c.now())
	if quota.Equal(status.Hard, q.Status.Hard) && quota.Equal(status.Used, q.Status.Used) {
		return nil
	}
	next := q.DeepCopy()
	next.Status = status
	_, err = c.client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// metadataLister lists any resource's objects by metadata, for count/<resource>.<group>.
func (c *Controller) metadataLister(ctx context.Context, gr schema.GroupResource) func(string) ([]runtime.Object, error) {
	return func(ns string) ([]runtime.Object, error) {
		version := "v1"
		l, err := c.meta.Resource(gr.WithVersion(version)).Namespace(ns).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return nil, err
		}
		out := make([]runtime.Object, 0, len(l.Items))
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
		return out, nil
	}
}

// Resources returns the resources whose objects a quota naming hard counts: the core ones its
// names stand for, and those of every count/<resource>[.<group>].
func Resources(hard corev1.ResourceList) map[schema.GroupResource]bool {
	out := map[schema.GroupResource]bool{}
	core := []string{"pods", "services", "persistentvolumeclaims", "configmaps", "secrets", "replicationcontrollers", "resourcequotas"}
	for name := range hard {
		matched := false
		for _, r := range core {
			gr := schema.GroupResource{Resource: r}
			if quota.Handles(gr, name) {
				out[gr], matched = true, true
			}
		}
		if n := string(name); !matched && len(n) > len("count/") && n[:len("count/")] == "count/" {
			rest := n[len("count/"):]
			gr := schema.ParseGroupResource(rest)
			out[gr] = true
		}
	}
	return out
}

// Status is the status q should have: hard from spec.hard, and used summed over objs (the objects
// of q's namespace, by resource), with a zero for every limited resource nothing uses.
func Status(q *corev1.ResourceQuota, objs map[schema.GroupResource][]runtime.Object, now time.Time) corev1.ResourceQuotaStatus {
	hard := q.Spec.Hard.DeepCopy()
	names := quota.Names(hard)
	view := q.DeepCopy()
	view.Status.Hard = hard
	used := corev1.ResourceList{}
	for _, n := range names {
		used[n] = *resource.NewQuantity(0, resource.DecimalSI)
	}
	for gr, list := range objs {
		for _, o := range list {
			if !quota.Matches(view, gr, o) {
				continue
			}
			used = quota.Add(used, quota.Mask(quota.Usage(gr, o, now), names))
		}
	}
	return corev1.ResourceQuotaStatus{Hard: hard, Used: used}
}
