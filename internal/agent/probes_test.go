package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"
)

// TestProbesAndInitContainers: with real containers, a failing liveness probe restarts the
// container with growing back-off, readiness gates the Ready condition both ways, and a
// failing init container keeps the app containers from starting.
func TestProbesAndInitContainers(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	sh := func(name, script string) corev1.Container {
		return corev1.Container{Name: name, Image: c.busybox, Command: []string{"sh", "-c", script}}
	}

	live := sh("app", "sleep 3600")
	live.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/alive"}}},
		PeriodSeconds: 1, FailureThreshold: 1}
	c.createPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "liveness"}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To[int64](1), Containers: []corev1.Container{live}}})

	ready := sh("app", "sleep 4; touch /tmp/ready; sleep 4; rm /tmp/ready; sleep 3600")
	ready.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/ready"}}},
		PeriodSeconds: 1}
	c.createPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "readiness"}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To[int64](1), Containers: []corev1.Container{ready}}})

	c.createPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "init"}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To[int64](1),
		InitContainers:                []corev1.Container{sh("setup", "echo setting up; exit 3")},
		Containers:                    []corev1.Container{sh("app", "sleep 3600")}}})

	// Readiness: Running but not Ready until the probe passes, then Ready, then not Ready again.
	podReady := func(p *corev1.Pod) bool {
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady {
				return cond.Status == corev1.ConditionTrue
			}
		}
		return false
	}
	p := c.waitPod("readiness", 60*time.Second, "Running, not Ready", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
	})
	if podReady(p) {
		t.Errorf("readiness pod Ready before its probe passed: %v", p.Status.Conditions)
	}
	c.waitPod("readiness", 30*time.Second, "Ready", podReady)
	p = c.waitPod("readiness", 30*time.Second, "not Ready again", func(p *corev1.Pod) bool { return !podReady(p) })
	if cs := p.Status.ContainerStatuses[0]; cs.RestartCount != 0 || cs.State.Running == nil || cs.Ready {
		t.Errorf("a failing readiness probe must not restart the container: %+v", cs)
	}

	// Liveness: each failure kills the container (exit 137) and the back-off between restarts
	// grows (10 s, then 20 s), with Unhealthy and BackOff events.
	p = c.waitPod("liveness", 90*time.Second, "restarted twice", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 2
	})
	cs := p.Status.ContainerStatuses[0]
	if term := cs.LastTerminationState.Terminated; term == nil || term.ExitCode != 137 {
		t.Errorf("liveness restart: last state %+v, want killed (137)", cs.LastTerminationState)
	}
	p = c.waitPod("liveness", 30*time.Second, "in CrashLoopBackOff", func(p *corev1.Pod) bool {
		w := p.Status.ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == "CrashLoopBackOff"
	})
	if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; !strings.HasPrefix(msg, "back-off 20s restarting failed container=app pod=liveness_default(") {
		t.Errorf("second back-off: %q, want 20s", msg)
	}
	c.eventually(20*time.Second, "liveness events", func() string {
		evs, err := c.client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.name", "liveness").String()})
		if err != nil {
			return err.Error()
		}
		var got []string
		for _, e := range evs.Items {
			got = append(got, e.Reason+": "+e.Message)
		}
		all := strings.Join(got, "\n")
		for _, want := range []string{"Unhealthy: Liveness probe failed: cat: can't open '/tmp/alive': No such file or directory",
			"Killing: Container app failed liveness probe, will be restarted", "BackOff: Back-off restarting failed container app"} {
			if !strings.Contains(all, want) {
				return "events lack " + want + ":\n" + all
			}
		}
		return ""
	})

	// A failing init container is restarted with back-off and the app container never starts.
	p = c.waitPod("init", 60*time.Second, "init container failed twice", func(p *corev1.Pod) bool {
		return len(p.Status.InitContainerStatuses) == 1 && p.Status.InitContainerStatuses[0].RestartCount >= 1
	})
	ics := p.Status.InitContainerStatuses[0]
	if term := ics.LastTerminationState.Terminated; term == nil || term.ExitCode != 3 || term.Reason != "Error" {
		t.Errorf("init container last state %+v", ics.LastTerminationState)
	}
	if p.Status.Phase != corev1.PodPending || len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Waiting == nil ||
		p.Status.ContainerStatuses[0].State.Waiting.Reason != "PodInitializing" {
		t.Errorf("with its init container failing, pod %s, app %+v", p.Status.Phase, p.Status.ContainerStatuses)
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodInitialized && (cond.Status != corev1.ConditionFalse || cond.Reason != "ContainersNotInitialized") {
			t.Errorf("Initialized condition %+v", cond)
		}
	}
}
