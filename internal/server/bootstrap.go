package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff-project/skiff/internal/allocator"
	"github.com/skiff-project/skiff/internal/registry"
)

// bootstrap creates the objects every cluster starts with and keeps the kubernetes Service's
// endpoints pointing at this server.
type bootstrap struct {
	reg     *registry.Registry
	cfg     Config
	ipAlloc *allocator.IPs
	log     *slog.Logger
}

func (b *bootstrap) store(group, version, resource string) *registry.Store {
	return b.reg.Store(schema.GroupVersionResource{Group: group, Version: version, Resource: resource})
}

// ensure creates obj unless it exists.
func (b *bootstrap) ensure(ctx context.Context, st *registry.Store, namespace string, obj runtime.Object) error {
	a, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if _, err := st.Get(ctx, namespace, a.GetName(), ""); err == nil {
		return nil
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	_, err = st.Create(ctx, namespace, obj, registry.WriteOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

func (b *bootstrap) run(ctx context.Context) error {
	ctx = registry.WithUser(ctx, registry.UserInfo{Name: "system:apiserver", Groups: []string{"system:masters"}})
	nsStore := b.store("", "v1", "namespaces")
	for _, name := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease} {
		ns := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := b.ensure(ctx, nsStore, "", ns); err != nil {
			return fmt.Errorf("namespace %s: %w", name, err)
		}
	}
	cidr := &networkingv1.ServiceCIDR{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "ServiceCIDR"},
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes"},
		Spec:       networkingv1.ServiceCIDRSpec{CIDRs: []string{b.cfg.ServiceCIDR}},
	}
	if err := b.ensure(ctx, b.store("networking.k8s.io", "v1", "servicecidrs"), "", cidr); err != nil {
		return fmt.Errorf("servicecidr: %w", err)
	}
	if _, _, err := b.store("networking.k8s.io", "v1", "servicecidrs").Update(ctx, "", "kubernetes", func(cur runtime.Object) (runtime.Object, error) {
		c := cur.(*networkingv1.ServiceCIDR).DeepCopy()
		c.Status.Conditions = []metav1.Condition{{Type: networkingv1.ServiceCIDRConditionReady, Status: metav1.ConditionTrue,
			Reason: "", Message: "Kubernetes Service CIDR is ready", LastTransitionTime: metav1.NewTime(time.Now().Truncate(time.Second))}}
		if len(cur.(*networkingv1.ServiceCIDR).Status.Conditions) > 0 {
			return cur.DeepCopyObject(), nil
		}
		return c, nil
	}, registry.WriteOptions{Subresource: "status"}); err != nil {
		return fmt.Errorf("servicecidr status: %w", err)
	}
	svc := &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			Type:      corev1.ServiceTypeClusterIP,
			ClusterIP: b.ipAlloc.Nth(1).String(),
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(int32(b.cfg.Port))}},
			SessionAffinity: corev1.ServiceAffinityNone,
		},
	}
	if err := b.ensure(ctx, b.store("", "v1", "services"), metav1.NamespaceDefault, svc); err != nil {
		return fmt.Errorf("kubernetes service: %w", err)
	}
	if err := b.ensureClusterDNSService(ctx); err != nil {
		return err
	}
	if err := b.reconcileEndpoints(ctx); err != nil {
		return err
	}
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := b.reconcileEndpoints(ctx); err != nil && ctx.Err() == nil {
					b.log.Warn("kubernetes endpoints", "err", err)
				}
			}
		}
	}()
	return nil
}

// ensureClusterDNSService creates kube-system/kube-dns at the cluster DNS IP, as kubeadm and
// k3s name it, so that tools looking for the cluster DNS Service find it. No pod backs it:
// every node's agent answers DNS itself, and its service proxy sends this IP's port 53 to the
// node's own DNS listener.
func (b *bootstrap) ensureClusterDNSService(ctx context.Context) error {
	labels := map[string]string{"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "skiff-dns"}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: "kube-dns", Namespace: metav1.NamespaceSystem, Labels: labels},
		Spec: corev1.ServiceSpec{
			Type:      corev1.ServiceTypeClusterIP,
			ClusterIP: b.cfg.ClusterDNS,
			Selector:  map[string]string{"k8s-app": "kube-dns"},
			Ports: []corev1.ServicePort{
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
				{Name: "dns-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
			},
			SessionAffinity: corev1.ServiceAffinityNone,
		},
	}
	st := b.store("", "v1", "services")
	if cur, err := st.Get(ctx, metav1.NamespaceSystem, "kube-dns", ""); err == nil {
		if ip := cur.(*corev1.Service).Spec.ClusterIP; ip != b.cfg.ClusterDNS {
			b.log.Warn("kube-system/kube-dns has another ClusterIP than --cluster-dns; pods will be given --cluster-dns", "clusterIP", ip, "clusterDNS", b.cfg.ClusterDNS)
		}
		return nil
	}
	if err := b.ensure(ctx, st, metav1.NamespaceSystem, svc); err != nil {
		// The address may have been handed to a user's Service before: say so, and go on.
		b.log.Warn("cluster DNS service kube-system/kube-dns not created", "clusterIP", b.cfg.ClusterDNS, "err", err)
	}
	return nil
}

// advertiseIP is the address other nodes and pods reach this server at.
func (b *bootstrap) advertiseIP() string {
	if b.cfg.AdvertiseAddress != "" {
		return b.cfg.AdvertiseAddress
	}
	if ip := net.ParseIP(b.cfg.BindAddress); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		return ip.String()
	}
	for _, ip := range localAddresses() {
		if ip.To4() != nil {
			return ip.String()
		}
	}
	// Endpoints may not point at loopback; a machine with no other address publishes none.
	return ""
}

// reconcileEndpoints points the kubernetes Service's Endpoints and EndpointSlice at this server.
func (b *bootstrap) reconcileEndpoints(ctx context.Context) error {
	ip := b.advertiseIP()
	if ip == "" {
		b.log.Warn("no non-loopback address to publish as the kubernetes service's endpoint; set --advertise-address")
		return nil
	}
	port := int32(b.cfg.Port)
	ep := &corev1.Endpoints{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Endpoints"},
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{"endpointslice.kubernetes.io/skip-mirror": "true"}},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: ip}},
			Ports:     []corev1.EndpointPort{{Name: "https", Port: port, Protocol: corev1.ProtocolTCP}},
		}},
	}
	if _, _, err := b.store("", "v1", "endpoints").Update(ctx, metav1.NamespaceDefault, "kubernetes", func(cur runtime.Object) (runtime.Object, error) {
		next := ep.DeepCopy()
		if cur != nil {
			c := cur.(*corev1.Endpoints)
			next.ObjectMeta = *c.ObjectMeta.DeepCopy()
			next.Labels = ep.Labels
		}
		return next, nil
	}, registry.WriteOptions{}); err != nil {
		return fmt.Errorf("kubernetes endpoints: %w", err)
	}
	ready := true
	slice := &discoveryv1.EndpointSlice{
		TypeMeta: metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: metav1.NamespaceDefault,
			Labels: map[string]string{discoveryv1.LabelServiceName: "kubernetes", discoveryv1.LabelManagedBy: "endpointslicemirroring-controller.k8s.io"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("https"), Port: &port, Protocol: ptrProto(corev1.ProtocolTCP)}},
	}
	if _, _, err := b.store("discovery.k8s.io", "v1", "endpointslices").Update(ctx, metav1.NamespaceDefault, "kubernetes", func(cur runtime.Object) (runtime.Object, error) {
		next := slice.DeepCopy()
		if cur != nil {
			c := cur.(*discoveryv1.EndpointSlice)
			next.ObjectMeta = *c.ObjectMeta.DeepCopy()
			next.Labels = slice.Labels
		}
		return next, nil
	}, registry.WriteOptions{}); err != nil {
		return fmt.Errorf("kubernetes endpointslice: %w", err)
	}
	return nil
}

func ptr(s string) *string                        { return &s }
func ptrProto(p corev1.Protocol) *corev1.Protocol { return &p }
