package cronjob

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Kind is the CronJob kind in ownerReferences.
var Kind = batchv1.SchemeGroupVersion.WithKind("CronJob")

// ScheduledTimestampAnnotation records on each Job the time it was scheduled for, in the
// CronJob's time zone: batch.kubernetes.io/cronjob-scheduled-timestamp.
const ScheduledTimestampAnnotation = batchv1.CronJobScheduledTimestampAnnotation

// TooManyMissed is how many missed start times make the controller warn (upstream's 100).
const TooManyMissed = 100

// nextScheduleDelta pads each requeue against clock skew, as upstream.
const nextScheduleDelta = 100 * time.Millisecond

// Event reasons, as upstream's.
const (
	SuccessfulCreate    = "SuccessfulCreate"
	FailedCreate        = "FailedCreate"
	SuccessfulDelete    = "SuccessfulDelete"
	FailedDelete        = "FailedDelete"
	SawCompletedJob     = "SawCompletedJob"
	JobAlreadyActive    = "JobAlreadyActive"
	MissSchedule        = "MissSchedule"
	TooManyMissedTimes  = "TooManyMissedTimes"
	UnexpectedJob       = "UnexpectedJob"
	MissingJob          = "MissingJob"
	UnparseableSchedule = "UnparseableSchedule"
	InvalidSchedule     = "InvalidSchedule"
	UnknownTimeZone     = "UnknownTimeZone"
	UnsupportedSchedule = "UnsupportedSchedule"
)

// ScheduleSpec is the cron expression the controller parses: spec.schedule, prefixed with
// TZ=<spec.timeZone> when a valid time zone is set and the schedule names none itself
// (upstream's formatSchedule). The schedule is the standard five fields or a descriptor
// (@yearly, @monthly, @weekly, @daily, @hourly, @every <duration>), optionally preceded by
// CRON_TZ= or TZ=.
func ScheduleSpec(cj *batchv1.CronJob) string {
	if strings.Contains(cj.Spec.Schedule, "TZ") {
		return cj.Spec.Schedule
	}
	if tz := cj.Spec.TimeZone; tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil {
			return cj.Spec.Schedule
		}
		return fmt.Sprintf("TZ=%s %s", *tz, cj.Spec.Schedule)
	}
	return cj.Spec.Schedule
}

// Parse parses cj's schedule (see ScheduleSpec).
func Parse(cj *batchv1.CronJob) (cron.Schedule, error) {
	return cron.ParseStandard(ScheduleSpec(cj))
}

// Due is what a schedule says at a moment.
type Due struct {
	// Earliest is where the search started: the last schedule time, or the CronJob's
	// creation, or now less startingDeadlineSeconds if that is later.
	Earliest time.Time
	// Time is the most recent schedule time in (Earliest, now], or nil.
	Time *time.Time
	// Missed is (roughly, as upstream counts) how many schedule times lie in (Earliest, now].
	Missed int64
}

// MostRecent is upstream's mostRecentScheduleTime: the latest schedule time of sched after
// earliest and not after now, and about how many there were. It errors for a schedule whose
// times are less than a second apart (like "59 23 31 2 *", which never comes).
func MostRecent(sched cron.Schedule, earliest, now time.Time) (Due, error) {
	d := Due{Earliest: earliest}
	t1 := sched.Next(earliest)
	t2 := sched.Next(t1)
	if now.Before(t1) {
		return d, nil
	}
	if now.Before(t2) {
		d.Time, d.Missed = &t1, 1
		return d, nil
	}
	between := int64(t2.Sub(t1).Round(time.Second).Seconds())
	if between < 1 {
		return d, errors.New("time difference between two schedules is less than 1 second")
	}
	d.Missed = int64(now.Sub(t1).Seconds())/between + 1
	// Start the walk a little before the estimated last time: exact for regular schedules,
	// @every included, and short for irregular ones.
	var most time.Time
	for t := sched.Next(t1.Add(time.Duration((d.Missed-2)*between) * time.Second)); !t.After(now); t = sched.Next(t) {
		most = t
	}
	if !most.IsZero() {
		d.Time = &most
	}
	return d, nil
}

// earliest is where cj's search for schedule times starts; with deadline, not before now less
// startingDeadlineSeconds (no start is possible earlier).
func earliest(cj *batchv1.CronJob, now time.Time, deadline bool) time.Time {
	e := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		e = cj.Status.LastScheduleTime.Time
	}
	if deadline && cj.Spec.StartingDeadlineSeconds != nil {
		if d := now.Add(-time.Duration(*cj.Spec.StartingDeadlineSeconds) * time.Second); d.After(e) {
			e = d
		}
	}
	return e
}

// NextRequeue is how long until cj should be looked at again: the next schedule time after
// the last one (or after now, when times were missed), plus 100 ms.
func NextRequeue(cj *batchv1.CronJob, sched cron.Schedule, now time.Time) time.Duration {
	d, err := MostRecent(sched, earliest(cj, now, false), now)
	from := now
	switch {
	case err != nil:
	case d.Time != nil:
		from = *d.Time
	case d.Missed == 0:
		from = d.Earliest
	}
	return sched.Next(from).Add(nextScheduleDelta).Sub(now)
}

// JobName is the name of cj's Job for scheduled: <cronjob>-<minutes since the epoch>.
func JobName(cj *batchv1.CronJob, scheduled time.Time) string {
	return fmt.Sprintf("%s-%d", cj.Name, scheduled.Unix()/60)
}

// NewJob is cj's Job for scheduled: the job template's labels, annotations and spec, the
// scheduled-timestamp annotation (RFC 3339 in the CronJob's time zone), a controller
// reference.
func NewJob(cj *batchv1.CronJob, scheduled time.Time) (*batchv1.Job, error) {
	loc := time.UTC
	if tz := cj.Spec.TimeZone; tz != nil {
		l, err := time.LoadLocation(*tz)
		if err != nil {
			return nil, err
		}
		loc = l
	}
	labels := map[string]string{}
	for k, v := range cj.Spec.JobTemplate.Labels {
		labels[k] = v
	}
	annotations := map[string]string{}
	for k, v := range cj.Spec.JobTemplate.Annotations {
		annotations[k] = v
	}
	annotations[ScheduledTimestampAnnotation] = scheduled.In(loc).Format(time.RFC3339)
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{
		Name: JobName(cj, scheduled), Namespace: cj.Namespace, Labels: labels, Annotations: annotations,
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, Kind)},
	}}
	cj.Spec.JobTemplate.Spec.DeepCopyInto(&job.Spec)
	return job, nil
}

// finished returns the Complete or Failed condition type of a finished job, or "".
func finished(j *batchv1.Job) batchv1.JobConditionType {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.Type
		}
	}
	return ""
}

// Event is an event Decide wants recorded on the CronJob.
type Event struct {
	Type, Reason, Message string
}

// Decision is what one sync of a CronJob does.
type Decision struct {
	// Status is the CronJob's status after the sync, if Create succeeds (the controller then
	// appends the created Job to status.active).
	Status batchv1.CronJobStatus
	// Delete are finished Jobs beyond the history limits, oldest first; Replace the active
	// Jobs to delete before Create (concurrencyPolicy Replace). Status no longer lists them;
	// the controller records SuccessfulDelete for each it deletes.
	Delete, Replace []*batchv1.Job
	// Create is the Job to create for the schedule time Scheduled, or nil.
	Create    *batchv1.Job
	Scheduled *time.Time
	Events    []Event
	// RequeueAfter, if set, is when to look again.
	RequeueAfter *time.Duration
}

func (d *Decision) event(typ, reason, format string, a ...any) {
	d.Events = append(d.Events, Event{typ, reason, fmt.Sprintf(format, a...)})
}

// Decide is one sync of cj at now (upstream's cleanupFinishedJobs and syncCronJob), given the
// Jobs it controls (jobs must include every Job of status.active that still exists):
//
//  1. finished Jobs beyond successfulJobsHistoryLimit and failedJobsHistoryLimit are deleted,
//     oldest start first;
//  2. finished Jobs leave status.active (SawCompletedJob), vanished ones too (MissingJob), and
//     the newest completion becomes lastSuccessfulTime;
//  3. unless the CronJob is being deleted, suspended, or has an invalid time zone or
//     schedule: the most recent schedule time since the last one (not earlier than
//     startingDeadlineSeconds ago, MissSchedule if it was) gets a Job named for it, unless it
//     has one already; with concurrencyPolicy Forbid not while a Job is active
//     (JobAlreadyActive), with Replace after deleting the active ones. More than 100 missed
//     times only warn (TooManyMissedTimes): the most recent still runs.
//  4. RequeueAfter is the next schedule time.
func Decide(cj *batchv1.CronJob, jobs []*batchv1.Job, now time.Time) Decision {
	d := Decision{Status: *cj.Status.DeepCopy()}
	st := &d.Status
	deleted := map[types.UID]bool{}
	for _, j := range historyToDelete(cj, jobs) {
		d.Delete = append(d.Delete, j)
		deleted[j.UID] = true
		removeActive(st, j.UID)
	}
	present := map[types.UID]bool{}
	for _, j := range jobs {
		present[j.UID] = true
		cond := finished(j)
		switch active := isActive(st, j.UID); {
		case !active && cond == "" && !deleted[j.UID]:
			d.event(corev1.EventTypeWarning, UnexpectedJob, "Saw a job that the controller did not create or forgot: %s", j.Name)
		case active && cond != "":
			removeActive(st, j.UID)
			d.event(corev1.EventTypeNormal, SawCompletedJob, "Saw completed job: %s, condition: %v", j.Name, cond)
		}
		if cond == batchv1.JobComplete && j.Status.CompletionTime != nil &&
			(st.LastSuccessfulTime == nil || j.Status.CompletionTime.After(st.LastSuccessfulTime.Time)) {
			st.LastSuccessfulTime = j.Status.CompletionTime.DeepCopy()
		}
	}
	for _, ref := range append([]corev1.ObjectReference(nil), st.Active...) {
		if !present[ref.UID] {
			d.event(corev1.EventTypeNormal, MissingJob, "Active job went missing: %v", ref.Name)
			removeActive(st, ref.UID)
		}
	}
	if cj.DeletionTimestamp != nil {
		return d
	}
	if tz := cj.Spec.TimeZone; tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil {
			d.event(corev1.EventTypeWarning, UnknownTimeZone, "invalid timeZone: %q: %s", *tz, err)
			return d
		}
	}
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return d
	}
	if strings.Contains(cj.Spec.Schedule, "TZ") {
		d.event(corev1.EventTypeWarning, UnsupportedSchedule, "CRON_TZ or TZ used in schedule %q is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details", cj.Spec.Schedule)
	}
	sched, err := Parse(cj)
	if err != nil {
		d.event(corev1.EventTypeWarning, UnparseableSchedule, "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return d
	}
	due, err := MostRecent(sched, earliest(cj, now, true), now)
	if err != nil {
		d.event(corev1.EventTypeWarning, InvalidSchedule, "invalid schedule: %s : %s", cj.Spec.Schedule, err)
		return d
	}
	requeue := func() {
		next := *cj.DeepCopy()
		next.Status = *st
		t := NextRequeue(&next, sched, now)
		d.RequeueAfter = &t
	}
	if due.Time == nil {
		requeue()
		return d
	}
	if due.Missed > TooManyMissed {
		d.event(corev1.EventTypeWarning, TooManyMissedTimes, "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
	}
	scheduled := *due.Time
	if sds := cj.Spec.StartingDeadlineSeconds; sds != nil && scheduled.Add(time.Duration(*sds)*time.Second).Before(now) {
		d.event(corev1.EventTypeWarning, MissSchedule, "Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))
		requeue()
		return d
	}
	name := JobName(cj, scheduled)
	for _, ref := range st.Active {
		if ref.Name == name {
			requeue()
			return d
		}
	}
	if st.LastScheduleTime != nil && st.LastScheduleTime.Time.Equal(scheduled) {
		requeue()
		return d
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(st.Active) > 0 {
			d.event(corev1.EventTypeNormal, JobAlreadyActive, "Not starting job because prior execution is running and concurrency policy is Forbid")
			requeue()
			return d
		}
	case batchv1.ReplaceConcurrent:
		byUID := map[types.UID]*batchv1.Job{}
		for _, j := range jobs {
			byUID[j.UID] = j
		}
		for _, ref := range append([]corev1.ObjectReference(nil), st.Active...) {
			if j := byUID[ref.UID]; j != nil {
				d.Replace = append(d.Replace, j)
			}
			removeActive(st, ref.UID)
		}
	}
	job, err := NewJob(cj, scheduled)
	if err != nil {
		return d
	}
	d.Create, d.Scheduled = job, &scheduled
	st.LastScheduleTime = &metav1.Time{Time: scheduled}
	requeue()
	return d
}

func isActive(st *batchv1.CronJobStatus, uid types.UID) bool {
	for _, r := range st.Active {
		if r.UID == uid {
			return true
		}
	}
	return false
}

func removeActive(st *batchv1.CronJobStatus, uid types.UID) {
	var keep []corev1.ObjectReference
	for _, r := range st.Active {
		if r.UID != uid {
			keep = append(keep, r)
		}
	}
	st.Active = keep
}

// historyToDelete returns the finished Jobs beyond cj's history limits, oldest start first
// (Jobs that never started count as newest; names break ties).
func historyToDelete(cj *batchv1.CronJob, jobs []*batchv1.Job) []*batchv1.Job {
	var ok, failed []*batchv1.Job
	for _, j := range jobs {
		switch finished(j) {
		case batchv1.JobComplete:
			ok = append(ok, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	oldest := func(js []*batchv1.Job, limit *int32) []*batchv1.Job {
		if limit == nil || len(js) <= int(*limit) {
			return nil
		}
		sort.SliceStable(js, func(a, b int) bool {
			x, y := js[a].Status.StartTime, js[b].Status.StartTime
			switch {
			case x == nil && y != nil:
				return false
			case x != nil && y == nil:
				return true
			case x == nil && y == nil || x.Equal(y):
				return js[a].Name < js[b].Name
			}
			return x.Before(y)
		})
		return js[:len(js)-int(*limit)]
	}
	return append(oldest(ok, cj.Spec.SuccessfulJobsHistoryLimit), oldest(failed, cj.Spec.FailedJobsHistoryLimit)...)
}
