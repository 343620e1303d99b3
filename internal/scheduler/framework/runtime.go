package framework

import (
	"context"
	"sync"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Framework runs a profile's plugins at each extension point. Plugins run in the order given.
type Framework struct {
	PreFilter  []PreFilterPlugin
	Filter     []FilterPlugin
	PostFilter []PostFilterPlugin
	PreScore   []PreScorePlugin
	Score      []ScorePlugin
	// Weights of the score plugins by name; missing means 1.
	Weights map[string]int64
	// Nominator lists pods nominated to nodes (by preemption); may be nil.
	Nominator *Nominator

	// scoreBuf is reused by RunScore, which therefore must not run concurrently with itself.
	scoreBuf []NodeScore
}

// RunPreFilter runs the PreFilter plugins. A plugin returning Skip has its Filter skipped;
// the first rejection or error is returned, tagged with the plugin.
func (f *Framework) RunPreFilter(ctx context.Context, state *CycleState, pod *v1.Pod, snap *Snapshot) *Status {
	for _, p := range f.PreFilter {
		s := p.PreFilter(ctx, state, pod, snap)
		if s.IsSkip() {
			state.SkipFilter[p.Name()] = true
			continue
		}
		if !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	state.filters = nil
	state.filters = f.activeFilters(state)
	return nil
}

// activeFilters returns the Filter plugins not skipped in this cycle, computed once.
func (f *Framework) activeFilters(state *CycleState) []FilterPlugin {
	if state.filters != nil {
		return state.filters
	}
	l := make([]FilterPlugin, 0, len(f.Filter))
	for _, p := range f.Filter {
		if !state.SkipFilter[p.Name()] {
			l = append(l, p)
		}
	}
	return l
}

// RunFilter runs the Filter plugins on one node and returns the first failure.
func (f *Framework) RunFilter(ctx context.Context, state *CycleState, pod *v1.Pod, ni *NodeInfo) *Status {
	for _, p := range f.activeFilters(state) {
		if s := p.Filter(ctx, state, pod, ni); !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunAddPod runs the PreFilter extensions' AddPod.
func (f *Framework) RunAddPod(ctx context.Context, state *CycleState, pod *v1.Pod, add *PodInfo, ni *NodeInfo) *Status {
	for _, p := range f.PreFilter {
		if state.SkipFilter[p.Name()] {
			continue
		}
		if ext := p.PreFilterExtensions(); ext != nil {
			if s := ext.AddPod(ctx, state, pod, add, ni); !s.IsSuccess() {
				return s
			}
		}
	}
	return nil
}

// RunRemovePod runs the PreFilter extensions' RemovePod.
func (f *Framework) RunRemovePod(ctx context.Context, state *CycleState, pod *v1.Pod, rm *PodInfo, ni *NodeInfo) *Status {
	for _, p := range f.PreFilter {
		if state.SkipFilter[p.Name()] {
			continue
		}
		if ext := p.PreFilterExtensions(); ext != nil {
			if s := ext.RemovePod(ctx, state, pod, rm, ni); !s.IsSuccess() {
				return s
			}
		}
	}
	return nil
}

// RunFilterWithNominatedPods runs the filters as if the pods nominated to the node with at
// least the pod's priority were already there (so that a preemptor's room is not taken), and
// then, if that passed and pods were added, without them (affinity to a nominated pod must
// not be counted on).
func (f *Framework) RunFilterWithNominatedPods(ctx context.Context, state *CycleState, pod *v1.Pod, ni *NodeInfo) *Status {
	if f.Nominator == nil || f.Nominator.Empty() {
		return f.RunFilter(ctx, state, pod, ni)
	}
	added, st, info := f.addNominated(ctx, state, pod, ni)
	s := f.RunFilter(ctx, st, pod, info)
	if !added || !s.IsSuccess() {
		return s
	}
	return f.RunFilter(ctx, state, pod, ni)
}

func (f *Framework) addNominated(ctx context.Context, state *CycleState, pod *v1.Pod, ni *NodeInfo) (bool, *CycleState, *NodeInfo) {
	noms := f.Nominator.For(ni.Node().Name)
	prio := PodInfoOf(state, pod).Priority
	var st *CycleState
	var info *NodeInfo
	for _, n := range noms {
		if n.Pod.UID == pod.UID || n.Priority < prio {
			continue
		}
		if st == nil {
			st, info = state.Clone(), ni.Clone()
		}
		info.AddPodInfo(n)
		f.RunAddPod(ctx, st, pod, n, info)
	}
	if st == nil {
		return false, state, ni
	}
	return true, st, info
}

// RunPreScore runs the PreScore plugins; Skip disables the plugin's Score for this pod.
func (f *Framework) RunPreScore(ctx context.Context, state *CycleState, pod *v1.Pod, snap *Snapshot, nodes []*NodeInfo) *Status {
	for _, p := range f.PreScore {
		s := p.PreScore(ctx, state, pod, snap, nodes)
		if s.IsSkip() {
			state.SkipScore[p.Name()] = true
			continue
		}
		if !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunScore (not safe for concurrent use) scores nodes with every enabled Score plugin in parallel, normalizes, weights and
// sums. The result is aligned with nodes.
func (f *Framework) RunScore(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) ([]int64, *Status) {
	plugins := make([]ScorePlugin, 0, len(f.Score))
	for _, p := range f.Score {
		if !state.SkipScore[p.Name()] {
			plugins = append(plugins, p)
		}
	}
	if len(f.scoreBuf) < len(plugins)*len(nodes) {
		f.scoreBuf = make([]NodeScore, len(plugins)*len(nodes))
	}
	scores := make([]NodeScoreList, len(plugins))
	for j := range plugins {
		scores[j] = f.scoreBuf[j*len(nodes) : (j+1)*len(nodes)]
	}
	var errStatus atomic.Pointer[Status]
	Parallelize(ctx, Parallelism, len(nodes), func(i int) {
		name := nodes[i].Node().Name
		for j, p := range plugins {
			s, st := p.Score(ctx, state, pod, nodes[i])
			if !st.IsSuccess() {
				errStatus.Store(st.WithPlugin(p.Name()))
				return
			}
			scores[j][i] = NodeScore{Name: name, Score: s}
		}
	})
	if s := errStatus.Load(); s != nil {
		return nil, s
	}
	total := make([]int64, len(nodes))
	for j, p := range plugins {
		if ext := p.ScoreExtensions(); ext != nil {
			if s := ext.NormalizeScore(ctx, state, pod, scores[j]); !s.IsSuccess() {
				return nil, s.WithPlugin(p.Name())
			}
		}
		w, ok := f.Weights[p.Name()]
		if !ok {
			w = 1
		}
		for i := range scores[j] {
			total[i] += scores[j][i].Score * w
		}
	}
	return total, nil
}

// Nominator tracks pods nominated to nodes by preemption (status.nominatedNodeName), so that
// other pods do not take the room being freed for them.
type Nominator struct {
	mu     sync.RWMutex
	count  atomic.Int64
	byNode map[string][]*PodInfo
	node   map[types.UID]string
}

// NewNominator returns an empty nominator.
func NewNominator() *Nominator {
	return &Nominator{byNode: map[string][]*PodInfo{}, node: map[types.UID]string{}}
}

// Empty reports whether no pod is nominated (lock-free).
func (n *Nominator) Empty() bool { return n.count.Load() == 0 }

// For returns the pods nominated to node.
func (n *Nominator) For(node string) []*PodInfo {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.byNode[node]
}

// Set nominates pi to node; an empty node removes the nomination.
func (n *Nominator) Set(pi *PodInfo, node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.deleteLocked(pi.Pod.UID)
	if node == "" {
		return
	}
	n.node[pi.Pod.UID] = node
	n.byNode[node] = append(n.byNode[node], pi)
	n.count.Add(1)
}

// Delete removes any nomination of the pod.
func (n *Nominator) Delete(uid types.UID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.deleteLocked(uid)
}

func (n *Nominator) deleteLocked(uid types.UID) {
	node, ok := n.node[uid]
	if !ok {
		return
	}
	delete(n.node, uid)
	l := n.byNode[node]
	for i, p := range l {
		if p.Pod.UID == uid {
			l = append(l[:i:i], l[i+1:]...)
			break
		}
	}
	if len(l) == 0 {
		delete(n.byNode, node)
	} else {
		n.byNode[node] = l
	}
	n.count.Add(-1)
}
