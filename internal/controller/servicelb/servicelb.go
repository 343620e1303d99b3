// Package servicelb is the built-in service load balancer, as k3s's ServiceLB: every
// Service of type LoadBalancer without a spec.loadBalancerClass gets the addresses of the
// cluster's Ready, schedulable nodes as its status.loadBalancer.ingress (a node's
// ExternalIPs if it has any, else its InternalIPs; sorted, without duplicates; ipMode VIP).
// Each node's service proxy accepts traffic to those addresses on the Service's ports and
// forwards it as it forwards NodePort traffic, so no pod has to hold the ports. The
// ingress follows the nodes as they come, go, become unready or are cordoned, and is
// cleared when the Service stops being of type LoadBalancer.
package servicelb

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/controller/keyqueue"
)

// Name is the controller's name, and the service account it acts as.
const Name = "service-lb-controller"

// Manages reports whether the controller owns svc's load-balancer status: a LoadBalancer
// Service that names no other load-balancer implementation.
func Manages(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.LoadBalancerClass == nil
}

// NodeAddresses returns the addresses a node serves load-balancer traffic on, or none if
// the node does not take traffic: it is not Ready, or it is cordoned.
func NodeAddresses(n *corev1.Node) []netip.Addr {
	if n.Spec.Unschedulable || n.DeletionTimestamp != nil || !ready(n) {
		return nil
	}
	var internal, external []netip.Addr
	for _, a := range n.Status.Addresses {
		ip, err := netip.ParseAddr(a.Address)
		if err != nil {
			continue
		}
		switch a.Type {
		case corev1.NodeExternalIP:
			external = append(external, ip.Unmap())
		case corev1.NodeInternalIP:
			internal = append(internal, ip.Unmap())
		}
	}
	if len(external) > 0 {
		return external
	}
	return internal
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Ingress returns the load-balancer ingress of a managed Service on nodes: every address
// NodeAddresses gives, IPv4 before IPv6, sorted, each once.
func Ingress(nodes []*corev1.Node) []corev1.LoadBalancerIngress {
	var addrs []netip.Addr
	for _, n := range nodes {
		addrs = append(addrs, NodeAddresses(n)...)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	if len(addrs) == 0 {
		return nil
	}
	out := make([]corev1.LoadBalancerIngress, len(addrs))
	for i, a := range addrs {
		out[i] = corev1.LoadBalancerIngress{IP: a.String(), IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)}
	}
	return out
}

// Desired returns svc's load-balancer status as the controller wants it, and whether the
// controller has a say: a managed Service gets Ingress(nodes); a Service that is no longer
// of type LoadBalancer (and names no other implementation) has its ingress cleared.
func Desired(svc *corev1.Service, nodes []*corev1.Node) (corev1.LoadBalancerStatus, bool) {
	switch {
	case Manages(svc):
		return corev1.LoadBalancerStatus{Ingress: Ingress(nodes)}, true
	case svc.Spec.Type != corev1.ServiceTypeLoadBalancer && svc.Spec.LoadBalancerClass == nil && len(svc.Status.LoadBalancer.Ingress) > 0:
		return corev1.LoadBalancerStatus{}, true
	}
	return corev1.LoadBalancerStatus{}, false
}

// Controller is the service load balancer.
type Controller struct {
	client   kubernetes.Interface
	services corelisters.ServiceLister
	nodes    corelisters.NodeLister
	queue    keyqueue.Queue
	synced   []cache.InformerSynced
	log      *slog.Logger
}

// New returns the controller, registering its informers on f.
func New(client kubernetes.Interface, f informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	svcs, nodes := f.Core().V1().Services(), f.Core().V1().Nodes()
	c := &Controller{
		client: client, services: svcs.Lister(), nodes: nodes.Lister(), queue: keyqueue.New(Name), log: log,
		synced: []cache.InformerSynced{svcs.Informer().HasSynced, nodes.Informer().HasSynced},
	}
	enqueue := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if svc, ok := obj.(*corev1.Service); ok && (Manages(svc) || len(svc.Status.LoadBalancer.Ingress) > 0) {
			keyqueue.Enqueue(c.queue, svc)
		}
	}
	if _, err := svcs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) },
	}); err != nil {
		return nil, err
	}
	nodeChanged := func(old, new any) {
		o, _ := old.(*corev1.Node)
		n, _ := new.(*corev1.Node)
		if o != nil && n != nil && slices.Equal(NodeAddresses(o), NodeAddresses(n)) {
			return // heartbeats and other status changes that do not move traffic
		}
		c.enqueueManaged()
	}
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { nodeChanged(nil, obj) },
		UpdateFunc: nodeChanged,
		DeleteFunc: func(obj any) { nodeChanged(nil, nil) },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// enqueueManaged enqueues every managed Service.
func (c *Controller) enqueueManaged() {
	all, err := c.services.List(labels.Everything())
	if err != nil {
		return
	}
	for _, svc := range all {
		if Manages(svc) {
			keyqueue.Enqueue(c.queue, svc)
		}
	}
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	keyqueue.Run(ctx, Name, c.queue, workers, c.log, c.sync, c.synced...)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return err
	}
	want, ok := Desired(svc, nodes)
	if !ok || apiequality.Semantic.DeepEqual(svc.Status.LoadBalancer, want) {
		return nil
	}
	update := svc.DeepCopy()
	update.Status.LoadBalancer = want
	_, err = c.client.CoreV1().Services(ns).UpdateStatus(ctx, update, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		if apierrors.IsConflict(err) {
			c.queue.Add(key) // the informer brings the newer version; compute again
		}
		return nil
	}
	if err == nil {
		c.log.Info("set load-balancer ingress", "service", key, "ingress", ingressIPs(want.Ingress))
	}
	return err
}

func ingressIPs(in []corev1.LoadBalancerIngress) []string {
	out := make([]string, len(in))
	for i, x := range in {
		out[i] = x.IP
	}
	return out
}
