package randcluster

import (
	"fmt"
	"maps"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/scheduler/cache"
	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// Model is what a cache should hold: its nodes, and its pods (bound or assumed) by UID.
type Model struct {
	Nodes   map[string]*v1.Node
	Pods    map[types.UID]*v1.Pod
	assumed map[types.UID]bool
}

// History drives a cache through a random history of steps operations, updating snap (which
// must start empty or in step with c) every few of them as the scheduler does between cycles,
// and calling check after each update with what the cache should then hold. Nodes are added,
// relabelled, removed and re-added; pods are added, assumed then confirmed, forgotten or
// expired, relabelled, removed, and placed on nodes the cache does not know (yet). It ends
// with exactly pods and nodes in the cache, pods bound, and a last update and check.
func (g *Generator) History(c *cache.Cache, snap *framework.Snapshot, pods []*v1.Pod, nodes []*v1.Node, steps int, check func(*Model)) {
	h := &history{g: g, c: c, m: &Model{Nodes: map[string]*v1.Node{}, Pods: map[types.UID]*v1.Pod{}, assumed: map[types.UID]bool{}},
		pods: pods, nodes: nodes}
	for step := 0; step < steps; step++ {
		h.step()
		if g.chance(0.3) {
			c.UpdateSnapshot(snap)
			check(h.m)
		}
	}
	h.settle()
	c.UpdateSnapshot(snap)
	check(h.m)
}

type history struct {
	g     *Generator
	c     *cache.Cache
	m     *Model
	pods  []*v1.Pod
	nodes []*v1.Node
	extra int
}

// nodeName returns the name of a final node, or now and then of a node outside the final set.
func (h *history) nodeName() string {
	if len(h.nodes) == 0 || h.g.chance(0.1) {
		return fmt.Sprintf("extra-node-%d", h.g.r.IntN(3))
	}
	return h.nodes[h.g.r.IntN(len(h.nodes))].Name
}

// pod returns a version of a final pod, or a new pod outside the final set.
func (h *history) pod() *v1.Pod {
	if len(h.pods) == 0 || h.g.chance(0.2) {
		h.extra++
		p := h.g.Pod(h.nodeName())
		p.UID = types.UID(fmt.Sprintf("extra-%d", h.extra))
		return p
	}
	p := h.pods[h.g.r.IntN(len(h.pods))]
	if h.g.chance(0.3) {
		p = h.g.Relabel(p)
	}
	return p
}

// present returns a pod in the cache, or nil.
func (h *history) present() *v1.Pod {
	if len(h.m.Pods) == 0 {
		return nil
	}
	uids := slices.Sorted(maps.Keys(h.m.Pods))
	return h.m.Pods[uids[h.g.r.IntN(len(uids))]]
}

func (h *history) step() {
	switch h.g.r.IntN(9) {
	case 0:
		n := h.g.Node(h.nodeName())
		h.c.AddNode(n)
		h.m.Nodes[n.Name] = n
	case 1:
		if n := h.m.Nodes[h.nodeName()]; n != nil {
			u := h.g.Node(n.Name)
			h.c.UpdateNode(n, u)
			h.m.Nodes[n.Name] = u
		}
	case 2:
		if n := h.m.Nodes[h.nodeName()]; n != nil {
			h.c.RemoveNode(n)
			delete(h.m.Nodes, n.Name)
		}
	case 3, 4:
		p := h.pod()
		h.c.AddPod(p)
		h.m.Pods[p.UID] = p
		delete(h.m.assumed, p.UID)
	case 5:
		if p := h.pod(); h.m.Pods[p.UID] == nil {
			if err := h.c.AssumePod(p); err != nil {
				panic(err)
			}
			h.m.Pods[p.UID] = p
			h.m.assumed[p.UID] = true
		}
	case 6:
		h.endAssumption()
	case 7:
		if p := h.present(); p != nil && !h.m.assumed[p.UID] {
			u := h.g.Relabel(p)
			h.c.UpdatePod(p, u)
			h.m.Pods[p.UID] = u
		}
	case 8:
		if p := h.present(); p != nil && !h.m.assumed[p.UID] {
			h.c.RemovePod(p)
			delete(h.m.Pods, p.UID)
		}
	}
}

// endAssumption confirms, forgets or expires an assumed pod.
func (h *history) endAssumption() {
	p := h.present()
	if p == nil || !h.m.assumed[p.UID] {
		return
	}
	delete(h.m.assumed, p.UID)
	switch h.g.r.IntN(3) {
	case 0:
		h.c.AddPod(p)
	case 1:
		h.c.ForgetPod(p)
		delete(h.m.Pods, p.UID)
	case 2:
		now := time.Unix(1000, 0)
		h.c.FinishBinding(p, now)
		for _, e := range h.c.CleanupExpiredAssumedPods(now.Add(24 * time.Hour)) {
			delete(h.m.Pods, e.UID)
			delete(h.m.assumed, e.UID)
		}
		if h.m.Pods[p.UID] != nil { // a cache without a TTL keeps it
			h.m.assumed[p.UID] = true
		}
	}
}

// settle brings the cache to exactly the final pods (bound) and nodes.
func (h *history) settle() {
	final := map[types.UID]bool{}
	for _, p := range h.pods {
		final[p.UID] = true
	}
	for uid, p := range h.m.Pods {
		if !final[uid] {
			if h.m.assumed[uid] {
				h.c.ForgetPod(p)
			} else {
				h.c.RemovePod(p)
			}
			delete(h.m.Pods, uid)
			delete(h.m.assumed, uid)
		}
	}
	names := map[string]bool{}
	for _, n := range h.nodes {
		names[n.Name] = true
		h.c.AddNode(n)
		h.m.Nodes[n.Name] = n
	}
	for name, n := range h.m.Nodes {
		if !names[name] {
			h.c.RemoveNode(n)
			delete(h.m.Nodes, name)
		}
	}
	for _, p := range h.pods {
		h.c.AddPod(p)
		h.m.Pods[p.UID] = p
		delete(h.m.assumed, p.UID)
	}
}

// Snapshot builds the cluster's snapshot through a cache and a random history of steps
// operations (see History), so that it holds pods and nodes as incremental updates left them.
func (g *Generator) Snapshot(pods []*v1.Pod, nodes []*v1.Node, steps int) *framework.Snapshot {
	snap := framework.NewEmptySnapshot()
	g.History(cache.New(0), snap, pods, nodes, steps, func(*Model) {})
	return snap
}
