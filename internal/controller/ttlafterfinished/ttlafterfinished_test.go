package ttlafterfinished

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestDue(t *testing.T) {
	now := time.Now()
	finished := func(ttl *int32, at time.Time, cond batchv1.JobConditionType) *batchv1.Job {
		return &batchv1.Job{Spec: batchv1.JobSpec{TTLSecondsAfterFinished: ttl}, Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
			{Type: cond, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(at)}}}}
	}
	tests := []struct {
		name string
		job  *batchv1.Job
		ok   bool
		wait time.Duration
	}{
		{"no ttl", finished(nil, now, batchv1.JobComplete), false, 0},
		{"running", &batchv1.Job{Spec: batchv1.JobSpec{TTLSecondsAfterFinished: ptr.To[int32](5)}}, false, 0},
		{"complete, waiting", finished(ptr.To[int32](60), now.Add(-20*time.Second), batchv1.JobComplete), true, 40 * time.Second},
		{"failed, due", finished(ptr.To[int32](0), now.Add(-time.Second), batchv1.JobFailed), true, -time.Second},
		{"suspended is not finished", finished(ptr.To[int32](0), now, batchv1.JobSuspended), false, 0},
	}
	for _, tt := range tests {
		wait, ok := Due(tt.job, now)
		if ok != tt.ok || (ok && wait != tt.wait) {
			t.Errorf("%s: Due = %s, %v; want %s, %v", tt.name, wait, ok, tt.wait, tt.ok)
		}
	}
}
