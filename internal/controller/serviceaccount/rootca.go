package serviceaccount

import (
	"context"
	"log/slog"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-project/skiff/internal/controller/keyqueue"
)

// Upstream's names for the published CA bundle.
const (
	RootCAName        = "kube-root-ca.crt"
	RootCAKey         = "ca.crt"
	descriptionKey    = "kubernetes.io/description"
	RootCADescription = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."
)

// RootCAConfigMap decides what namespace ns (nil: gone) needs for its CA ConfigMap, given
// the one it has (nil: none) and the CA bundle: a ConfigMap to create, one to update (a copy
// of cur), or neither.
func RootCAConfigMap(ns *corev1.Namespace, cur *corev1.ConfigMap, ca []byte) (create, update *corev1.ConfigMap) {
	if ns == nil || ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return nil, nil
	}
	data := map[string]string{RootCAKey: string(ca)}
	if cur == nil {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: RootCAName, Namespace: ns.Name,
			Annotations: map[string]string{descriptionKey: RootCADescription}}, Data: data}, nil
	}
	if maps.Equal(cur.Data, data) && len(cur.BinaryData) == 0 && cur.Annotations[descriptionKey] == RootCADescription {
		return nil, nil
	}
	next := cur.DeepCopy()
	next.Data, next.BinaryData = data, nil
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[descriptionKey] = RootCADescription
	return nil, next
}

// RootCAPublisher is the root CA publisher.
type RootCAPublisher struct {
	client     kubernetes.Interface
	ca         []byte
	namespaces corelisters.NamespaceLister
	configMaps corelisters.ConfigMapLister
	synced     []cache.InformerSynced
	queue      keyqueue.Queue
	log        *slog.Logger
}

// NewRootCAPublisher builds the publisher of ca on f's namespace and ConfigMap informers.
func NewRootCAPublisher(client kubernetes.Interface, f informers.SharedInformerFactory, ca []byte, log *slog.Logger) (*RootCAPublisher, error) {
	nsInf := f.Core().V1().Namespaces()
	cmInf := f.Core().V1().ConfigMaps()
	c := &RootCAPublisher{client: client, ca: ca, namespaces: nsInf.Lister(), configMaps: cmInf.Lister(),
		synced: []cache.InformerSynced{nsInf.Informer().HasSynced, cmInf.Informer().HasSynced},
		queue:  keyqueue.New("root-ca-cert-publisher"), log: log}
	if _, err := nsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { keyqueue.Enqueue(c.queue, obj) },
		UpdateFunc: func(_, obj any) { keyqueue.Enqueue(c.queue, obj) },
	}); err != nil {
		return nil, err
	}
	onCM := func(obj any) { enqueueNamespaceOf(c.queue, obj, RootCAName) }
	if _, err := cmInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { onCM(obj) },
		DeleteFunc: onCM,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run runs workers until ctx ends.
func (c *RootCAPublisher) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, "root-ca-cert-publisher", c.queue, workers, c.log, c.sync, c.synced...)
}

func (c *RootCAPublisher) sync(ctx context.Context, namespace string) error {
	ns, err := c.namespaces.Get(namespace)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	cur, err := c.configMaps.ConfigMaps(namespace).Get(RootCAName)
	if apierrors.IsNotFound(err) {
		cur, err = nil, nil
	}
	if err != nil {
		return err
	}
	create, update := RootCAConfigMap(ns, cur, c.ca)
	switch {
	case create != nil:
		_, err = c.client.CoreV1().ConfigMaps(namespace).Create(ctx, create, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
	case update != nil:
		_, err = c.client.CoreV1().ConfigMaps(namespace).Update(ctx, update, metav1.UpdateOptions{})
	}
	if isNamespaceTerminating(err) || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
