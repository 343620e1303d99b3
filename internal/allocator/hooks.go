package allocator

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Services keeps Services' cluster IPs and node ports allocated; it is the registry hook of
// the services resource.
type Services struct {
	IPs   *IPs
	Ports *Ports
}

func needsNodePorts(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer && (svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts)
}

// BeforeCreate allocates the service's cluster IP and node ports.
func (h *Services) BeforeCreate(ctx context.Context, obj runtime.Object, dryRun bool) (func(), error) {
	svc := obj.(*corev1.Service)
	undoIP, err := h.IPs.allocateClusterIP(ctx, svc, dryRun)
	if err != nil {
		return func() {}, err
	}
	ports, err := h.allocatePorts(ctx, svc, nil, dryRun)
	if err != nil {
		undoIP()
		return func() {}, err
	}
	return func() {
		undoIP()
		h.Ports.Release(context.WithoutCancel(ctx), ports...)
	}, nil
}

// allocatePorts gives every port of a NodePort or LoadBalancer service a node port: the one
// asked for, the one the same port had before (old), or a free one. It returns the ports it
// newly reserved.
func (h *Services) allocatePorts(ctx context.Context, svc, old *corev1.Service, dryRun bool) ([]int, error) {
	var reserved []int
	fail := func(err error) ([]int, error) {
		if !dryRun {
			h.Ports.Release(context.WithoutCancel(ctx), reserved...)
		}
		return nil, err
	}
	if !needsNodePorts(svc) {
		if svc.Spec.Type == corev1.ServiceTypeClusterIP || svc.Spec.Type == corev1.ServiceTypeExternalName {
			for i := range svc.Spec.Ports {
				svc.Spec.Ports[i].NodePort = 0
			}
		}
		return nil, nil
	}
	owned := map[int]bool{}
	if old != nil {
		for _, p := range old.Spec.Ports {
			if p.NodePort != 0 {
				owned[int(p.NodePort)] = true
			}
		}
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.NodePort == 0 && old != nil {
			for _, op := range old.Spec.Ports {
				if op.Port == p.Port && op.Protocol == p.Protocol && op.NodePort != 0 {
					p.NodePort = op.NodePort
				}
			}
		}
		path := field.NewPath("spec", "ports").Index(i).Child("nodePort")
		switch {
		case p.NodePort != 0 && owned[int(p.NodePort)]:
		case p.NodePort != 0:
			if dryRun {
				continue
			}
			if err := h.Ports.Reserve(ctx, int(p.NodePort)); err != nil {
				if errors.Is(err, ErrAllocated) || !h.Ports.Contains(int(p.NodePort)) {
					return fail(invalid(svc, field.Invalid(path, p.NodePort, err.Error())))
				}
				return fail(apierrors.NewInternalError(err))
			}
			reserved = append(reserved, int(p.NodePort))
		default:
			if dryRun {
				continue
			}
			port, err := h.Ports.AllocateNext(ctx)
			if err != nil {
				return fail(apierrors.NewInternalError(fmt.Errorf("failed to allocate a nodePort: %v", err)))
			}
			p.NodePort = int32(port)
			reserved = append(reserved, port)
		}
	}
	return reserved, nil
}

// BeforeUpdate keeps node ports across updates and allocates new ones; a service that gains a
// cluster IP (from ExternalName) gets one.
func (h *Services) BeforeUpdate(ctx context.Context, obj, oldObj runtime.Object, dryRun bool) error {
	svc, old := obj.(*corev1.Service), oldObj.(*corev1.Service)
	if old.Spec.Type == corev1.ServiceTypeExternalName && svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP == "" {
		if _, err := h.IPs.allocateClusterIP(ctx, svc, dryRun); err != nil {
			return err
		}
	} else if svc.Spec.ClusterIP == "" && old.Spec.ClusterIP != "" && svc.Spec.Type != corev1.ServiceTypeExternalName {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = old.Spec.ClusterIP, old.Spec.ClusterIPs
	}
	_, err := h.allocatePorts(ctx, svc, old, dryRun)
	return err
}

// AfterUpdate releases node ports and the cluster IP the service no longer has.
func (h *Services) AfterUpdate(ctx context.Context, obj, oldObj runtime.Object) {
	svc, old := obj.(*corev1.Service), oldObj.(*corev1.Service)
	keep := map[int32]bool{}
	for _, p := range svc.Spec.Ports {
		keep[p.NodePort] = true
	}
	var gone []int
	for _, p := range old.Spec.Ports {
		if p.NodePort != 0 && !keep[p.NodePort] {
			gone = append(gone, int(p.NodePort))
		}
	}
	h.Ports.Release(ctx, gone...)
	if old.Spec.ClusterIP != "" && old.Spec.ClusterIP != corev1.ClusterIPNone && svc.Spec.ClusterIP != old.Spec.ClusterIP {
		h.IPs.Release(ctx, old.Spec.ClusterIP)
	}
}

// AfterDelete releases everything the service held.
func (h *Services) AfterDelete(ctx context.Context, obj runtime.Object) {
	svc := obj.(*corev1.Service)
	var ports []int
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			ports = append(ports, int(p.NodePort))
		}
	}
	h.Ports.Release(ctx, ports...)
	if ip := svc.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
		h.IPs.Release(ctx, ip)
	}
}
