// Package cache holds the scheduler's view of nodes and the pods on them, including pods it has
// assumed onto a node but whose binding has not come back through the watch yet, so that the
// next decision never waits for the API.
//
// The caller (the scheduler) must:
//   - feed node and assigned-pod informer events to AddNode/UpdateNode/RemoveNode and
//     AddPod/UpdatePod/RemovePod;
//   - AssumePod when it decides, then FinishBinding when the binding POST succeeded or
//     ForgetPod when it failed;
//   - call CleanupExpiredAssumedPods periodically: a pod whose binding succeeded but never
//     arrived through the watch within the TTL is dropped;
//   - call UpdateSnapshot at the start of every cycle. Only NodeInfos changed since the
//     snapshot's generation, found by walking a list kept in generation order, are copied;
//     the snapshot's pod and domain indexes are updated with what changed on them.
package cache

import (
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

type nodeItem struct {
	info       *framework.NodeInfo
	prev, next *nodeItem
}

type podState struct {
	pod      *v1.Pod
	assumed  bool
	deadline time.Time // set by FinishBinding for assumed pods
}

// Cache is safe for concurrent use.
type Cache struct {
	mu    sync.Mutex
	ttl   time.Duration
	nodes map[string]*nodeItem
	head  *nodeItem
	pods  map[types.UID]*podState
	// nodeCount counts items with a Node.
	nodeCount int
	// images counts nodes per image name; imagesGen changes when it does.
	images    map[string]int
	imagesGen int64
	snapImgs  int64
}

// New returns an empty cache; assumed pods whose binding finished expire after ttl (0: never).
func New(ttl time.Duration) *Cache {
	return &Cache{ttl: ttl, nodes: map[string]*nodeItem{}, pods: map[types.UID]*podState{}, images: map[string]int{}}
}

func (c *Cache) moveToHead(it *nodeItem) {
	if c.head == it {
		return
	}
	if it.prev != nil {
		it.prev.next = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	}
	it.prev = nil
	it.next = c.head
	if c.head != nil {
		c.head.prev = it
	}
	c.head = it
}

func (c *Cache) unlink(it *nodeItem) {
	if it.prev != nil {
		it.prev.next = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	}
	if c.head == it {
		c.head = it.next
	}
	it.prev, it.next = nil, nil
}

func (c *Cache) item(name string) *nodeItem {
	it := c.nodes[name]
	if it == nil {
		it = &nodeItem{info: framework.NewNodeInfo()}
		c.nodes[name] = it
	}
	return it
}

func (c *Cache) images_(ni *framework.NodeInfo, sign int) {
	for name := range ni.ImageSizes {
		c.images[name] += sign
		if c.images[name] <= 0 {
			delete(c.images, name)
		}
	}
	if len(ni.ImageSizes) > 0 {
		c.imagesGen++
	}
}

// AddNode adds or replaces a node.
func (c *Cache) AddNode(node *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it := c.item(node.Name)
	if it.info.Node() == nil {
		c.nodeCount++
	} else {
		c.images_(it.info, -1)
	}
	it.info.SetNode(node)
	c.images_(it.info, 1)
	c.moveToHead(it)
}

// UpdateNode replaces a node.
func (c *Cache) UpdateNode(_, node *v1.Node) { c.AddNode(node) }

// RemoveNode forgets a node; its pods stay until they are removed.
func (c *Cache) RemoveNode(node *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it := c.nodes[node.Name]
	if it == nil || it.info.Node() == nil {
		return
	}
	c.images_(it.info, -1)
	c.nodeCount--
	it.info.RemoveNode()
	if len(it.info.Pods) == 0 {
		c.unlink(it)
		delete(c.nodes, node.Name)
		return
	}
	c.moveToHead(it)
}

func (c *Cache) addPodLocked(pod *v1.Pod) {
	it := c.item(pod.Spec.NodeName)
	it.info.AddPod(pod)
	c.moveToHead(it)
}

func (c *Cache) removePodLocked(pod *v1.Pod) {
	it := c.nodes[pod.Spec.NodeName]
	if it == nil {
		return
	}
	it.info.RemovePod(pod)
	if len(it.info.Pods) == 0 && it.info.Node() == nil {
		c.unlink(it)
		delete(c.nodes, pod.Spec.NodeName)
		return
	}
	c.moveToHead(it)
}

// AssumePod records pod (with spec.nodeName set to the chosen node) as placed.
func (c *Cache) AssumePod(pod *v1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pod.UID]; ok {
		return fmt.Errorf("pod %s/%s (%s) is already in the cache", pod.Namespace, pod.Name, pod.UID)
	}
	c.addPodLocked(pod)
	c.pods[pod.UID] = &podState{pod: pod, assumed: true}
	return nil
}

// AssumePodInfo is AssumePod for an already parsed pod.
func (c *Cache) AssumePodInfo(pi *framework.PodInfo) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	pod := pi.Pod
	if _, ok := c.pods[pod.UID]; ok {
		return fmt.Errorf("pod %s/%s (%s) is already in the cache", pod.Namespace, pod.Name, pod.UID)
	}
	it := c.item(pod.Spec.NodeName)
	it.info.AddPodInfo(pi)
	c.moveToHead(it)
	c.pods[pod.UID] = &podState{pod: pod, assumed: true}
	return nil
}

// FinishBinding starts the expiry clock of an assumed pod whose binding succeeded.
func (c *Cache) FinishBinding(pod *v1.Pod, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok && ps.assumed && c.ttl > 0 {
		ps.deadline = now.Add(c.ttl)
	}
}

// ForgetPod drops an assumed pod (its binding failed).
func (c *Cache) ForgetPod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok && ps.assumed {
		c.removePodLocked(ps.pod)
		delete(c.pods, pod.UID)
	}
}

// IsAssumed reports whether pod is assumed and not yet confirmed.
func (c *Cache) IsAssumed(pod *v1.Pod) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[pod.UID]
	return ok && ps.assumed
}

// AddPod records a pod bound to a node, as seen through the watch; an assumed pod is confirmed.
func (c *Cache) AddPod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pod.UID]; ok {
		// Confirm the assumption (or replace a stale copy), possibly on another node.
		c.removePodLocked(ps.pod)
	}
	c.addPodLocked(pod)
	c.pods[pod.UID] = &podState{pod: pod}
}

// UpdatePod replaces a bound pod.
func (c *Cache) UpdatePod(_, pod *v1.Pod) { c.AddPod(pod) }

// RemovePod forgets a pod.
func (c *Cache) RemovePod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[pod.UID]
	if !ok {
		return
	}
	c.removePodLocked(ps.pod)
	delete(c.pods, pod.UID)
}

// CleanupExpiredAssumedPods drops assumed pods whose binding finished before now - ttl but
// which never came back through the watch. It returns them.
func (c *Cache) CleanupExpiredAssumedPods(now time.Time) []*v1.Pod {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*v1.Pod
	for uid, ps := range c.pods {
		if ps.assumed && !ps.deadline.IsZero() && now.After(ps.deadline) {
			c.removePodLocked(ps.pod)
			delete(c.pods, uid)
			out = append(out, ps.pod)
		}
	}
	return out
}

// NodeCount returns the number of nodes.
func (c *Cache) NodeCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodeCount
}

// PodCount returns the number of pods (bound and assumed).
func (c *Cache) PodCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pods)
}

// UpdateSnapshot brings snap up to date, copying only NodeInfos with a newer generation.
// NodeInfo pointers in snap stay stable: changed ones are overwritten in place, and the
// snapshot's indexes are updated with only what changed on them.
func (c *Cache) UpdateSnapshot(snap *framework.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rebuildAll := false
	for it := c.head; it != nil; it = it.next {
		if it.info.Generation <= snap.Generation {
			break
		}
		node := it.info.Node()
		if node == nil {
			continue
		}
		clone := it.info.Clone()
		existing, ok := snap.NodeInfoMap[node.Name]
		if !ok {
			existing = &framework.NodeInfo{}
			rebuildAll = true
		} else if existing.Node() != nil && (framework.ZoneOf(existing.Node()) != framework.ZoneOf(node)) {
			rebuildAll = true
		}
		snap.SetNodeInfo(clone)
	}
	if c.head != nil {
		snap.Generation = c.head.info.Generation
	}
	if len(snap.NodeInfoMap) > c.nodeCount {
		for name := range snap.NodeInfoMap {
			if it, ok := c.nodes[name]; !ok || it.info.Node() == nil {
				snap.RemoveNodeInfo(name)
			}
		}
		rebuildAll = true
	}
	if c.snapImgs != c.imagesGen {
		snap.ImageNumNodes = make(map[string]int, len(c.images))
		for k, v := range c.images {
			snap.ImageNumNodes[k] = v
		}
		c.snapImgs = c.imagesGen
	}
	if rebuildAll {
		snap.RebuildLists()
	}
}
