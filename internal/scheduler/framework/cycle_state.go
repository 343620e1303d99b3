package framework

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
)

// StateKey names a piece of per-cycle state.
type StateKey string

// StateData is per-cycle plugin state. Clone is used when preemption simulates removing pods:
// data that AddPod/RemovePod change must be deep-copied.
type StateData interface {
	Clone() StateData
}

// CycleState carries plugin state through one scheduling cycle. PreFilter and PreScore write it
// before Filter and Score read it concurrently, so it needs no lock.
type CycleState struct {
	data map[StateKey]StateData
	// SkipFilter and SkipScore name plugins whose PreFilter/PreScore returned Skip.
	SkipFilter map[string]bool
	SkipScore  map[string]bool
	// PodInfo is the parsed pod being scheduled, when the scheduler has it.
	PodInfo *PodInfo
	// filters caches the Filter plugins left after PreFilter's skips.
	filters []FilterPlugin
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState {
	return &CycleState{data: make(map[StateKey]StateData, 8), SkipFilter: map[string]bool{}, SkipScore: map[string]bool{}}
}

// Read returns the data stored under key.
func (c *CycleState) Read(key StateKey) (StateData, error) {
	if d, ok := c.data[key]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("cycle state: %q not found", key)
}

// Write stores data under key.
func (c *CycleState) Write(key StateKey, d StateData) { c.data[key] = d }

// Clone deep-copies the state through each datum's Clone.
func (c *CycleState) Clone() *CycleState {
	n := &CycleState{data: make(map[StateKey]StateData, len(c.data)), SkipFilter: c.SkipFilter, SkipScore: c.SkipScore, PodInfo: c.PodInfo, filters: c.filters}
	for k, v := range c.data {
		n.data[k] = v.Clone()
	}
	return n
}

// PodInfoOf returns the parsed pod from state, or parses pod.
func PodInfoOf(state *CycleState, pod *v1.Pod) *PodInfo {
	if state != nil && state.PodInfo != nil && state.PodInfo.Pod == pod {
		return state.PodInfo
	}
	return NewPodInfo(pod)
}
