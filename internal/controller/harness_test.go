package controller_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/skiff-project/skiff/internal/cacheinformer"
	"github.com/skiff-project/skiff/internal/controller"
	"github.com/skiff-project/skiff/internal/kubelet/simulate"
	"github.com/skiff-project/skiff/internal/testserver"
)

// cluster is a test control plane with the controller manager, a test-only binder (it binds
// each pending pod round-robin to the nodes it fits, see fits, through pods/binding) and node
// sets from skiff simulate, each of which can be stopped on its own.
type cluster struct {
	t      *testing.T
	s      *testserver.Server
	c      kubernetes.Interface
	ctx    context.Context
	nodes  map[string]context.CancelFunc
	wg     sync.WaitGroup
	cancel context.CancelFunc
	// holdBinding, while true, keeps the binder from binding any pod: a pod created after it
	// is set stays Pending until it is cleared.
	holdBinding atomic.Bool
}

func startCluster(t *testing.T, opts controller.Options, nodeSets ...string) *cluster {
	t.Helper()
	s := testserver.Start(t, testserver.Options{DisableControllers: true, DisableScheduler: true})
	// As in skiff server: the manager reads pods, nodes and metadata from the watch cache.
	src := cacheinformer.New(s.Registry)
	opts.PrimeInformers, opts.MetadataSource = src.Prime, src.Metadata
	ctx, cancel := context.WithCancel(context.Background())
	cl := &cluster{t: t, s: s, c: s.Client, ctx: ctx, cancel: cancel, nodes: map[string]context.CancelFunc{}}
	t.Cleanup(func() {
		cancel()
		cl.wg.Wait()
	})
	for _, prefix := range nodeSets {
		cl.addNodes(prefix, 2)
	}
	cl.wg.Add(2)
	go func() {
		defer cl.wg.Done()
		if err := controller.Run(ctx, s.Config, opts); err != nil {
			t.Errorf("controller manager: %v", err)
		}
	}()
	go func() {
		defer cl.wg.Done()
		runBinder(ctx, s.Client, &cl.holdBinding)
	}()
	return cl
}

// addNodes starts n simulated nodes named prefix0, prefix1, ... in their own node set.
func (cl *cluster) addNodes(prefix string, n int) {
	ctx, cancel := context.WithCancel(cl.ctx)
	cl.nodes[prefix] = cancel
	cl.wg.Add(1)
	go func() {
		defer cl.wg.Done()
		_ = simulate.Run(ctx, cl.s.Config, simulate.Options{Nodes: n, NamePrefix: prefix,
			CPU: resource.MustParse("32"), Memory: resource.MustParse("64Gi"), Pods: 110})
	}()
	cl.poll(30*time.Second, "nodes "+prefix+"* Ready", func() (bool, error) {
		for i := 0; i < n; i++ {
			node, err := cl.c.CoreV1().Nodes().Get(cl.ctx, fmt.Sprintf("%s%d", prefix, i), metav1.GetOptions{})
			if err != nil || !nodeReady(node) {
				return false, err
			}
		}
		return true, nil
	})
}

// stopNodes stops the node set prefix: its kubelets stop renewing Leases and posting status.
func (cl *cluster) stopNodes(prefix string) { cl.nodes[prefix]() }

func (cl *cluster) poll(timeout time.Duration, what string, f func() (bool, error)) {
	cl.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := f()
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			cl.dump()
			cl.t.Fatalf("timed out after %v waiting for %s (last error: %v)", timeout, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// fits reports whether the test binder may put pod on n: n is Ready, pod tolerates its
// NoSchedule and NoExecute taints (a cordoned node has the unschedulable taint, as the node
// lifecycle controller puts it) and matches its nodeSelector and required node affinity.
func fits(pod *corev1.Pod, n *corev1.Node) bool {
	if !nodeReady(n) {
		return false
	}
	taints := n.Spec.Taints
	if n.Spec.Unschedulable {
		taints = append(append([]corev1.Taint(nil), taints...), corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	if _, bad := corev1helpers.FindMatchingUntoleratedTaint(logr.Discard(), taints, pod.Spec.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
	}, false); bad {
		return false
	}
	ok, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(n)
	return ok
}

// runBinder binds pending pods round-robin to the nodes they fit until ctx ends, except while
// hold is set.
func runBinder(ctx context.Context, c kubernetes.Interface, hold *atomic.Bool) {
	f := informers.NewSharedInformerFactory(c, 0)
	pods := f.Core().V1().Pods().Informer()
	nodes := f.Core().V1().Nodes().Lister()
	f.Core().V1().Nodes().Informer()
	f.Start(ctx.Done())
	defer f.Shutdown()
	cache.WaitForCacheSync(ctx.Done(), pods.HasSynced)
	next := 0
	bound := map[string]bool{}
	for ctx.Err() == nil {
		all, _ := nodes.List(labels.Everything())
		sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
		for _, obj := range pods.GetStore().List() {
			p := obj.(*corev1.Pod)
			if p.Spec.NodeName != "" || p.DeletionTimestamp != nil || bound[string(p.UID)] {
				continue
			}
			var ok []string
			for _, n := range all {
				if fits(p, n) {
					ok = append(ok, n.Name)
				}
			}
			if len(ok) == 0 || hold.Load() {
				continue
			}
			node := ok[next%len(ok)]
			next++
			err := c.CoreV1().Pods(p.Namespace).Bind(ctx, &corev1.Binding{
				ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID},
				Target:     corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{})
			if err == nil || apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
				bound[string(p.UID)] = true
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dump logs the workloads of the default namespace, the pods and the nodes, for a failed wait.
func (cl *cluster) dump() {
	ctx := context.Background()
	if l, err := cl.c.AppsV1().Deployments("default").List(ctx, metav1.ListOptions{}); err == nil {
		for _, d := range l.Items {
			cl.t.Logf("deployment %s gen %d: %+v annotations %v", d.Name, d.Generation, d.Status, d.Annotations)
		}
	}
	if l, err := cl.c.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{}); err == nil {
		for _, rs := range l.Items {
			cl.t.Logf("replicaset %s gen %d replicas %d: %+v", rs.Name, rs.Generation, *rs.Spec.Replicas, rs.Status)
		}
	}
	if l, err := cl.c.AppsV1().StatefulSets("default").List(ctx, metav1.ListOptions{}); err == nil {
		for _, s := range l.Items {
			cl.t.Logf("statefulset %s gen %d replicas %d: %+v", s.Name, s.Generation, *s.Spec.Replicas, s.Status)
		}
	}
	if l, err := cl.c.AppsV1().DaemonSets("default").List(ctx, metav1.ListOptions{}); err == nil {
		for _, d := range l.Items {
			cl.t.Logf("daemonset %s gen %d: %+v", d.Name, d.Generation, d.Status)
		}
	}
	if l, err := cl.c.BatchV1().CronJobs("default").List(ctx, metav1.ListOptions{}); err == nil {
		for _, cj := range l.Items {
			cl.t.Logf("cronjob %s: %+v", cj.Name, cj.Status)
		}
	}
	if l, err := cl.c.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); err == nil {
		for _, p := range l.Items {
			cl.t.Logf("pod %s/%s node %q phase %s ready %v deleting %v owners %v", p.Namespace, p.Name, p.Spec.NodeName, p.Status.Phase,
				podReady(&p), p.DeletionTimestamp != nil, p.OwnerReferences)
		}
	}
	if l, err := cl.c.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil {
		for _, n := range l.Items {
			cl.t.Logf("node %s ready %v taints %v", n.Name, nodeReady(&n), n.Spec.Taints)
		}
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
