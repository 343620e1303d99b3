package kubelet_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	fakeclient "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/runtime/fake"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const uid = types.UID("uid-1")

// step moves the clock to at (seconds after t0), after applying change to the pod, and checks
// the pod status summary and the events recorded since the previous step.
type step struct {
	at     int
	change func(p *corev1.Pod)
	status string
	events []string
}

func ctr(name string, mods ...func(*corev1.Container)) corev1.Container {
	c := corev1.Container{Name: name, Image: "busybox"}
	for _, m := range mods {
		m(&c)
	}
	return c
}

func sidecar(c *corev1.Container) { c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways) }

func probe(period, failure int32) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}},
		PeriodSeconds: period, FailureThreshold: failure, SuccessThreshold: 1, TimeoutSeconds: 1}
}

func newPod(policy corev1.RestartPolicy, annotations map[string]string, init []corev1.Container, app ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: uid, Annotations: annotations, ResourceVersion: "1"},
		Spec: corev1.PodSpec{NodeName: "n1", RestartPolicy: policy, InitContainers: init, Containers: app,
			TerminationGracePeriodSeconds: ptr.To[int64](30)},
	}
}

// summarize renders the parts of a pod status the tests check, compactly.
func summarize(s *corev1.PodStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", s.Phase)
	if s.Reason != "" {
		fmt.Fprintf(&b, "(%s: %s)", s.Reason, s.Message)
	}
	cs := func(label string, list []corev1.ContainerStatus) {
		if len(list) == 0 {
			return
		}
		fmt.Fprintf(&b, " %s[", label)
		for i, c := range list {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%s=%s", c.Name, state(c.State))
			if c.LastTerminationState.Terminated != nil {
				fmt.Fprintf(&b, "/last=%s", state(c.LastTerminationState))
			}
			if c.Ready {
				b.WriteString("/ready")
			}
			if c.RestartCount > 0 {
				fmt.Fprintf(&b, "/r%d", c.RestartCount)
			}
		}
		b.WriteString("]")
	}
	cs("init", s.InitContainerStatuses)
	cs("ctrs", s.ContainerStatuses)
	for _, c := range s.Conditions {
		if c.Status == corev1.ConditionTrue && c.Reason == "" {
			continue
		}
		fmt.Fprintf(&b, " %s=%s", c.Type, c.Status)
		if c.Reason != "" {
			fmt.Fprintf(&b, "(%s", c.Reason)
			if c.Message != "" {
				fmt.Fprintf(&b, ": %s", c.Message)
			}
			b.WriteString(")")
		}
	}
	return b.String()
}

func state(s corev1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "running"
	case s.Terminated != nil:
		return fmt.Sprintf("terminated(%d %s)", s.Terminated.ExitCode, s.Terminated.Reason)
	case s.Waiting != nil && s.Waiting.Message != "":
		return fmt.Sprintf("waiting(%s: %s)", s.Waiting.Reason, s.Waiting.Message)
	case s.Waiting != nil:
		return fmt.Sprintf("waiting(%s)", s.Waiting.Reason)
	}
	return "?"
}

// Events of a container started from an image already present.
func started(path string) []string {
	return []string{
		"Normal Pulled " + path + `: Container image "busybox" already present on machine and can be accessed by the pod`,
		"Normal Created " + path + ": Container created",
		"Normal Started " + path + ": Container started",
	}
}

// Events of the first container of the node: the image is pulled.
func pulledAndStarted(path string) []string {
	return []string{
		"Normal Pulling " + path + `: Pulling image "busybox"`,
		"Normal Pulled " + path + `: Successfully pulled image "busybox" in 0s (0s including waiting). Image size: 2000000 bytes.`,
		"Normal Created " + path + ": Container created",
		"Normal Started " + path + ": Container started",
	}
}

func cat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

const (
	app  = "spec.containers{app}"
	app2 = "spec.containers{app2}"
	i1   = "spec.initContainers{i1}"
	i2   = "spec.initContainers{i2}"
	side = "spec.initContainers{side}"
	pod  = "p_default(uid-1)"
)

func backoff(d string) string {
	return "waiting(CrashLoopBackOff: back-off " + d + " restarting failed container=app pod=" + pod + ")"
}

func TestLifecycle(t *testing.T) {
	anno := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[fake.AnnotationPrefix+kv[i]] = kv[i+1]
		}
		return m
	}
	const notReady = " Ready=False(ContainersNotReady: containers with unready status: [app]) ContainersReady=False(ContainersNotReady: containers with unready status: [app])"
	const completed = " PodReadyToStartContainers=False Initialized=True(PodCompleted) Ready=False(PodCompleted) ContainersReady=False(PodCompleted)"
	const failed = " PodReadyToStartContainers=False Ready=False(PodFailed) ContainersReady=False(PodFailed)"
	const backOffEvent = "Warning BackOff " + app + ": Back-off restarting failed container app in pod " + pod
	tests := []struct {
		name  string
		pod   *corev1.Pod
		steps []step
	}{{
		name: "init containers run in order",
		pod: newPod(corev1.RestartPolicyAlways, anno("exit-after.i1", "1", "exit-after.i2", "2"),
			[]corev1.Container{ctr("i1"), ctr("i2")}, ctr("app")),
		steps: []step{
			{at: 0, status: "Pending init[i1=running i2=waiting(PodInitializing)] ctrs[app=waiting(PodInitializing)] Initialized=False(ContainersNotInitialized: containers with incomplete status: [i1 i2])" + notReady,
				events: pulledAndStarted(i1)},
			{at: 1, status: "Pending init[i1=terminated(0 Completed)/ready i2=running] ctrs[app=waiting(PodInitializing)] Initialized=False(ContainersNotInitialized: containers with incomplete status: [i2])" + notReady,
				events: started(i2)},
			{at: 3, status: "Running init[i1=terminated(0 Completed)/ready i2=terminated(0 Completed)/ready] ctrs[app=running/ready]",
				events: started(app)},
		},
	}, {
		name: "a failing init container blocks the pod",
		pod:  newPod(corev1.RestartPolicyAlways, anno("exit-after.i1", "1", "exit-code.i1", "1"), []corev1.Container{ctr("i1"), ctr("i2")}, ctr("app")),
		steps: []step{
			{at: 0, events: pulledAndStarted(i1)},
			{at: 1, status: "Pending init[i1=running/last=terminated(1 Error)/r1 i2=waiting(PodInitializing)] ctrs[app=waiting(PodInitializing)] Initialized=False(ContainersNotInitialized: containers with incomplete status: [i1 i2])" + notReady,
				events: started(i1)},
			{at: 5, status: "Pending init[i1=waiting(CrashLoopBackOff: back-off 10s restarting failed container=i1 pod=" + pod + ")/last=terminated(1 Error)/r1 i2=waiting(PodInitializing)] ctrs[app=waiting(PodInitializing)] Initialized=False(ContainersNotInitialized: containers with incomplete status: [i1 i2])" + notReady,
				events: []string{"Warning BackOff " + i1 + ": Back-off restarting failed container i1 in pod " + pod}},
			{at: 12, events: started(i1)},
		},
	}, {
		name: "a failing init container fails a pod that never restarts",
		pod:  newPod(corev1.RestartPolicyNever, anno("exit-after.i1", "1", "exit-code.i1", "1"), []corev1.Container{ctr("i1")}, ctr("app")),
		steps: []step{
			{at: 0, events: pulledAndStarted(i1)},
			{at: 1, status: "Failed init[i1=terminated(1 Error)] ctrs[app=waiting(PodInitializing)] PodReadyToStartContainers=False Initialized=False(ContainersNotInitialized: containers with incomplete status: [i1]) Ready=False(PodFailed) ContainersReady=False(PodFailed)"},
		},
	}, {
		name: "a sidecar keeps running while the job's container completes",
		pod:  newPod(corev1.RestartPolicyNever, anno("exit-after.app", "5"), []corev1.Container{ctr("side", sidecar)}, ctr("app")),
		steps: []step{
			{at: 0, status: "Running init[side=running/ready] ctrs[app=running/ready]",
				events: cat(pulledAndStarted(side), started(app))},
			{at: 4, status: "Running init[side=running/ready] ctrs[app=running/ready]"},
			{at: 5, status: "Succeeded init[side=terminated(0 Completed)] ctrs[app=terminated(0 Completed)]" + completed,
				events: []string{"Normal Killing " + side + ": Stopping container side"}},
		},
	}, {
		name: "restartPolicy Always restarts a container that succeeded",
		pod:  newPod(corev1.RestartPolicyAlways, anno("exit-after", "1"), nil, ctr("app")),
		steps: []step{
			{at: 0, events: pulledAndStarted(app)},
			{at: 1, status: "Running ctrs[app=running/last=terminated(0 Completed)/ready/r1]", events: started(app)},
		},
	}, {
		name: "restartPolicy OnFailure restarts a failed container",
		pod:  newPod(corev1.RestartPolicyOnFailure, anno("exit-after", "1", "exit-code", "2"), nil, ctr("app")),
		steps: []step{
			{at: 0, events: pulledAndStarted(app)},
			{at: 1, status: "Running ctrs[app=running/last=terminated(2 Error)/ready/r1]", events: started(app)},
		},
	}, {
		name: "restartPolicy OnFailure completes",
		pod:  newPod(corev1.RestartPolicyOnFailure, anno("exit-after", "1"), nil, ctr("app")),
		steps: []step{
			{at: 0, events: pulledAndStarted(app)},
			{at: 1, status: "Succeeded ctrs[app=terminated(0 Completed)]" + completed},
		},
	}, {
		name: "restartPolicy Never fails",
		pod:  newPod(corev1.RestartPolicyNever, anno("exit-after.app", "1", "exit-code.app", "3", "exit-after.app2", "2"), nil, ctr("app"), ctr("app2")),
		steps: []step{
			{at: 0, events: cat(pulledAndStarted(app), started(app2))},
			{at: 1, status: "Running ctrs[app=terminated(3 Error) app2=running/ready]" + notReady},
			{at: 2, status: "Failed ctrs[app=terminated(3 Error) app2=terminated(0 Completed)]" + failed},
		},
	}, {
		name: "CrashLoopBackOff doubles from 10s to 300s",
		pod:  newPod(corev1.RestartPolicyAlways, anno("exit-after", "1", "exit-code", "1"), nil, ctr("app")),
		steps: []step{
			{at: 0, events: pulledAndStarted(app)},
			{at: 1, status: "Running ctrs[app=running/last=terminated(1 Error)/ready/r1]", events: started(app)},
			{at: 2, status: "Running ctrs[app=" + backoff("10s") + "/last=terminated(1 Error)/r1]" + notReady, events: []string{backOffEvent}},
			{at: 11, events: nil},
			{at: 12, status: "Running ctrs[app=running/last=terminated(1 Error)/ready/r2]", events: started(app)},
			{at: 13, status: "Running ctrs[app=" + backoff("20s") + "/last=terminated(1 Error)/r2]" + notReady, events: []string{backOffEvent}},
			{at: 33, events: started(app)},
			{at: 34, status: "Running ctrs[app=" + backoff("40s") + "/last=terminated(1 Error)/r3]" + notReady, events: []string{backOffEvent}},
			{at: 74, events: started(app)},
			{at: 75, status: "Running ctrs[app=" + backoff("1m20s") + "/last=terminated(1 Error)/r4]" + notReady, events: []string{backOffEvent}},
			{at: 155, events: started(app)},
			{at: 156, status: "Running ctrs[app=" + backoff("2m40s") + "/last=terminated(1 Error)/r5]" + notReady, events: []string{backOffEvent}},
			{at: 316, events: started(app)},
			{at: 317, status: "Running ctrs[app=" + backoff("5m0s") + "/last=terminated(1 Error)/r6]" + notReady, events: []string{backOffEvent}},
			{at: 616, events: nil},
			{at: 617, events: started(app)},
			{at: 618, status: "Running ctrs[app=" + backoff("5m0s") + "/last=terminated(1 Error)/r7]" + notReady, events: []string{backOffEvent}},
			// The next attempt runs 11 minutes clean: the back-off starts over.
			{at: 900, change: func(p *corev1.Pod) { p.Annotations[fake.AnnotationPrefix+"exit-after"] = "660" }},
			{at: 918, events: started(app)},
			{at: 1578, status: "Running ctrs[app=running/last=terminated(1 Error)/ready/r9]", events: started(app)},
		},
	}, {
		name: "a liveness failure restarts the container",
		pod: newPod(corev1.RestartPolicyAlways, anno("fail-probes", "liveness", "fail-probes-from", "30"), nil,
			ctr("app", func(c *corev1.Container) { c.LivenessProbe = probe(10, 3) })),
		steps: []step{
			{at: 0, events: pulledAndStarted(app)},
			{at: 49, status: "Running ctrs[app=running/ready]", events: []string{
				"Warning Unhealthy " + app + ": Liveness probe failed: simulated failure (fake.skiff.dev/fail-probes)",
				"Warning Unhealthy " + app + ": Liveness probe failed: simulated failure (fake.skiff.dev/fail-probes)"}},
			{at: 50, status: "Running ctrs[app=running/last=terminated(0 Completed)/ready/r1]", events: cat([]string{
				"Warning Unhealthy " + app + ": Liveness probe failed: simulated failure (fake.skiff.dev/fail-probes)",
				"Normal Killing " + app + ": Container app failed liveness probe, will be restarted"}, started(app))},
		},
	}, {
		name: "readiness gates Ready",
		pod: newPod(corev1.RestartPolicyAlways, anno("fail-probes", "readiness", "fail-probes-until", "15"), nil,
			ctr("app", func(c *corev1.Container) { c.ReadinessProbe = probe(10, 1) })),
		steps: []step{
			{at: 0, status: "Running ctrs[app=running]" + notReady, events: cat(pulledAndStarted(app),
				[]string{"Warning Unhealthy " + app + ": Readiness probe failed: simulated failure (fake.skiff.dev/fail-probes)"})},
			{at: 19, status: "Running ctrs[app=running]" + notReady, events: []string{"Warning Unhealthy " + app + ": Readiness probe failed: simulated failure (fake.skiff.dev/fail-probes)"}},
			{at: 20, status: "Running ctrs[app=running/ready]"},
		},
	}, {
		name: "a readiness gate holds Ready",
		pod: func() *corev1.Pod {
			p := newPod(corev1.RestartPolicyAlways, nil, nil, ctr("app"))
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/gate"}}
			return p
		}(),
		steps: []step{
			{at: 0, status: `Running ctrs[app=running/ready] Ready=False(ReadinessGatesNotReady: corresponding condition of pod readiness gate "example.com/gate" does not exist.)`, events: pulledAndStarted(app)},
			{at: 1, change: func(p *corev1.Pod) {
				p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: "example.com/gate", Status: corev1.ConditionTrue})
			}, status: "Running ctrs[app=running/ready]"},
		},
	}, {
		name: "a startup probe holds off liveness",
		pod: newPod(corev1.RestartPolicyAlways, anno("fail-probes", "startup,liveness", "fail-probes-until", "25"), nil,
			ctr("app", func(c *corev1.Container) { c.LivenessProbe = probe(10, 1); c.StartupProbe = probe(10, 30) })),
		steps: []step{
			{at: 0, status: "Running ctrs[app=running]" + notReady, events: cat(pulledAndStarted(app),
				[]string{"Warning Unhealthy " + app + ": Startup probe failed: simulated failure (fake.skiff.dev/fail-probes)"})},
			{at: 29, status: "Running ctrs[app=running]" + notReady, events: []string{
				"Warning Unhealthy " + app + ": Startup probe failed: simulated failure (fake.skiff.dev/fail-probes)",
				"Warning Unhealthy " + app + ": Startup probe failed: simulated failure (fake.skiff.dev/fail-probes)"}},
			{at: 30, status: "Running ctrs[app=running/ready]"},
			{at: 100, status: "Running ctrs[app=running/ready]"},
		},
	}, {
		name: "activeDeadlineSeconds fails the pod",
		pod: func() *corev1.Pod {
			p := newPod(corev1.RestartPolicyAlways, nil, nil, ctr("app"))
			p.Spec.ActiveDeadlineSeconds = ptr.To[int64](30)
			return p
		}(),
		steps: []step{
			{at: 29, status: "Running ctrs[app=running/ready]", events: pulledAndStarted(app)},
			{at: 30, status: "Failed(DeadlineExceeded: Pod was active on the node longer than the specified deadline) ctrs[app=terminated(0 Completed)]" + failed,
				events: []string{"Normal DeadlineExceeded: Pod was active on the node longer than the specified deadline", "Normal Killing " + app + ": Stopping container app"}},
		},
	}, {
		name: "graceful deletion honours the grace period",
		pod:  newPod(corev1.RestartPolicyAlways, anno("sigterm-delay", "1h"), nil, ctr("app")),
		steps: []step{
			{at: 0, events: pulledAndStarted(app)},
			{at: 10, change: func(p *corev1.Pod) {
				p.DeletionTimestamp = &metav1.Time{Time: t0.Add(40 * time.Second)}
				p.DeletionGracePeriodSeconds = ptr.To[int64](30)
			}, status: "Running ctrs[app=running]" + notReady, events: []string{"Normal Killing " + app + ": Stopping container app"}},
			{at: 39, status: "Running ctrs[app=running]" + notReady},
			{at: 40, status: "Failed ctrs[app=terminated(137 Error)]" + failed},
		},
	}, {
		name: "rejected for lack of cpu",
		pod: func() *corev1.Pod {
			p := newPod(corev1.RestartPolicyAlways, nil, nil, ctr("app", func(c *corev1.Container) {
				c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("5")}
			}))
			return p
		}(),
		steps: []step{
			{at: 0, status: "Failed(OutOfcpu: Pod was rejected: Node didn't have enough resource: cpu, requested: 5000, used: 0, capacity: 4000)",
				events: []string{"Warning OutOfcpu: Node didn't have enough resource: cpu, requested: 5000, used: 0, capacity: 4000"}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := testingclock.NewFakeClock(t0)
			client := fakeclient.NewClientset(tc.pod.DeepCopy())
			rt := fake.New(clk)
			n := kubelet.NewTestNode(kubelet.Config{NodeName: "n1", CPU: resource.MustParse("4"), Memory: resource.MustParse("8Gi"),
				PodCIDRs: []string{"10.64.1.0/24"}, Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.0.2.1"}}}, client, rt, clk)
			p := tc.pod.DeepCopy()
			n.RunUntil(t0)
			n.KL.HandlePod(p.DeepCopy())
			for _, s := range tc.steps {
				at := t0.Add(time.Duration(s.at) * time.Second)
				if s.change != nil {
					n.RunUntil(at)
					s.change(p)
					n.KL.HandlePod(p.DeepCopy())
				}
				n.RunUntil(at)
				st, ok := n.KL.PodStatus(uid)
				if !ok {
					t.Fatalf("t=%d: no status", s.at)
				}
				if s.status != "" {
					if got := summarize(st); got != s.status {
						t.Errorf("t=%d: status\n got: %s\nwant: %s", s.at, got, s.status)
					}
				}
				if got := n.Events.Take(); strings.Join(got, "\n") != strings.Join(s.events, "\n") {
					t.Errorf("t=%d: events\n got: %q\nwant: %q", s.at, got, s.events)
				}
			}
		})
	}
}

// TestGracefulDeletionDeletesThePod checks the status manager's last act: the pod's final
// status is sent, then the pod is deleted with grace period 0 and its UID as precondition.
func TestGracefulDeletionDeletesThePod(t *testing.T) {
	clk := testingclock.NewFakeClock(t0)
	p := newPod(corev1.RestartPolicyAlways, map[string]string{fake.AnnotationPrefix + "sigterm-delay": "5s"}, nil, ctr("app"))
	client := fakeclient.NewClientset(p.DeepCopy())
	n := kubelet.NewTestNode(kubelet.Config{NodeName: "n1", CPU: resource.MustParse("4"), Memory: resource.MustParse("8Gi"),
		PodCIDRs: []string{"10.64.1.0/24"}}, client, fake.New(clk), clk)
	n.RunUntil(t0)
	n.KL.HandlePod(p.DeepCopy())
	n.RunUntil(t0.Add(10 * time.Second))
	got, err := client.CoreV1().Pods("default").Get(context.Background(), "p", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != corev1.PodRunning || got.Status.PodIP != "10.64.1.2" {
		t.Fatalf("phase %s, IP %q: want Running with 10.64.1.2", got.Status.Phase, got.Status.PodIP)
	}
	p.DeletionTimestamp = &metav1.Time{Time: t0.Add(40 * time.Second)}
	p.DeletionGracePeriodSeconds = ptr.To[int64](30)
	client.ClearActions()
	n.KL.HandlePod(p.DeepCopy())
	n.RunUntil(t0.Add(14 * time.Second))
	for _, a := range client.Actions() {
		if a.GetVerb() == "delete" {
			t.Fatalf("deleted before the container stopped")
		}
	}
	n.RunUntil(t0.Add(15 * time.Second))
	var verbs []string
	for _, a := range client.Actions() {
		if a.GetResource().Resource != "pods" {
			continue
		}
		verbs = append(verbs, a.GetVerb()+"/"+a.GetSubresource())
		if d, ok := a.(clienttesting.DeleteActionImpl); ok {
			o := d.DeleteOptions
			if o.GracePeriodSeconds == nil || *o.GracePeriodSeconds != 0 || o.Preconditions == nil || *o.Preconditions.UID != uid {
				t.Errorf("delete options %+v: want grace 0 and the UID precondition", o)
			}
		}
	}
	// The first patch reports the containers not ready while they stop.
	if strings.Join(verbs, " ") != "patch/status patch/status delete/" {
		t.Errorf("pod calls %v: want the terminating and the final status, then the delete", verbs)
	}
}

// TestStatusReconciledAfterLoss: a status the API lost (here, overwritten behind the kubelet's
// back) is sent again by the next housekeeping, from the API's status, as upstream's status
// manager reconciles.
func TestStatusReconciledAfterLoss(t *testing.T) {
	clk := testingclock.NewFakeClock(t0)
	p := newPod(corev1.RestartPolicyAlways, nil, nil, ctr("app"))
	client := fakeclient.NewClientset(p.DeepCopy())
	n := kubelet.NewTestNode(kubelet.Config{NodeName: "n1", CPU: resource.MustParse("4"), Memory: resource.MustParse("8Gi"),
		PodCIDRs: []string{"10.64.1.0/24"}}, client, fake.New(clk), clk)
	n.StartHousekeeping()
	n.RunUntil(t0)
	n.KL.HandlePod(p.DeepCopy())
	n.RunUntil(t0.Add(5 * time.Second))
	ctx := context.Background()
	got, err := client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
	if err != nil || got.Status.Phase != corev1.PodRunning || !podReady(got) {
		t.Fatalf("before: %v %s ready=%v", err, got.Status.Phase, podReady(got))
	}
	// The API loses the Ready condition and the container's readiness.
	lost := got.DeepCopy()
	for i := range lost.Status.Conditions {
		if lost.Status.Conditions[i].Type == corev1.PodReady {
			lost.Status.Conditions[i].Status = corev1.ConditionFalse
		}
	}
	lost.Status.ContainerStatuses[0].Ready = false
	if lost, err = client.CoreV1().Pods("default").UpdateStatus(ctx, lost, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	n.KL.HandlePod(lost.DeepCopy())
	n.RunUntil(t0.Add(20 * time.Second))
	got, _ = client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
	if !podReady(got) || !got.Status.ContainerStatuses[0].Ready {
		t.Fatalf("after housekeeping the API still has the lost status: %s", summarize(&got.Status))
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
