// Package nodeipam gives every Node a pod CIDR: spec.podCIDR and spec.podCIDRs, carved from the
// cluster CIDR in ranges of a fixed prefix length (--cluster-cidr, --node-cidr-mask-size).
//
// Where the allocations live: in the Node objects themselves, and nowhere else. On start, Run
// lists every Node and marks the ranges they hold as used before it hands out any, so a restart
// never gives a range twice; a Node deleted while the controller was down simply no longer holds
// its range. A range is written with a patch that carries the Node's resourceVersion, so a Node
// changed meanwhile (or replaced by a new one of the same name) is re-read rather than
// overwritten, and a range is marked used in memory before the write and released only when the
// write failed or the Node is deleted. This is enough as long as one allocator runs at a time,
// as it does inside the single server; several servers will need leader election before they
// run it (as upstream's controller manager does), since two allocators could give the same range
// to two different Nodes.
//
// Nodes that already have a pod CIDR outside the cluster CIDR, or a mask of another size, are
// left alone (and their ranges not tracked); two Nodes found holding the same range are reported.
package nodeipam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// ErrFull is returned when every range of the cluster CIDR is taken.
var ErrFull = errors.New("no pod CIDR left in the cluster CIDR")

// Allocator hands out the ranges of a cluster CIDR. It is not safe for concurrent use.
type Allocator struct {
	base     *big.Int
	bits     int // 32 or 128
	maskSize int
	count    int
	used     []bool
	next     int
	byNode   map[string]int
}

// NewAllocator returns an allocator of the /maskSize ranges of clusterCIDR.
func NewAllocator(clusterCIDR string, maskSize int) (*Allocator, error) {
	_, n, err := net.ParseCIDR(clusterCIDR)
	if err != nil {
		return nil, fmt.Errorf("cluster CIDR %q: %w", clusterCIDR, err)
	}
	ones, bits := n.Mask.Size()
	if maskSize < ones || maskSize > bits {
		return nil, fmt.Errorf("node CIDR mask size %d does not fit in cluster CIDR %s", maskSize, clusterCIDR)
	}
	if maskSize-ones > 24 {
		return nil, fmt.Errorf("node CIDR mask size %d: more than 2^24 ranges in %s", maskSize, clusterCIDR)
	}
	ip := n.IP.To4()
	if bits == 128 {
		ip = n.IP.To16()
	}
	count := 1 << (maskSize - ones)
	return &Allocator{base: new(big.Int).SetBytes(ip), bits: bits, maskSize: maskSize, count: count,
		used: make([]bool, count), byNode: map[string]int{}}, nil
}

func (a *Allocator) cidr(i int) string {
	v := new(big.Int).Lsh(big.NewInt(int64(i)), uint(a.bits-a.maskSize))
	v.Add(v, a.base)
	b := v.FillBytes(make([]byte, a.bits/8))
	return (&net.IPNet{IP: net.IP(b), Mask: net.CIDRMask(a.maskSize, a.bits)}).String()
}

// index returns the range index of cidr, or false if it is not one of the allocator's ranges.
func (a *Allocator) index(cidr string) (int, bool) {
	ip, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return 0, false
	}
	ones, bits := n.Mask.Size()
	if ones != a.maskSize || bits != a.bits || !ip.Equal(n.IP) {
		return 0, false
	}
	b := n.IP.To4()
	if bits == 128 {
		b = n.IP.To16()
	}
	off := new(big.Int).Sub(new(big.Int).SetBytes(b), a.base)
	if off.Sign() < 0 {
		return 0, false
	}
	off.Rsh(off, uint(a.bits-a.maskSize))
	if !off.IsInt64() || off.Int64() >= int64(a.count) {
		return 0, false
	}
	return int(off.Int64()), true
}

// Occupy records that node holds cidr. It returns an error if another node holds it.
func (a *Allocator) Occupy(node, cidr string) error {
	i, ok := a.index(cidr)
	if !ok {
		return nil
	}
	if a.used[i] {
		for n, j := range a.byNode {
			if j == i && n != node {
				return fmt.Errorf("pod CIDR %s of node %s is also held by node %s", cidr, node, n)
			}
		}
	}
	a.used[i] = true
	a.byNode[node] = i
	return nil
}

// Allocate gives node a free range (its own if it has one already).
func (a *Allocator) Allocate(node string) (string, error) {
	if i, ok := a.byNode[node]; ok {
		return a.cidr(i), nil
	}
	for k := 0; k < a.count; k++ {
		i := (a.next + k) % a.count
		if !a.used[i] {
			a.used[i] = true
			a.byNode[node] = i
			a.next = (i + 1) % a.count
			return a.cidr(i), nil
		}
	}
	return "", ErrFull
}

// Release frees node's range.
func (a *Allocator) Release(node string) {
	if i, ok := a.byNode[node]; ok {
		a.used[i] = false
		delete(a.byNode, node)
	}
}

// Run allocates pod CIDRs to Nodes until ctx is done.
func Run(ctx context.Context, reads, client kubernetes.Interface, clusterCIDR string, maskSize int) error {
	alloc, err := NewAllocator(clusterCIDR, maskSize)
	if err != nil {
		return err
	}
	log := slog.Default().With("controller", "nodeipam")
	factory := informers.NewSharedInformerFactory(reads, 0)
	nodes := factory.Core().V1().Nodes()
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	defer queue.ShutDown()
	_, _ = nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { queue.Add(obj.(*corev1.Node).Name) },
		UpdateFunc: func(_, obj any) { queue.Add(obj.(*corev1.Node).Name) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if n, ok := obj.(*corev1.Node); ok {
				queue.Add(n.Name)
			}
		},
	})
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), nodes.Informer().HasSynced) {
		return ctx.Err()
	}
	all, err := nodes.Lister().List(labels.Everything())
	if err != nil {
		return err
	}
	for _, n := range all {
		for _, c := range nodeCIDRs(n) {
			if err := alloc.Occupy(n.Name, c); err != nil {
				log.Error("duplicate pod CIDR", "err", err)
			}
		}
	}
	go func() {
		<-ctx.Done()
		queue.ShutDown()
	}()
	// One worker: the allocator is not shared.
	for {
		name, shutdown := queue.Get()
		if shutdown {
			return nil
		}
		err := sync(ctx, client, alloc, nodes.Lister().Get, name)
		if err != nil && ctx.Err() == nil {
			log.Warn("allocate pod CIDR", "node", name, "err", err)
			queue.AddRateLimited(name)
		} else {
			queue.Forget(name)
		}
		queue.Done(name)
	}
}

func nodeCIDRs(n *corev1.Node) []string {
	if len(n.Spec.PodCIDRs) > 0 {
		return n.Spec.PodCIDRs
	}
	if n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return nil
}

// sync gives node name a range if it has none, and releases the range of a deleted node.
func sync(ctx context.Context, client kubernetes.Interface, alloc *Allocator, get func(string) (*corev1.Node, error), name string) error {
	n, err := get(name)
	if apierrors.IsNotFound(err) {
		alloc.Release(name)
		return nil
	}
	if err != nil {
		return err
	}
	if cidrs := nodeCIDRs(n); len(cidrs) > 0 {
		for _, c := range cidrs {
			if err := alloc.Occupy(n.Name, c); err != nil {
				slog.Default().Error("duplicate pod CIDR", "controller", "nodeipam", "err", err)
			}
		}
		return nil
	}
	cidr, err := alloc.Allocate(name)
	if err != nil {
		return err
	}
	patch, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": n.ResourceVersion, "uid": n.UID},
		"spec":     map[string]any{"podCIDR": cidr, "podCIDRs": []string{cidr}},
	})
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = client.CoreV1().Nodes().Patch(pctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		alloc.Release(name)
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil // the informer brings the new state
		}
		return err
	}
	return nil
}
