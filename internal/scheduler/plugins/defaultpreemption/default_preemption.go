// Package defaultpreemption is the PostFilter that makes room for a pod that fits nowhere by
// evicting lower-priority pods: it simulates removing them node by node, keeps ("reprieves")
// every pod it can, prefers victims whose eviction violates no PodDisruptionBudget, and picks
// the node with the least disruption. It only decides; the scheduler deletes the victims and
// sets the pod's status.nominatedNodeName.
package defaultpreemption

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "DefaultPreemption"

// Upstream's messages.
const (
	MsgNotHelpful       = "Preemption is not helpful for scheduling"
	MsgNoVictims        = "No preemption victims found for incoming pod"
	MsgPolicyNever      = "not eligible due to preemptionPolicy=Never."
	MsgTerminatingOnNom = "not eligible due to a terminating pod on the nominated node."
)

// Upstream's candidate sampling: at least 10% of the potential nodes, and at least 100.
const (
	MinCandidateNodesPercentage = 10
	MinCandidateNodesAbsolute   = 100
)

// Handle is what the plugin needs from the framework to simulate.
type Handle interface {
	RunFilterWithNominatedPods(ctx context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status
	RunAddPod(ctx context.Context, state *framework.CycleState, pod *v1.Pod, add *framework.PodInfo, ni *framework.NodeInfo) *framework.Status
	RunRemovePod(ctx context.Context, state *framework.CycleState, pod *v1.Pod, rm *framework.PodInfo, ni *framework.NodeInfo) *framework.Status
}

// DefaultPreemption is the PostFilter plugin.
type DefaultPreemption struct {
	Handle Handle
	// Snapshot returns the cycle's snapshot.
	Snapshot func() *framework.Snapshot
	// PDBs lists PodDisruptionBudgets; nil means none.
	PDBs func() []*policyv1.PodDisruptionBudget
	// Offset picks where to start among n potential nodes (randomness, injected); nil is 0.
	Offset func(n int) int
}

var _ framework.PostFilterPlugin = (*DefaultPreemption)(nil)

// Name returns Name.
func (*DefaultPreemption) Name() string { return Name }

// Candidate is a node and the pods to evict from it.
type Candidate struct {
	Node          string
	Victims       []*v1.Pod
	PDBViolations int
}

// Eligible reports whether pod may preempt, with upstream's reason when not.
func Eligible(pod *v1.Pod, prio int32, m framework.NodeToStatus, snap *framework.Snapshot) (bool, string) {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == v1.PreemptNever {
		return false, MsgPolicyNever
	}
	if nom := pod.Status.NominatedNodeName; nom != "" {
		if m[nom].Code() == framework.UnschedulableAndUnresolvable {
			return true, ""
		}
		if ni := snap.Get(nom); ni != nil {
			for _, p := range ni.Pods {
				if p.Pod.DeletionTimestamp != nil && p.Priority < prio {
					return false, MsgTerminatingOnNom
				}
			}
		}
	}
	return true, ""
}

// PostFilter finds the best node to preempt on.
func (pl *DefaultPreemption) PostFilter(ctx context.Context, state *framework.CycleState, pod *v1.Pod, m framework.NodeToStatus) (*framework.PostFilterResult, *framework.Status) {
	snap := pl.Snapshot()
	prio := framework.PodInfoOf(state, pod).Priority
	if ok, msg := Eligible(pod, prio, m, snap); !ok {
		return nil, framework.NewStatus(framework.Unschedulable, "preemption: "+msg)
	}
	var potential []*framework.NodeInfo
	for _, ni := range snap.NodeInfoList {
		if m[ni.Node().Name].Code() == framework.Unschedulable {
			potential = append(potential, ni)
		}
	}
	var pdbs []*policyv1.PodDisruptionBudget
	if pl.PDBs != nil {
		pdbs = pl.PDBs()
	}
	offset := 0
	if pl.Offset != nil && len(potential) > 0 {
		offset = pl.Offset(len(potential))
	}
	cands, statuses := pl.DryRun(ctx, state, pod, prio, potential, pdbs, offset)
	if len(cands) == 0 {
		fe := &framework.FitError{Pod: pod, NumAllNodes: snap.NumNodes(), NodeToStatus: statuses}
		for _, ni := range snap.NodeInfoList {
			if _, ok := statuses[ni.Node().Name]; !ok {
				statuses[ni.Node().Name] = framework.NewStatus(framework.UnschedulableAndUnresolvable, MsgNotHelpful)
			}
		}
		return &framework.PostFilterResult{}, framework.NewStatus(framework.Unschedulable, "preemption: "+fe.Error())
	}
	best := SelectCandidate(cands)
	return &framework.PostFilterResult{NominatedNodeName: best.Node, Victims: best.Victims}, nil
}

// DryRun simulates preemption on potential nodes, starting at offset and stopping once enough
// candidates are found. It returns the candidates and the statuses of nodes that failed.
func (pl *DefaultPreemption) DryRun(ctx context.Context, state *framework.CycleState, pod *v1.Pod, prio int32, potential []*framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget, offset int) ([]Candidate, framework.NodeToStatus) {
	want := len(potential) * MinCandidateNodesPercentage / 100
	want = max(want, MinCandidateNodesAbsolute)
	want = min(want, len(potential))
	var mu sync.Mutex
	var nonViolating, violating []Candidate
	statuses := framework.NodeToStatus{}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	framework.Parallelize(ctx, framework.Parallelism, len(potential), func(i int) {
		ni := potential[(offset+i)%len(potential)]
		victims, nViol, st := pl.SelectVictimsOnNode(ctx, state.Clone(), pod, prio, ni.Clone(), pdbs)
		mu.Lock()
		defer mu.Unlock()
		if st.IsSuccess() && len(victims) > 0 {
			c := Candidate{Node: ni.Node().Name, Victims: victims, PDBViolations: nViol}
			if nViol == 0 {
				nonViolating = append(nonViolating, c)
			} else {
				violating = append(violating, c)
			}
			if len(nonViolating) >= want || len(nonViolating)+len(violating) >= want {
				cancel()
			}
			return
		}
		if st.IsSuccess() {
			st = framework.NewStatus(framework.UnschedulableAndUnresolvable, MsgNoVictims)
		}
		statuses[ni.Node().Name] = st
	})
	return append(nonViolating, violating...), statuses
}

// SelectVictimsOnNode removes every lower-priority pod from ni (a clone), checks the pod fits,
// then adds back as many as possible, most important first and PDB-protected ones before the
// rest. It returns the pods that must go and how many of them violate a PDB.
func (pl *DefaultPreemption) SelectVictimsOnNode(ctx context.Context, state *framework.CycleState, pod *v1.Pod, prio int32, ni *framework.NodeInfo, pdbs []*policyv1.PodDisruptionBudget) ([]*v1.Pod, int, *framework.Status) {
	var potential []*framework.PodInfo
	for _, p := range ni.Pods {
		if p.Priority < prio {
			potential = append(potential, p)
		}
	}
	if len(potential) == 0 {
		return nil, 0, framework.NewStatus(framework.UnschedulableAndUnresolvable, MsgNoVictims)
	}
	for _, p := range potential {
		ni.RemovePod(p.Pod)
		if s := pl.Handle.RunRemovePod(ctx, state, pod, p, ni); !s.IsSuccess() {
			return nil, 0, s
		}
	}
	if s := pl.Handle.RunFilterWithNominatedPods(ctx, state, pod, ni); !s.IsSuccess() {
		return nil, 0, s
	}
	sort.SliceStable(potential, func(i, j int) bool { return MoreImportant(potential[i], potential[j]) })
	violatingPods, nonViolatingPods := SplitByPDBViolation(potential, pdbs)
	var victims []*v1.Pod
	nViol := 0
	reprieve := func(p *framework.PodInfo, violates bool) *framework.Status {
		ni.AddPodInfo(p)
		if s := pl.Handle.RunAddPod(ctx, state, pod, p, ni); !s.IsSuccess() {
			return s
		}
		if pl.Handle.RunFilterWithNominatedPods(ctx, state, pod, ni).IsSuccess() {
			return nil
		}
		ni.RemovePod(p.Pod)
		if s := pl.Handle.RunRemovePod(ctx, state, pod, p, ni); !s.IsSuccess() {
			return s
		}
		victims = append(victims, p.Pod)
		if violates {
			nViol++
		}
		return nil
	}
	for _, p := range violatingPods {
		if s := reprieve(p, true); s != nil {
			return nil, 0, s
		}
	}
	for _, p := range nonViolatingPods {
		if s := reprieve(p, false); s != nil {
			return nil, 0, s
		}
	}
	return victims, nViol, nil
}

// MoreImportant orders pods for reprieve: higher priority, then earlier start.
func MoreImportant(a, b *framework.PodInfo) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	return startTime(a.Pod).Before(startTime(b.Pod))
}

func startTime(p *v1.Pod) time.Time {
	if p.Status.StartTime != nil {
		return p.Status.StartTime.Time
	}
	return p.CreationTimestamp.Time
}

// SplitByPDBViolation splits pods (in order) into those whose eviction would exceed a matching
// PDB's disruptionsAllowed and the rest.
func SplitByPDBViolation(pods []*framework.PodInfo, pdbs []*policyv1.PodDisruptionBudget) (violating, nonViolating []*framework.PodInfo) {
	allowed := make([]int32, len(pdbs))
	sels := make([]labels.Selector, len(pdbs))
	for i, pdb := range pdbs {
		allowed[i] = pdb.Status.DisruptionsAllowed
		if s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err == nil {
			sels[i] = s
		}
	}
	for _, p := range pods {
		violates := false
		for i, pdb := range pdbs {
			if pdb.Namespace != p.Pod.Namespace || sels[i] == nil || sels[i].Empty() || !sels[i].Matches(labels.Set(p.Pod.Labels)) {
				continue
			}
			if _, already := pdb.Status.DisruptedPods[p.Pod.Name]; already {
				continue
			}
			allowed[i]--
			if allowed[i] < 0 {
				violates = true
			}
		}
		if violates {
			violating = append(violating, p)
		} else {
			nonViolating = append(nonViolating, p)
		}
	}
	return violating, nonViolating
}

// SelectCandidate picks upstream's least disruptive candidate: fewest PDB violations, then the
// lowest highest-priority victim, then the lowest sum of priorities, then the fewest victims,
// then the latest start among the highest-priority victims, then the first.
func SelectCandidate(cs []Candidate) Candidate {
	best := 0
	for i := 1; i < len(cs); i++ {
		if better(cs[i], cs[best]) {
			best = i
		}
	}
	return cs[best]
}

func better(a, b Candidate) bool {
	if a.PDBViolations != b.PDBViolations {
		return a.PDBViolations < b.PDBViolations
	}
	ha, hb := highest(a.Victims), highest(b.Victims)
	if ha != hb {
		return ha < hb
	}
	sa, sb := sumPriorities(a.Victims), sumPriorities(b.Victims)
	if sa != sb {
		return sa < sb
	}
	if len(a.Victims) != len(b.Victims) {
		return len(a.Victims) < len(b.Victims)
	}
	return earliestOfHighest(a.Victims).After(earliestOfHighest(b.Victims))
}

func prioOf(p *v1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

func highest(vs []*v1.Pod) int32 {
	h := int32(math.MinInt32)
	for _, v := range vs {
		h = max(h, prioOf(v))
	}
	return h
}

func sumPriorities(vs []*v1.Pod) int64 {
	var s int64
	for _, v := range vs {
		s += int64(prioOf(v)) + int64(math.MaxInt32) + 1
	}
	return s
}

func earliestOfHighest(vs []*v1.Pod) time.Time {
	h := highest(vs)
	var t time.Time
	for _, v := range vs {
		if prioOf(v) == h && (t.IsZero() || startTime(v).Before(t)) {
			t = startTime(v)
		}
	}
	return t
}

// String describes a candidate (for logs).
func (c Candidate) String() string {
	return fmt.Sprintf("%s (%d victims, %d PDB violations)", c.Node, len(c.Victims), c.PDBViolations)
}
