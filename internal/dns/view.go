package dns

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// view is the part of the cluster's state that answers read. Implementations are safe for
// concurrent use; the objects they return are shared and must not be modified.
type view interface {
	// service returns the Service namespace/name, or nil.
	service(namespace, name string) *corev1.Service
	// endpointSlices returns the EndpointSlices labelled kubernetes.io/service-name=service
	// in namespace.
	endpointSlices(namespace, service string) []*discoveryv1.EndpointSlice
	// hasNamespace reports whether namespace has a Service (the server knows no other sign
	// that a namespace exists).
	hasNamespace(namespace string) bool
	// servicesByIP returns the Services that have ip among their ClusterIPs.
	servicesByIP(ip netip.Addr) []*corev1.Service
	// endpointSlicesByIP returns the EndpointSlices that have an endpoint with address ip.
	endpointSlicesByIP(ip netip.Addr) []*discoveryv1.EndpointSlice
	// serial is the cluster domain's SOA serial: the Unix time of the last change seen.
	serial() uint32
}

// Names of the indexes New adds to the informers.
const (
	indexNamespace    = "skiff.dns/namespace"
	indexClusterIP    = "skiff.dns/clusterIP"
	indexSliceService = "skiff.dns/service"
	indexSliceAddress = "skiff.dns/address"
)

// informerView is the view over the shared informers.
type informerView struct {
	services, slices cache.Indexer
	clock            clock.PassiveClock
	lastChange       atomic.Uint32
}

// newInformerView adds the view's indexes to the informers (keeping any of the same name
// that another Server added) and returns the view.
func newInformerView(services, slices cache.SharedIndexInformer, clk clock.PassiveClock) (*informerView, error) {
	if err := ensureIndexers(services, serviceIndexers()); err != nil {
		return nil, fmt.Errorf("services informer: %w", err)
	}
	if err := ensureIndexers(slices, sliceIndexers()); err != nil {
		return nil, fmt.Errorf("endpointslices informer: %w", err)
	}
	v := &informerView{services: services.GetIndexer(), slices: slices.GetIndexer(), clock: clk}
	v.touch()
	return v, nil
}

// serviceIndexers are the indexes the view needs on Services.
func serviceIndexers() cache.Indexers {
	return cache.Indexers{indexNamespace: cache.MetaNamespaceIndexFunc, indexClusterIP: serviceIPIndex}
}

// sliceIndexers are the indexes the view needs on EndpointSlices.
func sliceIndexers() cache.Indexers {
	return cache.Indexers{indexSliceService: sliceServiceIndex, indexSliceAddress: sliceAddressIndex}
}

// ensureIndexers adds the indexers inf lacks.
func ensureIndexers(inf cache.SharedIndexInformer, want cache.Indexers) error {
	missing := cache.Indexers{}
	have := inf.GetIndexer().GetIndexers()
	for name, f := range want {
		if _, ok := have[name]; !ok {
			missing[name] = f
		}
	}
	if len(missing) == 0 {
		return nil
	}
	err := inf.AddIndexers(missing)
	if err != nil && strings.Contains(err.Error(), "indexer conflict") {
		// Another Server added them meanwhile; they are the same functions.
		return nil
	}
	return err
}

// touch records a change now, for the SOA serial.
func (v *informerView) touch() { v.lastChange.Store(uint32(v.clock.Now().Unix())) }

// handler is the event handler that keeps the serial.
func (v *informerView) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { v.touch() },
		UpdateFunc: func(any, any) { v.touch() },
		DeleteFunc: func(any) { v.touch() },
	}
}

func (v *informerView) serial() uint32 { return v.lastChange.Load() }

func (v *informerView) service(namespace, name string) *corev1.Service {
	obj, ok, err := v.services.GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return nil
	}
	s, _ := obj.(*corev1.Service)
	return s
}

func (v *informerView) endpointSlices(namespace, service string) []*discoveryv1.EndpointSlice {
	objs, err := v.slices.ByIndex(indexSliceService, namespace+"/"+service)
	if err != nil {
		return nil
	}
	return slicesOf(objs)
}

func (v *informerView) hasNamespace(namespace string) bool {
	keys, err := v.services.IndexKeys(indexNamespace, namespace)
	return err == nil && len(keys) > 0
}

func (v *informerView) servicesByIP(ip netip.Addr) []*corev1.Service {
	objs, err := v.services.ByIndex(indexClusterIP, ip.String())
	if err != nil {
		return nil
	}
	out := make([]*corev1.Service, 0, len(objs))
	for _, o := range objs {
		if s, ok := o.(*corev1.Service); ok {
			out = append(out, s)
		}
	}
	return out
}

func (v *informerView) endpointSlicesByIP(ip netip.Addr) []*discoveryv1.EndpointSlice {
	objs, err := v.slices.ByIndex(indexSliceAddress, ip.String())
	if err != nil {
		return nil
	}
	return slicesOf(objs)
}

func slicesOf(objs []any) []*discoveryv1.EndpointSlice {
	out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok {
			out = append(out, s)
		}
	}
	return out
}

// serviceIPIndex indexes a Service by its ClusterIPs, in netip's canonical text form.
func serviceIPIndex(obj any) ([]string, error) {
	s, ok := obj.(*corev1.Service)
	if !ok {
		return nil, nil
	}
	return canonicalIPs(clusterIPs(s)), nil
}

// sliceServiceIndex indexes an EndpointSlice by namespace/service, from its
// kubernetes.io/service-name label.
func sliceServiceIndex(obj any) ([]string, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	name := s.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return nil, nil
	}
	return []string{s.Namespace + "/" + name}, nil
}

// sliceAddressIndex indexes an EndpointSlice by its endpoints' addresses, in netip's
// canonical text form.
func sliceAddressIndex(obj any) ([]string, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || s.AddressType == discoveryv1.AddressTypeFQDN {
		return nil, nil
	}
	var addrs []string
	for _, ep := range s.Endpoints {
		addrs = append(addrs, ep.Addresses...)
	}
	return canonicalIPs(addrs), nil
}

// canonicalIPs returns the addresses among ss, each once, in netip's text form.
func canonicalIPs(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		if t := a.Unmap().String(); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// clusterIPs returns the ClusterIPs of a Service that has them (not "None", not empty).
func clusterIPs(s *corev1.Service) []string {
	ips := s.Spec.ClusterIPs
	if len(ips) == 0 && s.Spec.ClusterIP != "" {
		ips = []string{s.Spec.ClusterIP}
	}
	if len(ips) == 0 || ips[0] == corev1.ClusterIPNone {
		return nil
	}
	return ips
}
