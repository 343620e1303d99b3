package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
)

// apiEdge is where decisions meet the API: it binds, writes events and conditions, and evicts
// preemption victims.
type apiEdge struct {
	client        kubernetes.Interface
	schedulerName string
	recorder      *recorder
	log           *slog.Logger
}

// Bind POSTs pods/binding.
func (a *apiEdge) Bind(ctx context.Context, pod *v1.Pod, node string) error {
	b := &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: node},
	}
	return a.client.CoreV1().Pods(pod.Namespace).Bind(ctx, b, metav1.CreateOptions{})
}

// Scheduled writes upstream's Scheduled event.
func (a *apiEdge) Scheduled(_ context.Context, pod *v1.Pod, node string) {
	a.recorder.Eventf(pod, v1.EventTypeNormal, "Scheduled", "Successfully assigned %v/%v to %v", pod.Namespace, pod.Name, node)
}

// Failed writes a FailedScheduling event and the PodScheduled=False condition (and the
// nomination, when it changes) with one status patch.
func (a *apiEdge) Failed(ctx context.Context, pod *v1.Pod, message string, nominated *string) {
	a.recorder.Eventf(pod, v1.EventTypeWarning, "FailedScheduling", "%s", message)
	if nominated == nil && hasCondition(pod, v1.PodReasonUnschedulable, message) {
		return
	}
	if err := a.patchStatus(ctx, pod, message, nominated); err != nil && !apierrors.IsNotFound(err) {
		a.log.Warn("updating pod status", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

func hasCondition(pod *v1.Pod, reason, message string) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled {
			return c.Status == v1.ConditionFalse && c.Reason == reason && c.Message == message
		}
	}
	return false
}

// PodScheduledPatch builds the strategic merge patch for pods/status.
func PodScheduledPatch(message string, nominated *string, now time.Time) ([]byte, error) {
	status := map[string]any{
		"conditions": []map[string]any{{
			"type": string(v1.PodScheduled), "status": string(v1.ConditionFalse), "reason": v1.PodReasonUnschedulable,
			"message": message, "lastProbeTime": nil, "lastTransitionTime": metav1.NewTime(now).Rfc3339Copy(),
		}},
	}
	if nominated != nil {
		if *nominated == "" {
			status["nominatedNodeName"] = nil
		} else {
			status["nominatedNodeName"] = *nominated
		}
	}
	return json.Marshal(map[string]any{"status": status})
}

func (a *apiEdge) patchStatus(ctx context.Context, pod *v1.Pod, message string, nominated *string) error {
	patch, err := PodScheduledPatch(message, nominated, time.Now())
	if err != nil {
		return err
	}
	_, err = a.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}

// Preempt marks each victim with a DisruptionTarget condition, writes a Preempted event and
// deletes it gracefully.
func (a *apiEdge) Preempt(ctx context.Context, preemptor *v1.Pod, victims []*v1.Pod, node string) {
	for _, v := range victims {
		cond, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": []map[string]any{{
			"type": string(v1.DisruptionTarget), "status": string(v1.ConditionTrue), "reason": v1.PodReasonPreemptionByScheduler,
			"message":            fmt.Sprintf("%s: preempting to accommodate a higher priority pod", a.schedulerName),
			"lastTransitionTime": metav1.Now().Rfc3339Copy(),
		}}}})
		if _, err := a.client.CoreV1().Pods(v.Namespace).Patch(ctx, v.Name, types.StrategicMergePatchType, cond, metav1.PatchOptions{}, "status"); err != nil && !apierrors.IsNotFound(err) {
			a.log.Warn("marking preemption victim", "pod", v.Namespace+"/"+v.Name, "err", err)
		}
		uid := v.UID
		err := a.client.CoreV1().Pods(v.Namespace).Delete(ctx, v.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			a.log.Warn("deleting preemption victim", "pod", v.Namespace+"/"+v.Name, "err", err)
			continue
		}
		a.recorder.Eventf(v, v1.EventTypeNormal, "Preempted", "Preempted by pod %v on node %v", preemptor.UID, node)
	}
}

// recorder writes core/v1 Events (what kubectl describe shows) through client-go's broadcaster.
type recorder struct {
	record.EventRecorder
	broadcaster record.EventBroadcaster
}

func newRecorder(client kubernetes.Interface) *recorder {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	return &recorder{EventRecorder: b.NewRecorder(scheme.Scheme, v1.EventSource{Component: v1.DefaultSchedulerName}), broadcaster: b}
}

func (r *recorder) shutdown() { r.broadcaster.Shutdown() }

// leaderElect runs f while holding the scheduler's Lease; it returns when ctx ends.
func leaderElect(ctx context.Context, client kubernetes.Interface, cfg Config, f func(context.Context) error) error {
	id := cfg.Identity
	if id == "" {
		host, _ := os.Hostname()
		id = host + "_" + uuid.NewString()
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.LeaseNamespace, Name: cfg.LeaseName},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   cfg.LeaseDuration,
		RenewDeadline:   cfg.RenewDeadline,
		RetryPeriod:     cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            cfg.LeaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				cfg.Logger.Info("scheduler: became leader", "identity", id)
				if err := f(ctx); err != nil {
					cfg.Logger.Error("scheduler stopped", "err", err)
				}
			},
			OnStoppedLeading: func() { cfg.Logger.Info("scheduler: stopped leading", "identity", id) },
		},
	})
	if err != nil {
		return fmt.Errorf("scheduler leader election: %w", err)
	}
	le.Run(ctx)
	if ctx.Err() == nil {
		return errLostLeadership
	}
	return nil
}

var errLostLeadership = errors.New("scheduler: lost leadership")
