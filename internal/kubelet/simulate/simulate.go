// Package simulate runs many simulated nodes in one process: the real kubelet (internal/kubelet)
// on the fake runtime (internal/runtime/fake), one per node, all on one kubelet.Host, so that
// they share one rate-limited API client, one pod informer and one node informer, one event
// broadcaster and one pool of workers. Every node keeps upstream's timings: its Lease renewed
// every 10 s, its status reported every 5 minutes or on change. Stopping Run (or a node) stops
// those heartbeats, which the control plane sees as the machines disappearing.
//
// Memory: a node costs its Kubelet and fake runtime records, its cached Lease, and its Node in
// the shared informer; a pod costs its informer copy, its worker and its fake sandbox. No
// goroutine or timer is kept per node or per pod.
package simulate

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/controller/nodeipam"
	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/runtime/fake"
	"github.com/skiff-project/skiff/internal/version"
)

// Options describe the simulated nodes.
type Options struct {
	// Nodes is how many; they are named NamePrefix0, NamePrefix1, ...
	Nodes      int
	NamePrefix string
	// CPU, Memory and Pods are each node's capacity.
	CPU, Memory resource.Quantity
	Pods        int
	Labels      map[string]string
	Taints      []corev1.Taint
	// QPS and Burst limit the shared client; zero derives them from Nodes (every node renews
	// its Lease every 10 s).
	QPS   float32
	Burst int
	// Workers is the size of the shared worker pool (default 32).
	Workers int
	// ClusterCIDR and NodeCIDRMaskSize, if set, also run node IPAM in this process (for servers
	// that don't run it yet).
	ClusterCIDR      string
	NodeCIDRMaskSize int
	Log              *slog.Logger
	// Started, if set, is called with the host once every node has been added.
	Started func(*kubelet.Host)
}

// Run runs the simulated nodes until ctx is done.
func Run(ctx context.Context, restConfig *rest.Config, opts Options) error {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.NamePrefix == "" {
		opts.NamePrefix = "sim-"
	}
	if opts.Workers == 0 {
		opts.Workers = 32
	}
	cfg := rest.CopyConfig(restConfig)
	cfg.QPS, cfg.Burst = opts.QPS, opts.Burst
	if cfg.QPS == 0 {
		// Leases take Nodes/10 per second; leave as much again for status and pods.
		cfg.QPS = float32(50 + opts.Nodes/5)
	}
	if cfg.Burst == 0 {
		cfg.Burst = int(cfg.QPS) * 2
	}
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.UserAgent = "skiff-simulate/" + version.Skiff
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		wg.Wait()
	}()
	if opts.ClusterCIDR != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := nodeipam.Run(ctx, client, client, opts.ClusterCIDR, opts.NodeCIDRMaskSize); err != nil {
				opts.Log.Error("node IPAM stopped", "err", err)
			}
		}()
	}
	host := kubelet.NewHost(client, kubelet.HostOptions{Workers: opts.Workers, PodFieldSelector: "spec.nodeName!=", Log: opts.Log})
	for i := 0; i < opts.Nodes; i++ {
		host.AddNode(NodeConfig(opts, i), fake.New(clock.RealClock{}))
	}
	opts.Log.Info("simulating nodes", "nodes", opts.Nodes, "first", fmt.Sprintf("%s%d", opts.NamePrefix, 0),
		"qps", cfg.QPS, "workers", opts.Workers)
	if opts.Started != nil {
		opts.Started(host)
	}
	return host.Run(ctx)
}

// NodeConfig is the kubelet configuration of simulated node i: InternalIP 172.16.0.0/12 + i + 1.
func NodeConfig(opts Options, i int) kubelet.Config {
	name := fmt.Sprintf("%s%d", opts.NamePrefix, i)
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, 172<<24|16<<16+uint32(i)+1)
	pods := opts.Pods
	if pods == 0 {
		pods = 110
	}
	return kubelet.Config{
		NodeName: name, CPU: opts.CPU, Memory: opts.Memory, MaxPods: pods,
		Labels: opts.Labels, Taints: opts.Taints,
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: ip.String()},
			{Type: corev1.NodeHostName, Address: name},
		},
		KubeletVersion: version.Info().GitVersion, RuntimeVersion: fake.Version,
	}
}
