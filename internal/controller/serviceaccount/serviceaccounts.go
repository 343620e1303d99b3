package serviceaccount

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-project/skiff/internal/controller/keyqueue"
)

// DefaultName is the ServiceAccount every namespace has.
const DefaultName = "default"

// DefaultAccountNeeded tells whether namespace ns (nil: gone) lacks its default account
// (existing: whether the cache holds it) and should get one.
func DefaultAccountNeeded(ns *corev1.Namespace, existing bool) bool {
	return ns != nil && ns.DeletionTimestamp == nil && ns.Status.Phase != corev1.NamespaceTerminating && !existing
}

// ServiceAccounts is the ServiceAccount controller.
type ServiceAccounts struct {
	client     kubernetes.Interface
	namespaces corelisters.NamespaceLister
	accounts   corelisters.ServiceAccountLister
	synced     []cache.InformerSynced
	queue      keyqueue.Queue
	log        *slog.Logger
}

// NewServiceAccounts builds the controller on f's namespace and ServiceAccount informers.
func NewServiceAccounts(client kubernetes.Interface, f informers.SharedInformerFactory, log *slog.Logger) (*ServiceAccounts, error) {
	nsInf := f.Core().V1().Namespaces()
	saInf := f.Core().V1().ServiceAccounts()
	c := &ServiceAccounts{client: client, namespaces: nsInf.Lister(), accounts: saInf.Lister(),
		synced: []cache.InformerSynced{nsInf.Informer().HasSynced, saInf.Informer().HasSynced},
		queue:  keyqueue.New("serviceaccount"), log: log}
	if _, err := nsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { keyqueue.Enqueue(c.queue, obj) },
		UpdateFunc: func(_, obj any) { keyqueue.Enqueue(c.queue, obj) },
	}); err != nil {
		return nil, err
	}
	if _, err := saInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) { enqueueNamespaceOf(c.queue, obj, DefaultName) },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// enqueueNamespaceOf enqueues the namespace of obj (maybe a tombstone) when obj is named name.
func enqueueNamespaceOf(q keyqueue.Queue, obj any, name string) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	if m, ok := obj.(metav1.Object); ok && m.GetName() == name {
		q.Add(m.GetNamespace())
	}
}

// Run runs workers until ctx ends.
func (c *ServiceAccounts) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, "serviceaccount", c.queue, workers, c.log, c.sync, c.synced...)
}

func (c *ServiceAccounts) sync(ctx context.Context, namespace string) error {
	ns, err := c.namespaces.Get(namespace)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = c.accounts.ServiceAccounts(namespace).Get(DefaultName)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if !DefaultAccountNeeded(ns, err == nil) {
		return nil
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultName, Namespace: namespace}}
	_, err = c.client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) || isNamespaceTerminating(err) {
		return nil
	}
	return err
}

// isNamespaceTerminating reports the refusal of a write to a namespace being deleted.
func isNamespaceTerminating(err error) bool {
	return apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause)
}
