package cronjob

import (
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestMostRecent(t *testing.T) {
	cases := []struct {
		name, spec, earliest, now string
		want                      string // RFC 3339 in UTC, "" for none
		missed                    int64
		err                       bool
	}{
		{"none yet", "*/5 * * * *", "2026-01-01T10:00:00Z", "2026-01-01T10:04:59Z", "", 0, false},
		{"exactly due", "*/5 * * * *", "2026-01-01T10:00:00Z", "2026-01-01T10:05:00Z", "2026-01-01T10:05:00Z", 1, false},
		{"three missed: the latest", "*/5 * * * *", "2026-01-01T10:00:00Z", "2026-01-01T10:17:00Z", "2026-01-01T10:15:00Z", 3, false},
		{"@hourly", "@hourly", "2026-01-01T10:30:00Z", "2026-01-01T13:10:00Z", "2026-01-01T13:00:00Z", 3, false},
		{"@every 90m", "@every 90m", "2026-01-01T10:00:00Z", "2026-01-01T14:00:00Z", "2026-01-01T13:00:00Z", 2, false},
		{"irregular hours", "30 6-16/4 * * 1-5", "2026-01-05T00:00:00Z", "2026-01-05T15:00:00Z", "2026-01-05T14:30:00Z", 3, false},
		{"more than 100 missed", "* * * * *", "2026-01-01T07:00:00Z", "2026-01-01T10:00:30Z", "2026-01-01T10:00:00Z", 180, false},
		{"a date that never comes", "59 23 31 2 *", "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z", "", 0, true},
		// Time zones: New York springs forward on 8 March 2026 (02:00 EST -> 03:00 EDT) and
		// falls back on 1 November (02:00 EDT -> 01:00 EST). As with upstream's parser, a time
		// in the skipped hour does not run that day, and one in the repeated hour runs twice.
		{"spring forward: 02:30 does not exist on 8 March", "CRON_TZ=America/New_York 30 2 * * *", "2026-03-07T12:00:00Z", "2026-03-08T23:00:00Z", "", 0, false},
		{"spring forward: 02:30 EDT on 9 March", "CRON_TZ=America/New_York 30 2 * * *", "2026-03-07T12:00:00Z", "2026-03-09T07:00:00Z", "2026-03-09T06:30:00Z", 1, false},
		{"spring forward: 03:30 EDT is 07:30Z", "TZ=America/New_York 30 3 * * *", "2026-03-07T12:00:00Z", "2026-03-08T08:00:00Z", "2026-03-08T07:30:00Z", 1, false},
		{"fall back: 01:30 EDT", "TZ=America/New_York 30 1 * * *", "2026-10-31T12:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T05:30:00Z", 1, false},
		{"fall back: 01:30 EST again an hour later", "TZ=America/New_York 30 1 * * *", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z", "2026-11-01T06:30:00Z", 1, false},
		{"Berlin 09:00 is 08:00Z in winter", "TZ=Europe/Berlin 0 9 * * *", "2026-03-27T12:00:00Z", "2026-03-28T08:30:00Z", "2026-03-28T08:00:00Z", 1, false},
		{"Berlin 09:00 is 07:00Z after the change", "TZ=Europe/Berlin 0 9 * * *", "2026-03-28T08:00:00Z", "2026-03-29T07:30:00Z", "2026-03-29T07:00:00Z", 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sched, err := Parse(&batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: c.spec}})
			if err != nil {
				t.Fatal(err)
			}
			d, err := MostRecent(sched, at(c.earliest), at(c.now))
			if (err != nil) != c.err {
				t.Fatalf("err %v, want error %v", err, c.err)
			}
			got := ""
			if d.Time != nil {
				got = d.Time.UTC().Format(time.RFC3339)
			}
			if got != c.want || (!c.err && d.Missed != c.missed) {
				t.Errorf("most recent %q missed %d, want %q missed %d", got, d.Missed, c.want, c.missed)
			}
		})
	}
}

func TestScheduleSpec(t *testing.T) {
	cases := []struct {
		schedule string
		tz       *string
		want     string
	}{
		{"0 * * * *", nil, "0 * * * *"},
		{"0 * * * *", ptr.To("Asia/Tokyo"), "TZ=Asia/Tokyo 0 * * * *"},
		{"0 * * * *", ptr.To("Mars/Olympus"), "0 * * * *"},
		{"CRON_TZ=UTC 0 * * * *", ptr.To("Asia/Tokyo"), "CRON_TZ=UTC 0 * * * *"},
	}
	for _, c := range cases {
		if got := ScheduleSpec(&batchv1.CronJob{Spec: batchv1.CronJobSpec{Schedule: c.schedule, TimeZone: c.tz}}); got != c.want {
			t.Errorf("ScheduleSpec(%q, %v) = %q, want %q", c.schedule, c.tz, got, c.want)
		}
	}
}

var created = at("2026-01-01T10:00:30Z")

func mkCronJob(schedule string, policy batchv1.ConcurrencyPolicy) *batchv1.CronJob {
	cj := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "tick", Namespace: "ns", UID: "cj-uid", CreationTimestamp: metav1.NewTime(created)}}
	cj.Spec.Schedule = schedule
	cj.Spec.ConcurrencyPolicy = policy
	cj.Spec.Suspend = ptr.To(false)
	cj.Spec.SuccessfulJobsHistoryLimit = ptr.To[int32](3)
	cj.Spec.FailedJobsHistoryLimit = ptr.To[int32](1)
	cj.Spec.JobTemplate.Labels = map[string]string{"app": "tick"}
	cj.Spec.JobTemplate.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Image: "busybox"}}
	return cj
}

// mkJob is a Job of the CronJob scheduled at minute (minutes after 10:00), state A (active),
// C (complete), F (failed).
func mkJob(minute int, state string) *batchv1.Job {
	sched := at("2026-01-01T10:00:00Z").Add(time.Duration(minute) * time.Minute)
	name := fmt.Sprintf("tick-%d", sched.Unix()/60)
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name)}}
	j.Status.StartTime = ptr.To(metav1.NewTime(sched.Add(time.Second)))
	switch state {
	case "C":
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
		j.Status.CompletionTime = ptr.To(metav1.NewTime(sched.Add(10 * time.Second)))
	case "F":
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue}}
	}
	return j
}

func ref(j *batchv1.Job) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "Job", Namespace: j.Namespace, Name: j.Name, UID: j.UID}
}

// summary renders a decision: created job, deletions, replaced, events, active, requeue.
func summary(d Decision) string {
	var parts []string
	if d.Create != nil {
		parts = append(parts, "create "+d.Create.Name)
	}
	for _, j := range d.Delete {
		parts = append(parts, "delete "+j.Name)
	}
	for _, j := range d.Replace {
		parts = append(parts, "replace "+j.Name)
	}
	for _, e := range d.Events {
		parts = append(parts, "event "+e.Reason)
	}
	var active []string
	for _, r := range d.Status.Active {
		active = append(active, r.Name)
	}
	parts = append(parts, fmt.Sprintf("active [%s]", strings.Join(active, " ")))
	if d.RequeueAfter != nil {
		parts = append(parts, "requeue "+d.RequeueAfter.String())
	}
	return strings.Join(parts, "; ")
}

func TestDecide(t *testing.T) {
	withActive := func(cj *batchv1.CronJob, jobs ...*batchv1.Job) *batchv1.CronJob {
		for _, j := range jobs {
			cj.Status.Active = append(cj.Status.Active, ref(j))
		}
		return cj
	}
	withLast := func(cj *batchv1.CronJob, minute int) *batchv1.CronJob {
		cj.Status.LastScheduleTime = ptr.To(metav1.NewTime(at("2026-01-01T10:00:00Z").Add(time.Duration(minute) * time.Minute)))
		return cj
	}
	set := func(cj *batchv1.CronJob, f func(*batchv1.CronJob)) *batchv1.CronJob {
		f(cj)
		return cj
	}
	every := func(p batchv1.ConcurrencyPolicy) *batchv1.CronJob { return mkCronJob("*/5 * * * *", p) }
	active5, done5, failed5 := mkJob(5, "A"), mkJob(5, "C"), mkJob(5, "F")
	cases := []struct {
		name string
		cj   *batchv1.CronJob
		jobs []*batchv1.Job
		now  string
		want string
	}{
		{"not yet", every(batchv1.AllowConcurrent), nil, "2026-01-01T10:04:00Z", "active []; requeue 1m0.1s"},
		{"due", every(batchv1.AllowConcurrent), nil, "2026-01-01T10:05:01Z", "create tick-29454365; active []; requeue 4m59.1s"},
		{"already done for that time", withLast(every(batchv1.AllowConcurrent), 5), nil, "2026-01-01T10:05:30Z", "active []; requeue 4m30.1s"},
		{"its Job is active", withActive(every(batchv1.AllowConcurrent), mkJob(10, "A")), []*batchv1.Job{mkJob(10, "A")}, "2026-01-01T10:10:30Z", "active [tick-29454370]; requeue 4m30.1s"},
		{"Allow: runs beside the active one", withLast(withActive(every(batchv1.AllowConcurrent), active5), 5), []*batchv1.Job{active5}, "2026-01-01T10:10:01Z", "create tick-29454370; active [tick-29454365]; requeue 4m59.1s"},
		{"Forbid: waits for the active one", withLast(withActive(every(batchv1.ForbidConcurrent), active5), 5), []*batchv1.Job{active5}, "2026-01-01T10:10:01Z", "event JobAlreadyActive; active [tick-29454365]; requeue 4m59.1s"},
		{"Forbid: the active one finished", withLast(withActive(every(batchv1.ForbidConcurrent), done5), 5), []*batchv1.Job{done5}, "2026-01-01T10:10:01Z", "create tick-29454370; event SawCompletedJob; active []; requeue 4m59.1s"},
		{"Replace: the active one goes", withLast(withActive(every(batchv1.ReplaceConcurrent), active5), 5), []*batchv1.Job{active5}, "2026-01-01T10:10:01Z", "create tick-29454370; replace tick-29454365; active []; requeue 4m59.1s"},
		{"missed times: only the latest runs", every(batchv1.AllowConcurrent), nil, "2026-01-01T10:27:00Z", "create tick-29454385; active []; requeue 3m0.1s"},
		{"too many missed: warns, still runs the latest", mkCronJob("* * * * *", batchv1.AllowConcurrent), nil, "2026-01-01T13:00:30Z", "create tick-29454540; event TooManyMissedTimes; active []; requeue 30.1s"},
		{"startingDeadlineSeconds: within", set(every(batchv1.AllowConcurrent), func(c *batchv1.CronJob) { c.Spec.StartingDeadlineSeconds = ptr.To[int64](120) }), nil, "2026-01-01T10:06:00Z", "create tick-29454365; active []; requeue 4m0.1s"},
		{"startingDeadlineSeconds: too late for 10:05", set(every(batchv1.AllowConcurrent), func(c *batchv1.CronJob) { c.Spec.StartingDeadlineSeconds = ptr.To[int64](60) }), nil, "2026-01-01T10:07:00Z", "active []; requeue 3m0.1s"},
		{"suspended", set(every(batchv1.AllowConcurrent), func(c *batchv1.CronJob) { c.Spec.Suspend = ptr.To(true) }), nil, "2026-01-01T10:05:01Z", "active []"},
		{"being deleted", set(every(batchv1.AllowConcurrent), func(c *batchv1.CronJob) { c.DeletionTimestamp = ptr.To(metav1.NewTime(created)) }), nil, "2026-01-01T10:05:01Z", "active []"},
		{"unparseable schedule", mkCronJob("every tuesday", batchv1.AllowConcurrent), nil, "2026-01-01T10:05:01Z", "event UnparseableSchedule; active []"},
		{"invalid schedule", mkCronJob("59 23 31 2 *", batchv1.AllowConcurrent), nil, "2027-01-01T10:05:01Z", "event InvalidSchedule; active []"},
		{"unknown time zone", set(every(batchv1.AllowConcurrent), func(c *batchv1.CronJob) { c.Spec.TimeZone = ptr.To("Mars/Olympus") }), nil, "2026-01-01T10:05:01Z", "event UnknownTimeZone; active []"},
		{"CRON_TZ in the schedule warns", mkCronJob("CRON_TZ=UTC */5 * * * *", batchv1.AllowConcurrent), nil, "2026-01-01T10:05:01Z", "create tick-29454365; event UnsupportedSchedule; active []; requeue 4m59.1s"},
		{"active Job gone", withLast(withActive(every(batchv1.AllowConcurrent), active5), 5), nil, "2026-01-01T10:06:00Z", "event MissingJob; active []; requeue 4m0.1s"},
		{"a Job it did not create", withLast(every(batchv1.AllowConcurrent), 5), []*batchv1.Job{active5}, "2026-01-01T10:06:00Z", "event UnexpectedJob; active []; requeue 4m0.1s"},
		{"history limits: 3 succeeded, 1 failed", withLast(every(batchv1.AllowConcurrent), 30), []*batchv1.Job{mkJob(5, "C"), mkJob(10, "C"), mkJob(15, "C"), mkJob(20, "C"), mkJob(25, "F"), mkJob(30, "F")}, "2026-01-01T10:31:00Z",
			"delete tick-29454365; delete tick-29454385; active []; requeue 4m0.1s"},
		{"history: failed limit 0", set(withLast(every(batchv1.AllowConcurrent), 5), func(c *batchv1.CronJob) { c.Spec.FailedJobsHistoryLimit = ptr.To[int32](0) }), []*batchv1.Job{failed5}, "2026-01-01T10:06:00Z",
			"delete tick-29454365; active []; requeue 4m0.1s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(c.cj, c.jobs, at(c.now))
			if got := summary(d); got != c.want {
				t.Errorf("\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestDecideStatusAndJob(t *testing.T) {
	cj := mkCronJob("0 9 * * *", batchv1.AllowConcurrent)
	cj.Spec.TimeZone = ptr.To("Asia/Tokyo")
	cj.Spec.JobTemplate.Annotations = map[string]string{"note": "x"}
	cj.Status.LastSuccessfulTime = ptr.To(metav1.NewTime(at("2026-01-01T09:00:00Z")))
	done := mkJob(5, "C")
	now := at("2026-01-02T00:00:10Z") // 09:00:10 in Tokyo
	d := Decide(cj, []*batchv1.Job{done}, now)
	j := d.Create
	if j == nil {
		t.Fatalf("no job: %s", summary(d))
	}
	ref := metav1.GetControllerOf(j)
	if j.Name != "tick-29455200" || j.Namespace != "ns" || j.Labels["app"] != "tick" || j.Annotations["note"] != "x" ||
		j.Annotations[ScheduledTimestampAnnotation] != "2026-01-02T09:00:00+09:00" || ref == nil || ref.Kind != "CronJob" || ref.UID != "cj-uid" ||
		len(j.Spec.Template.Spec.Containers) != 1 {
		t.Errorf("job %+v", j.ObjectMeta)
	}
	if !d.Status.LastScheduleTime.Time.Equal(at("2026-01-02T00:00:00Z")) || !d.Status.LastSuccessfulTime.Time.Equal(done.Status.CompletionTime.Time) {
		t.Errorf("status %+v", d.Status)
	}
	if d.RequeueAfter == nil || *d.RequeueAfter != 24*time.Hour-10*time.Second+100*time.Millisecond {
		t.Errorf("requeue %v", d.RequeueAfter)
	}
	if cj.Status.LastScheduleTime != nil || cj.Spec.JobTemplate.Annotations[ScheduledTimestampAnnotation] != "" {
		t.Error("Decide changed the CronJob")
	}
}
