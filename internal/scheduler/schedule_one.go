package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/scheduler/framework"
	"github.com/skiff-project/skiff/internal/scheduler/queue"
)

// ErrNoNodesAvailable is upstream's error for an empty cluster.
var ErrNoNodesAvailable = errors.New("no nodes available to schedule pods")

// Upstream's sampling bounds: every node below 100; otherwise an adaptive share, at least 5%
// and at least 100 nodes.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// NumFeasibleNodesToFind returns how many feasible nodes to look for among n before scoring,
// given percentageOfNodesToScore (0: adaptive, 50% - n/125).
func NumFeasibleNodesToFind(n int, percentage int32) int {
	if n < minFeasibleNodesToFind || percentage >= 100 {
		return n
	}
	pct := percentage
	if pct <= 0 {
		pct = int32(50 - n/125)
		if pct < minFeasibleNodesPercentageToFind {
			pct = minFeasibleNodesPercentageToFind
		}
	}
	num := n * int(pct) / 100
	if num < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return num
}

// scheduleOne takes one pod from the queue and decides for it. It returns false when the
// queue is closed.
func (s *Scheduler) scheduleOne(ctx context.Context) bool {
	qp, cycle, ok := s.queue.Pop(ctx)
	if !ok {
		return false
	}
	pod := qp.Pod
	start := s.clock.Now()
	if pod.DeletionTimestamp != nil || s.cache.IsAssumed(pod) {
		s.queue.Done(pod.UID)
		return true
	}
	s.cache.UpdateSnapshot(s.snapshot)
	state := framework.NewCycleState()
	state.PodInfo = qp.PodInfo
	host, err := s.schedulePod(ctx, state, pod)
	if err != nil {
		s.handleFailure(ctx, state, qp, cycle, err, start)
		return true
	}
	assumedInfo := *qp.PodInfo
	assumed := pod.DeepCopy()
	assumed.Spec.NodeName = host
	assumedInfo.Pod = assumed
	if err := s.cache.AssumePodInfo(&assumedInfo); err != nil {
		s.handleFailure(ctx, state, qp, cycle, err, start)
		return true
	}
	if pod.Status.NominatedNodeName != "" || !s.nominator.Empty() {
		s.nominator.Delete(pod.UID)
	}
	s.metrics.observe(resultScheduled, s.clock.Since(start))
	s.bindAsync(ctx, qp, cycle, assumed, host, start)
	return true
}

// schedulePod runs the filters and scores and returns the chosen node, a *framework.FitError
// when no node fits, or another error.
func (s *Scheduler) schedulePod(ctx context.Context, state *framework.CycleState, pod *v1.Pod) (string, error) {
	snap := s.snapshot
	if snap.NumNodes() == 0 {
		return "", ErrNoNodesAvailable
	}
	feasible, err := s.findNodesThatFit(ctx, state, pod)
	if err != nil {
		return "", err
	}
	if len(feasible) == 1 {
		return feasible[0].Node().Name, nil
	}
	if st := s.fw.RunPreScore(ctx, state, pod, snap, feasible); !st.IsSuccess() {
		return "", st.AsError()
	}
	scores, st := s.fw.RunScore(ctx, state, pod, feasible)
	if !st.IsSuccess() {
		return "", st.AsError()
	}
	return feasible[s.selectHost(scores)].Node().Name, nil
}

// selectHost returns the index of a highest score, choosing uniformly among ties (reservoir
// sampling, as upstream).
func (s *Scheduler) selectHost(scores []int64) int {
	best, ties := 0, 1
	for i := 1; i < len(scores); i++ {
		switch {
		case scores[i] > scores[best]:
			best, ties = i, 1
		case scores[i] == scores[best]:
			ties++
			if s.rand.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return best
}

// findNodesThatFit runs PreFilter, then Filter on nodes in parallel starting where the last
// cycle stopped, until enough feasible nodes are found.
func (s *Scheduler) findNodesThatFit(ctx context.Context, state *framework.CycleState, pod *v1.Pod) ([]*framework.NodeInfo, error) {
	snap := s.snapshot
	nodes := snap.NodeInfoList
	n := len(nodes)
	if st := s.fw.RunPreFilter(ctx, state, pod, snap); !st.IsSuccess() {
		if !st.IsRejected() {
			return nil, st.AsError()
		}
		fe := &framework.FitError{Pod: pod, NumAllNodes: n, PreFilterMsg: st.Message(), NodeToStatus: framework.NodeToStatus{},
			UnschedulablePlugins: map[string]bool{st.Plugin(): true}}
		for _, ni := range nodes {
			fe.NodeToStatus[ni.Node().Name] = st
		}
		return nil, fe
	}
	want := NumFeasibleNodesToFind(n, s.cfg.PercentageOfNodesToScore)
	feasible := make([]*framework.NodeInfo, want)
	if cap(s.statusBuf) < n {
		s.statusBuf = make([]*framework.Status, n)
	}
	statuses := s.statusBuf[:n]
	clear(statuses)
	var found, processed atomic.Int32
	var errStatus atomic.Pointer[framework.Status]
	start := s.nextStartNodeIndex
	framework.Parallelize(ctx, s.cfg.Parallelism, n, func(i int) {
		if int(found.Load()) >= want {
			return
		}
		idx := (start + i) % n
		ni := nodes[idx]
		processed.Add(1)
		st := s.fw.RunFilterWithNominatedPods(ctx, state, pod, ni)
		if st.IsSuccess() {
			k := found.Add(1)
			if int(k) > want {
				found.Add(-1)
				return
			}
			feasible[k-1] = ni
			return
		}
		if !st.IsRejected() {
			errStatus.Store(st)
		}
		statuses[idx] = st
	})
	if st := errStatus.Load(); st != nil {
		return nil, st.AsError()
	}
	s.nextStartNodeIndex = (start + int(processed.Load())) % n
	feasible = feasible[:found.Load()]
	if len(feasible) > 0 {
		return feasible, nil
	}
	fe := &framework.FitError{Pod: pod, NumAllNodes: n, NodeToStatus: make(framework.NodeToStatus, n), UnschedulablePlugins: map[string]bool{}}
	for i, st := range statuses {
		if st != nil {
			fe.NodeToStatus[nodes[i].Node().Name] = st
			fe.UnschedulablePlugins[st.Plugin()] = true
		}
	}
	return nil, fe
}

// handleFailure runs preemption for a pod that fits nowhere, returns the pod to the queue and
// reports the failure.
func (s *Scheduler) handleFailure(ctx context.Context, state *framework.CycleState, qp *queue.QueuedPodInfo, cycle int64, err error, start time.Time) {
	pod := qp.Pod
	var fe *framework.FitError
	rejected := errors.As(err, &fe) || errors.Is(err, ErrNoNodesAvailable)
	var nominated *string
	if fe != nil {
		qp.UnschedulablePlugins = fe.UnschedulablePlugins
		for _, pf := range s.fw.PostFilter {
			res, st := pf.PostFilter(ctx, state, pod, fe.NodeToStatus)
			if st.IsSuccess() && res != nil && res.NominatedNodeName != "" {
				node := res.NominatedNodeName
				nominated = &node
				s.nominator.Set(qp.PodInfo, node)
				s.preempt(ctx, pod, res.Victims, node)
				break
			}
			fe.PostFilterMsg = st.Message()
			if res != nil && pod.Status.NominatedNodeName != "" {
				empty := ""
				nominated = &empty
				s.nominator.Delete(pod.UID)
			}
		}
	}
	msg := err.Error()
	if fe == nil && !rejected {
		msg = fmt.Sprintf("running scheduling cycle: %v", err)
	}
	s.queue.AddUnschedulableIfNotPresent(qp, cycle, rejected)
	if rejected {
		s.metrics.observe(resultUnschedulable, s.clock.Since(start))
	} else {
		s.metrics.observe(resultError, s.clock.Since(start))
	}
	s.reportFailure(ctx, pod, msg, nominated)
}
