package allocator

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"math/rand"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
)

// NodePortsKey is where upstream keeps the node port bitmap.
const NodePortsKey = "/registry/ranges/servicenodeports"

// Ports allocates node ports from [Base, Base+Size) with a bitmap in etcd.
type Ports struct {
	Base, Size int
	client     *clientv3.Client
	codec      *protobuf.Serializer
	mu         sync.Mutex
	rand       *rand.Rand
}

// NewPorts returns a node port allocator for the range base..base+size-1.
func NewPorts(client *clientv3.Client, scheme *runtime.Scheme, base, size int, seed int64) *Ports {
	return &Ports{Base: base, Size: size, client: client, codec: protobuf.NewSerializer(scheme, scheme), rand: rand.New(rand.NewSource(seed))}
}

func (p *Ports) rangeString() string { return fmt.Sprintf("%d-%d", p.Base, p.Base+p.Size-1) }

// Contains reports whether port is in the range.
func (p *Ports) Contains(port int) bool { return port >= p.Base && port < p.Base+p.Size }

// update applies fn to the bitmap with compare-and-swap, retrying on conflict.
func (p *Ports) update(ctx context.Context, fn func(bits *big.Int) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		resp, err := p.client.Get(ctx, NodePortsKey)
		if err != nil {
			return err
		}
		bits := new(big.Int)
		var rev int64
		if len(resp.Kvs) > 0 {
			rev = resp.Kvs[0].ModRevision
			obj, _, err := p.codec.Decode(resp.Kvs[0].Value, nil, &corev1.RangeAllocation{})
			if err != nil {
				return fmt.Errorf("decode node port allocations: %w", err)
			}
			bits.SetBytes(obj.(*corev1.RangeAllocation).Data)
		}
		if err := fn(bits); err != nil {
			return err
		}
		ra := &corev1.RangeAllocation{Range: p.rangeString(), Data: bits.Bytes()}
		ra.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("RangeAllocation"))
		var buf bytes.Buffer
		if err := p.codec.Encode(ra, &buf); err != nil {
			return err
		}
		txn, err := p.client.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(NodePortsKey), "=", rev)).
			Then(clientv3.OpPut(NodePortsKey, buf.String())).Commit()
		if err != nil {
			return err
		}
		if txn.Succeeded {
			return nil
		}
	}
}

// ErrAllocated means the port is taken.
var ErrAllocated = fmt.Errorf("provided port is already allocated")

// Reserve marks port as used.
func (p *Ports) Reserve(ctx context.Context, port int) error {
	if !p.Contains(port) {
		return fmt.Errorf("provided port is not in the valid range. The range of valid ports is %s", p.rangeString())
	}
	return p.update(ctx, func(bits *big.Int) error {
		i := port - p.Base
		if bits.Bit(i) == 1 {
			return ErrAllocated
		}
		bits.SetBit(bits, i, 1)
		return nil
	})
}

// AllocateNext marks a free port as used and returns it.
func (p *Ports) AllocateNext(ctx context.Context) (int, error) {
	var port int
	err := p.update(ctx, func(bits *big.Int) error {
		start := p.rand.Intn(p.Size)
		for i := 0; i < p.Size; i++ {
			j := (start + i) % p.Size
			if bits.Bit(j) == 0 {
				bits.SetBit(bits, j, 1)
				port = p.Base + j
				return nil
			}
		}
		return fmt.Errorf("range is full")
	})
	return port, err
}

// Release frees ports.
func (p *Ports) Release(ctx context.Context, ports ...int) {
	if len(ports) == 0 {
		return
	}
	_ = p.update(ctx, func(bits *big.Int) error {
		for _, port := range ports {
			if p.Contains(port) {
				bits.SetBit(bits, port-p.Base, 0)
			}
		}
		return nil
	})
}
