package queue

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

func mkPod(name string, prio int32) *v1.Pod {
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Spec: v1.PodSpec{Priority: &prio}}
}

func TestBackoffDuration(t *testing.T) {
	for _, tc := range []struct {
		attempts int
		want     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {50, 10 * time.Second}} {
		if got := BackoffDuration(tc.attempts, time.Second, 10*time.Second); got != tc.want {
			t.Errorf("attempts %d: %v, want %v", tc.attempts, got, tc.want)
		}
	}
}

func TestQueue(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, q *Queue, clk *clocktesting.FakeClock) []string
		want []string
	}{
		{"priority then age", func(t *testing.T, q *Queue, clk *clocktesting.FakeClock) []string {
			q.Add(mkPod("low-old", 1))
			clk.Step(time.Millisecond)
			q.Add(mkPod("high", 10))
			clk.Step(time.Millisecond)
			q.Add(mkPod("low-new", 1))
			return popAll(ctx, q)
		}, []string{"high", "low-old", "low-new"}},
		{"unschedulable waits for an event", func(t *testing.T, q *Queue, clk *clocktesting.FakeClock) []string {
			q.Add(mkPod("p", 0))
			p, cycle, _ := q.Pop(ctx)
			q.AddUnschedulableIfNotPresent(p, cycle, true)
			if a, b, u := q.Counts(); a != 0 || b != 0 || u != 1 {
				t.Errorf("counts %d %d %d, want unschedulable", a, b, u)
			}
			clk.Step(2 * time.Second) // backoff (1 s) over
			q.MoveAllToActiveOrBackoff(nil)
			return popAll(ctx, q)
		}, []string{"p"}},
		{"moved while backing off goes to backoff, then active after flush", func(t *testing.T, q *Queue, clk *clocktesting.FakeClock) []string {
			q.Add(mkPod("p", 0))
			p, cycle, _ := q.Pop(ctx)
			q.AddUnschedulableIfNotPresent(p, cycle, true)
			q.MoveAllToActiveOrBackoff(nil)
			if a, b, _ := q.Counts(); a != 0 || b != 1 {
				t.Errorf("counts active %d backoff %d, want backoff", a, b)
			}
			clk.Step(500 * time.Millisecond)
			q.FlushBackoffCompleted()
			if a, _, _ := q.Counts(); a != 0 {
				t.Errorf("active after 0.5 s")
			}
			clk.Step(600 * time.Millisecond)
			q.FlushBackoffCompleted()
			return popAll(ctx, q)
		}, []string{"p"}},
		{"move request during the cycle sends the pod to backoff", func(t *testing.T, q *Queue, clk *clocktesting.FakeClock) []string {
			q.Add(mkPod("p", 0))
			p, cycle, _ := q.Pop(ctx)
			q.MoveAllToActiveOrBackoff(nil) // e.g. a node was added while p was being scheduled
			q.AddUnschedulableIfNotPresent(p, cycle, true)
			if _, b, u := q.Counts(); b != 1 || u != 0 {
				t.Errorf("backoff %d unschedulable %d", b, u)
			}
			return nil
		}, nil},
		{"leftover unschedulable flushed after 5 minutes", func(t *testing.T, q *Queue, clk *clocktesting.FakeClock) []string {
			q.Add(mkPod("p", 0))
			p, cycle, _ := q.Pop(ctx)
			q.AddUnschedulableIfNotPresent(p, cycle, true)
			clk.Step(4 * time.Minute)
			q.FlushUnschedulableLeftover()
			if _, _, u := q.Counts(); u != 1 {
				t.Errorf("flushed too early")
			}
			clk.Step(2 * time.Minute)
			q.FlushUnschedulableLeftover()
			return popAll(ctx, q)
		}, []string{"p"}},
		{"status-only update does not move an unschedulable pod; spec change does", func(t *testing.T, q *Queue, clk *clocktesting.FakeClock) []string {
			old := mkPod("p", 0)
			q.Add(old)
			p, cycle, _ := q.Pop(ctx)
			q.AddUnschedulableIfNotPresent(p, cycle, true)
			clk.Step(20 * time.Second)
			st := old.DeepCopy()
			st.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse}}
			q.Update(old, st)
			if _, _, u := q.Counts(); u != 1 {
				t.Errorf("status update moved the pod")
			}
			spec := st.DeepCopy()
			spec.Spec.Tolerations = []v1.Toleration{{Operator: v1.TolerationOpExists}}
			q.Update(st, spec)
			return popAll(ctx, q)
		}, []string{"p"}},
		{"deleted pod leaves", func(t *testing.T, q *Queue, clk *clocktesting.FakeClock) []string {
			q.Add(mkPod("a", 0))
			q.Add(mkPod("b", 0))
			q.Delete(mkPod("a", 0))
			return popAll(ctx, q)
		}, []string{"b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
			q := New(clk, 0, 0)
			got := tc.run(t, q, clk)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("popped %v, want %v", got, tc.want)
			}
		})
	}
}

// popAll pops what is active now.
func popAll(ctx context.Context, q *Queue) []string {
	var out []string
	for {
		if a, _, _ := q.Counts(); a == 0 {
			return out
		}
		p, _, _ := q.Pop(ctx)
		out = append(out, p.Pod.Name)
	}
}
