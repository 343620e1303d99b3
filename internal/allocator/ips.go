package allocator

import (
	"context"
	"fmt"
	"math/big"
	"math/rand"
	"net"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff-project/skiff/internal/registry"
)

// Labels upstream's IP allocator puts on IPAddress objects.
const (
	labelManagedBy = "ipaddress.kubernetes.io/managed-by"
	labelIPFamily  = "ipaddress.kubernetes.io/ip-family"
	managedBy      = "ipallocator.k8s.io"
)

// IPs allocates cluster IPs from one service CIDR.
type IPs struct {
	cidr  *net.IPNet
	store *registry.Store // ipaddresses
	rand  *rand.Rand
}

// NewIPs returns an allocator over cidr that records addresses in store.
func NewIPs(cidr *net.IPNet, store *registry.Store, seed int64) *IPs {
	return &IPs{cidr: cidr, store: store, rand: rand.New(rand.NewSource(seed))}
}

// size returns the number of addresses in the CIDR.
func (a *IPs) size() int64 {
	ones, bits := a.cidr.Mask.Size()
	if bits-ones >= 62 {
		return 1 << 62
	}
	return int64(1) << uint(bits-ones)
}

// Nth returns the n-th address of the CIDR (0 is the network address).
func (a *IPs) Nth(n int64) net.IP {
	base := new(big.Int).SetBytes(a.cidr.IP.To16())
	ip := new(big.Int).Add(base, big.NewInt(n)).Bytes()
	out := make(net.IP, 16)
	copy(out[16-len(ip):], ip)
	if v4 := out.To4(); v4 != nil && a.cidr.IP.To4() != nil {
		return v4
	}
	return out
}

// Contains reports whether ip is an allocatable address of the CIDR.
func (a *IPs) Contains(ip net.IP) bool {
	if !a.cidr.Contains(ip) {
		return false
	}
	return !ip.Equal(a.cidr.IP) && !ip.Equal(a.Nth(a.size()-1))
}

// Reserve records ip as owned by the service namespace/name. It fails with AlreadyExists if
// another owner has it.
func (a *IPs) Reserve(ctx context.Context, ip net.IP, namespace, name string, dryRun bool) error {
	family := "IPv4"
	if ip.To4() == nil {
		family = "IPv6"
	}
	obj := &networkingv1.IPAddress{
		ObjectMeta: metav1.ObjectMeta{Name: ip.String(), Labels: map[string]string{labelManagedBy: managedBy, labelIPFamily: family}},
		Spec:       networkingv1.IPAddressSpec{ParentRef: &networkingv1.ParentReference{Resource: "services", Namespace: namespace, Name: name}},
	}
	obj.SetGroupVersionKind(networkingv1.SchemeGroupVersion.WithKind("IPAddress"))
	if dryRun {
		_, err := a.store.Get(ctx, "", ip.String(), "")
		if err == nil {
			return apierrors.NewAlreadyExists(networkingv1.Resource("ipaddresses"), ip.String())
		}
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	_, err := a.store.Create(ctx, "", obj, registry.WriteOptions{})
	return err
}

// Release forgets ip.
func (a *IPs) Release(ctx context.Context, ip string) {
	_, _, _ = a.store.Delete(ctx, "", ip, &metav1.DeleteOptions{}, false)
}

// AllocateNext reserves a free address at random, skipping the network and broadcast
// addresses.
func (a *IPs) AllocateNext(ctx context.Context, namespace, name string, dryRun bool) (net.IP, error) {
	size := a.size()
	if size < 4 {
		return nil, fmt.Errorf("service CIDR %s is too small", a.cidr)
	}
	start := 1 + a.rand.Int63n(size-2)
	tries := size - 2
	if tries > 2048 {
		tries = 2048
	}
	for i := int64(0); i < tries; i++ {
		n := 1 + (start-1+i)%(size-2)
		ip := a.Nth(n)
		err := a.Reserve(ctx, ip, namespace, name, dryRun)
		if err == nil {
			return ip, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("range is full")
}

// allocateClusterIP gives svc its cluster IP: the one asked for, if free and in range, or the
// next free one. ExternalName and headless services get none.
func (a *IPs) allocateClusterIP(ctx context.Context, svc *corev1.Service, dryRun bool) (undo func(), err error) {
	undo = func() {}
	if svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return undo, nil
	}
	if want := svc.Spec.ClusterIP; want != "" {
		// Upstream's allocator reports on spec.clusterIPs as a whole, with the list as the value,
		// and with the messages of its ServiceCIDR-based allocator.
		path, value := field.NewPath("spec", "clusterIPs"), svc.Spec.ClusterIPs
		if len(value) == 0 {
			value = []string{want}
		}
		ip := net.ParseIP(want)
		if ip == nil {
			return undo, invalid(svc, field.Invalid(path.Index(0), want, "must be a valid IP address"))
		}
		if !a.Contains(ip) {
			return undo, invalid(svc, field.Invalid(path, value, fmt.Sprintf("failed to allocate IP %s: the provided network does not match the current range", want)))
		}
		if err := a.Reserve(ctx, ip, svc.Namespace, svc.Name, dryRun); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return undo, invalid(svc, field.Invalid(path, value, fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", want)))
			}
			return undo, err
		}
	} else {
		ip, err := a.AllocateNext(ctx, svc.Namespace, svc.Name, dryRun)
		if err != nil {
			return undo, apierrors.NewInternalError(fmt.Errorf("failed to allocate a serviceIP: %v", err))
		}
		svc.Spec.ClusterIP = ip.String()
	}
	svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	if !dryRun {
		ip := svc.Spec.ClusterIP
		undo = func() { a.Release(context.WithoutCancel(ctx), ip) }
	}
	return undo, nil
}

func invalid(svc *corev1.Service, errs ...*field.Error) error {
	return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, errs)
}
