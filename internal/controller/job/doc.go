// Package job is the Job controller: NonIndexed and Indexed Jobs with completions,
// parallelism, backoffLimit and its exponential pod failure back-off, backoffLimitPerIndex and
// maxFailedIndexes, activeDeadlineSeconds, podFailurePolicy, successPolicy, suspend and
// podReplacementPolicy, as upstream documents them. (ttlSecondsAfterFinished is the
// ttlafterfinished controller's.)
//
// Each sync of a Job claims the pods its selector matches and hands them, with the Job, to
// Decide, a plain function; the controller then only writes what the Decision says, in this
// order:
//
//  1. The status. Finished pods that carry the batch.kubernetes.io/job-tracking finalizer are
//     recorded in status.uncountedTerminatedPods (an Indexed Job's successes directly in
//     status.completedIndexes, its failed indexes in status.failedIndexes); UIDs there whose
//     pods have lost the finalizer move into status.succeeded and status.failed. The
//     FailureTarget and SuccessCriteriaMet conditions are written here first, the final
//     Failed or Complete only once no pod is left running, terminating or uncounted.
//  2. Then the events of that status (Completed, the failure's reason, Suspended, Resumed),
//     and the Job's back-off record (kept in memory, as upstream's).
//  3. Then the finalizers of the pods just recorded are removed: a pod is counted exactly once,
//     even if it is deleted meanwhile (upstream's protocol).
//  4. Then pods are deleted (a finishing Job's with their finalizer, so they are counted; pods
//     beyond parallelism, of a suspended Job or of a repeated index after their finalizer is
//     removed, so they are not) and created (NewPod: the template, the finalizer, and for an
//     Indexed Job its index as annotation, label, JOB_COMPLETION_INDEX and hostname
//     <job>-<index>). Creates and deletes are recorded in expectations, as in the ReplicaSet
//     controller; until they are all seen, the controller only tracks.
//
// See Decide for the decisions themselves.
package job
