package kubelet_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fakeclient "k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/runtime/fake"
)

// resourcesNode is a kubelet that resolves environments and prepares volumes under a temporary
// directory, on the fake runtime and a fake API.
type resourcesNode struct {
	*kubelet.TestNode
	client  *fakeclient.Clientset
	rt      *fake.Runtime
	podsDir string
}

func newResourcesNode(t *testing.T, objs ...runtime.Object) *resourcesNode {
	t.Helper()
	clk := testingclock.NewFakeClock(t0)
	client := fakeclient.NewClientset(objs...)
	rt := fake.New(clk)
	dir := t.TempDir()
	n := kubelet.NewTestNode(kubelet.Config{NodeName: "n1", CPU: resource.MustParse("4"), Memory: resource.MustParse("8Gi"),
		PodCIDRs: []string{"10.64.1.0/24"}, Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.0.2.1"}},
		Environment: true, PodsDir: dir}, client, rt, clk)
	t.Cleanup(n.Stop)
	n.RunUntil(t0)
	return &resourcesNode{TestNode: n, client: client, rt: rt, podsDir: dir}
}

// settle runs what is due now, repeatedly, until cond holds or 5 s of real time pass (the
// object watches run on real goroutines).
func (n *resourcesNode) settle(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n.RunUntil(n.Clock.Now())
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			st, _ := n.KL.PodStatus(uid)
			var s string
			if st != nil {
				s = summarize(st)
			}
			t.Fatalf("%s: not within 5s; pod status: %s; events: %q", what, s, n.Events.Take())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (n *resourcesNode) status() string {
	st, ok := n.KL.PodStatus(uid)
	if !ok {
		return ""
	}
	return summarize(st)
}

func (n *resourcesNode) spec(t *testing.T, name string) *corev1.Container {
	t.Helper()
	st, _ := n.KL.PodStatus(uid)
	for _, cs := range st.ContainerStatuses {
		if cs.Name == name && cs.ContainerID != "" {
			c, ok := n.rt.ContainerSpec(uid, cs.ContainerID)
			if ok {
				return c
			}
		}
	}
	t.Fatalf("no container %s", name)
	return nil
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func TestEnvironmentAndVolumes(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "default"}, Data: map[string]string{"mode": "fast", "greeting": "hello"}}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "default"}, Data: map[string][]byte{"password": []byte("s3cr3t")}}
	p := newPod(corev1.RestartPolicyAlways, nil, nil, ctr("app", func(c *corev1.Container) {
		c.Command = []string{"/app", "--mode=$(MODE)", "$$(MODE)"}
		c.Env = []corev1.EnvVar{
			{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "mode"}}},
			{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "HOST_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
		}
		c.EnvFrom = []corev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}
		c.VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: "/etc/config"}}
	}))
	p.Spec.Volumes = []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	n := newResourcesNode(t, cm, sec, p.DeepCopy())
	n.KL.HandlePod(p.DeepCopy())
	n.settle(t, "running", func() bool { return n.status() == "Running ctrs[app=running/ready]" })

	c := n.spec(t, "app")
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Errorf("env %s not resolved: %+v", e.Name, e.ValueFrom)
		}
		env[e.Name] = e.Value
	}
	for k, v := range map[string]string{"MODE": "fast", "PASSWORD": "s3cr3t", "POD_IP": "10.64.1.2", "HOST_IP": "192.0.2.1",
		"CFG_mode": "fast", "CFG_greeting": "hello"} {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q (all: %v)", k, env[k], v, env)
		}
	}
	if c.EnvFrom != nil || !slices.Equal(c.Command, []string{"/app", "--mode=fast", "$(MODE)"}) {
		t.Errorf("envFrom %v, command %q", c.EnvFrom, c.Command)
	}
	path, err := n.KL.VolumePath(p, "config")
	if err != nil || path != filepath.Join(n.podsDir, string(uid), "volumes", "config") {
		t.Fatalf("VolumePath = %q, %v", path, err)
	}
	if got := readFile(t, filepath.Join(path, "mode")); got != "fast" {
		t.Errorf("volume file mode = %q", got)
	}

	// An update of the ConfigMap reaches the volume through its watch.
	cm.Data = map[string]string{"mode": "slow"}
	if _, err := n.client.CoreV1().ConfigMaps("default").Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	n.settle(t, "volume updated", func() bool {
		_, err := os.Stat(filepath.Join(path, "greeting"))
		return readFile(t, filepath.Join(path, "mode")) == "slow" && os.IsNotExist(err)
	})

	// Deletion: the containers stop, then the volumes go.
	p.DeletionTimestamp = &metav1.Time{Time: t0.Add(time.Minute)}
	p.DeletionGracePeriodSeconds = ptr.To[int64](30)
	n.KL.HandlePod(p.DeepCopy())
	n.RunUntil(n.Clock.Now().Add(5 * time.Second))
	n.settle(t, "volumes torn down", func() bool {
		_, err := os.Stat(filepath.Join(n.podsDir, string(uid)))
		return os.IsNotExist(err)
	})
}

func TestMissingConfigMapIsAConfigError(t *testing.T) {
	p := newPod(corev1.RestartPolicyAlways, nil, nil, ctr("app", func(c *corev1.Container) {
		c.Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "later"}, Key: "k"}}}}
	}))
	n := newResourcesNode(t, p.DeepCopy())
	n.KL.HandlePod(p.DeepCopy())
	const want = `Pending ctrs[app=waiting(CreateContainerConfigError: configmap "later" not found)] Ready=False(ContainersNotReady: containers with unready status: [app]) ContainersReady=False(ContainersNotReady: containers with unready status: [app])`
	n.settle(t, "config error", func() bool { return n.status() == want })
	events := strings.Join(n.Events.Take(), "\n")
	if !strings.Contains(events, `Warning Failed spec.containers{app}: Error: configmap "later" not found`) {
		t.Errorf("events:\n%s", events)
	}
	// The ConfigMap appears: its watch wakes the pod, which starts without waiting for the
	// back-off.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "later", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	if _, err := n.client.CoreV1().ConfigMaps("default").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	n.settle(t, "running", func() bool { return n.status() == "Running ctrs[app=running/ready]" })
	if c := n.spec(t, "app"); len(c.Env) == 0 || c.Env[0].Value != "v" {
		t.Errorf("env %+v", c.Env)
	}
}

func TestFailedMountHoldsThePod(t *testing.T) {
	p := newPod(corev1.RestartPolicyAlways, nil, nil, ctr("app"))
	p.Spec.Volumes = []corev1.Volume{{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "nope"}}}}
	n := newResourcesNode(t, p.DeepCopy())
	n.KL.HandlePod(p.DeepCopy())
	n.settle(t, "failed mount", func() bool {
		return slices.Contains(n.Events.Take(), `Warning FailedMount: MountVolume.SetUp failed for volume "sec" : secret "nope" not found`)
	})
	if got := n.status(); !strings.HasPrefix(got, "Pending ctrs[app=waiting(ContainerCreating)]") || !strings.Contains(got, "PodReadyToStartContainers=False") {
		t.Errorf("status %s: want a pod waiting without a sandbox", got)
	}
}
