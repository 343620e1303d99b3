// Package eviction holds the decisions of node-pressure eviction, upstream's "Node-pressure
// Eviction": plain functions that the kubelet's eviction loop calls, with no I/O.
//
// The kubelet, every MonitoringInterval (10 s):
//
//  1. measures the node: an Observations map of the signals it can measure (memory.available,
//     nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree,
//     pid.available), each with what is available and the capacity;
//  2. calls ThresholdsMet with its hard thresholds (ParseThresholds of --eviction-hard,
//     DefaultThresholds without one);
//  3. feeds the result to its Pressure, which returns the node conditions that are True
//     (MemoryPressure, DiskPressure, PIDPressure): those whose thresholds were met within the
//     --eviction-pressure-transition-period (DefaultPressureTransitionPeriod, 5 minutes);
//     it reports them in the node status, and Admit refuses new pods under them;
//  4. if a threshold is met, picks the one to reclaim (ToReclaim: memory first), reclaims
//     what it can at node level (unused images under disk pressure) and measures again; if
//     the threshold is still met, it ranks the pods that are running (Rank, from each pod's
//     PodStats) and evicts the first that is not critical (IsCritical): at most one pod a
//     round, killed with no grace period, with a Warning event of reason Reason and
//     Message, and the status upstream writes: phase Failed, reason Evicted, that message,
//     and the DisruptionTarget condition.
//
// Only hard thresholds exist: soft thresholds with grace periods (--eviction-soft,
// --eviction-soft-grace-period, --eviction-max-pod-grace-period) and minimum reclaims
// (--eviction-minimum-reclaim) are not implemented, nor the kernel's memcg notifications
// (the loop polls), nor evictions for exceeded ephemeral-storage limits and emptyDir
// sizeLimits.
package eviction
