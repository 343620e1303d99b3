package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff-project/skiff/internal/network/podnet"
)

// Timing of the overlay's reconciliation.
const (
	// overlayResync is how often the routes to other nodes are compared with the Nodes even
	// when none changed, which repairs what someone deleted by hand.
	overlayResync = time.Minute
	// overlayRetry is how long a failed reconciliation waits before the next try.
	overlayRetry = 2 * time.Second
	// overlaySyncWait bounds how long start-up waits for the first list of Nodes.
	overlaySyncWait = 30 * time.Second
)

// overlay connects the node's pods to other nodes' pods: it publishes the node's network
// annotations on its Node and feeds every Node to the pod network as a peer, whenever a Node
// changes and every overlayResync.
type overlay struct {
	a       *Agent
	net     *podnet.Network
	nodes   listersv1.NodeLister
	trigger chan struct{}
}

// startOverlay starts the overlay: it watches every Node (the skiff:node-network
// ClusterRole lets nodes), waits up to overlaySyncWait for the first list, reconciles once,
// and keeps reconciling in the background until ctx ends.
func (a *Agent) startOverlay(ctx context.Context, n *podnet.Network) {
	o := &overlay{a: a, net: n, trigger: make(chan struct{}, 1)}
	factory := informers.NewSharedInformerFactory(a.api, 0)
	inf := factory.Core().V1().Nodes()
	o.nodes = inf.Lister()
	_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { o.kick() },
		UpdateFunc: func(old, cur any) { o.changed(old, cur) },
		DeleteFunc: func(any) { o.kick() },
	})
	factory.Start(ctx.Done())
	a.goRun(func() {
		<-ctx.Done()
		factory.Shutdown()
	})
	syncCtx, cancel := context.WithTimeout(ctx, overlaySyncWait)
	synced := cache.WaitForCacheSync(syncCtx.Done(), inf.Informer().HasSynced)
	cancel()
	peers := 0
	if synced {
		var err error
		if peers, err = o.sync(ctx); err != nil {
			a.log.Warn("overlay: first reconciliation incomplete; retrying", "err", err)
			o.kick()
		}
	} else if ctx.Err() == nil {
		a.log.Warn("overlay: the list of nodes is not in yet; pods reach other nodes once it is", "waited", overlaySyncWait)
	}
	a.goRun(func() { o.run(ctx, inf.Informer().HasSynced) })
	a.log.Info("overlay ready", "backend", n.Backend(), "vxlan", vxlanDevice(n), "annotations", n.NodeAnnotations(), "peers", peers)
}

// vxlanDevice returns the VXLAN device's name, or "" for a backend without one.
func vxlanDevice(n *podnet.Network) string {
	if n.Backend() == podnet.BackendVXLAN {
		return n.VXLANName()
	}
	return ""
}

// kick asks for a reconciliation.
func (o *overlay) kick() {
	select {
	case o.trigger <- struct{}{}:
	default:
	}
}

// changed asks for a reconciliation when a Node changed in what the overlay reads (not on
// every status heartbeat).
func (o *overlay) changed(old, cur any) {
	on, ok1 := old.(*corev1.Node)
	cn, ok2 := cur.(*corev1.Node)
	if !ok1 || !ok2 || overlayRelevantChange(on, cn) {
		o.kick()
	}
}

// overlayRelevantChange reports whether a Node update changes what the overlay reads of it:
// its podCIDRs or the network annotations.
func overlayRelevantChange(old, cur *corev1.Node) bool {
	if fmt.Sprint(podCIDRsOf(old)) != fmt.Sprint(podCIDRsOf(cur)) {
		return true
	}
	for _, k := range []string{podnet.AnnotationBackend, podnet.AnnotationPublicIP, podnet.AnnotationVTEPMAC} {
		if old.Annotations[k] != cur.Annotations[k] {
			return true
		}
	}
	return false
}

// run reconciles on every kick and every overlayResync until ctx ends.
func (o *overlay) run(ctx context.Context, synced func() bool) {
	tick := time.NewTicker(overlayResync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.trigger:
		case <-tick.C:
		}
		if !synced() {
			continue
		}
		if _, err := o.sync(ctx); err != nil && ctx.Err() == nil {
			o.a.log.Warn("overlay: reconciliation failed; retrying", "err", err, "in", overlayRetry)
			select {
			case <-ctx.Done():
				return
			case <-time.After(overlayRetry):
			}
			o.kick()
		}
	}
}

// sync publishes the node's annotations if its Node lacks them (a Node deleted and registered
// again loses them) and gives the pod network every Node as a peer. It returns how many peers
// there are besides the node itself.
func (o *overlay) sync(ctx context.Context) (int, error) {
	nodes, err := o.nodes.List(labels.Everything())
	if err != nil {
		return 0, err
	}
	want := o.net.NodeAnnotations()
	published := false
	for _, nd := range nodes {
		if nd.Name == o.a.cfg.NodeName {
			published = !annotationsMissing(nd.Annotations, want)
		}
	}
	if !published {
		if err := o.publish(ctx, want); err != nil {
			return 0, err
		}
	}
	peers := peersFromNodes(nodes)
	if err := o.net.SetPeers(ctx, peers); err != nil {
		return 0, err
	}
	others := 0
	for _, p := range peers {
		if p.Name != o.a.cfg.NodeName {
			others++
		}
	}
	return others, nil
}

// publish sets the network annotations on the node's own Node (a merge patch, which
// NodeRestriction allows a node on itself).
func (o *overlay) publish(ctx context.Context, want map[string]string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": want}})
	if err != nil {
		return err
	}
	if _, err := o.a.api.CoreV1().Nodes().Patch(ctx, o.a.cfg.NodeName, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("publish the node's network annotations: %w", err)
	}
	o.a.log.Info("overlay: published the node's network annotations", "annotations", want)
	return nil
}

// annotationsMissing reports whether have lacks one of want or holds another value.
func annotationsMissing(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return true
		}
	}
	return false
}

// peersFromNodes returns the pod network's peers from the Nodes, in name order: their names,
// podCIDRs and annotations (the node itself among them; the pod network skips it).
func peersFromNodes(nodes []*corev1.Node) []podnet.Peer {
	out := make([]podnet.Peer, 0, len(nodes))
	for _, nd := range nodes {
		out = append(out, podnet.Peer{Name: nd.Name, PodCIDRs: podCIDRsOf(nd), Annotations: nd.Annotations})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// podCIDRsOf returns a Node's podCIDRs: spec.podCIDRs, or spec.podCIDR of an older writer.
func podCIDRsOf(nd *corev1.Node) []string {
	if len(nd.Spec.PodCIDRs) > 0 {
		return nd.Spec.PodCIDRs
	}
	if nd.Spec.PodCIDR != "" {
		return []string{nd.Spec.PodCIDR}
	}
	return nil
}
