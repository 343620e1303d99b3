package agent_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/skiff-project/skiff/internal/agent"
)

func (c *cluster) createPod(p *corev1.Pod) *corev1.Pod {
	c.t.Helper()
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	out, err := c.client.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// waitPod polls the pod until ok says it is what the test waits for.
func (c *cluster) waitPod(name string, d time.Duration, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	c.t.Helper()
	var last *corev1.Pod
	c.eventually(d, "pod "+name+" "+what, func() string {
		p, err := c.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		last = p
		if ok(p) {
			return ""
		}
		return fmt.Sprintf("phase %s, conditions %v, containers %v", p.Status.Phase, p.Status.Conditions, p.Status.ContainerStatuses)
	})
	return last
}

func ready(p *corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
			return p.Status.Phase == corev1.PodRunning
		}
	}
	return false
}

// webPod is skiffhost serving HTTP on 8080, with a readiness probe.
func webPod(name, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](5),
			Containers: []corev1.Container{{
				Name: "web", Image: image, Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 1},
			}},
		},
	}
}

// containerPid returns the PID of the container's first process, from its cgroup.
func (c *cluster) containerPid(p *corev1.Pod, id string) int {
	c.t.Helper()
	qos := map[corev1.PodQOSClass]string{corev1.PodQOSBestEffort: "besteffort", corev1.PodQOSBurstable: "burstable"}[p.Status.QOSClass]
	path := filepath.Join("/sys/fs/cgroup/pids", agent.CgroupParent(c.node), "kubepods", qos, "pod"+string(p.UID), id, "cgroup.procs")
	b, err := os.ReadFile(path)
	if err != nil {
		c.t.Fatal(err)
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		c.t.Fatalf("%s: no process", path)
	}
	pid, _ := strconv.Atoi(fields[0])
	return pid
}

// TestAgent runs a node with real containers against an in-process server, as a user would:
// pods with ConfigMaps and Secrets, pod-to-pod traffic, deletion, and an agent killed and
// restarted.
func TestAgent(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	node, err := c.client.CoreV1().Nodes().Get(ctx, c.node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if node.Status.DaemonEndpoints.KubeletEndpoint.Port != agent.KubeletPort || len(node.Spec.PodCIDRs) == 0 {
		t.Fatalf("node: daemon endpoint %d, podCIDRs %v", node.Status.DaemonEndpoints.KubeletEndpoint.Port, node.Spec.PodCIDRs)
	}
	podCIDR := netip.MustParsePrefix(node.Spec.PodCIDRs[0])
	for _, f := range []string{"client.crt", "client.key", "serving.crt", "serving.key", "ca.crt"} {
		fi, err := os.Stat(filepath.Join(c.dataDir, "pki", f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("pki/%s: %v %v, want mode 0600", f, fi, err)
		}
	}
	for _, d := range []string{"images", "runtime", "network", "logs", "pods"} {
		if !fileExists(filepath.Join(c.dataDir, d)) {
			t.Errorf("data dir lacks %s/", d)
		}
	}

	// A pod with env from a ConfigMap and a Secret volume.
	_, err = c.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data: map[string]string{"greeting": "hello", "mode": "fast"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		Data: map[string][]byte{"password": []byte("s3cr3t")}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	web := webPod("web", c.image)
	web.Spec.Containers[0].Env = []corev1.EnvVar{
		{Name: "GREETING", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "greeting"}}},
		{Name: "MY_POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "MESSAGE", Value: "$(GREETING) from $(MY_POD_IP)"},
	}
	web.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}
	hostDir := filepath.Join(t.TempDir(), "host", "made")
	web.Labels = map[string]string{"app": "web"}
	web.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "creds", MountPath: "/etc/creds", ReadOnly: true}, {Name: "cfg", MountPath: "/etc/cfg"},
		{Name: "scratch", MountPath: "/scratch"}, {Name: "host", MountPath: "/host"}, {Name: "info", MountPath: "/etc/podinfo"}}
	web.Spec.Volumes = []corev1.Volume{
		{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: ptr.To(resource.MustParse("16Mi"))}}},
		{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostDir, Type: ptr.To(corev1.HostPathDirectoryOrCreate)}}},
		{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
	}
	start := time.Now()
	c.createPod(web)
	p := c.waitPod("web", 60*time.Second, "Running and Ready", ready)
	t.Logf("pod web Running and Ready %v after create (image pulled)", time.Since(start).Round(time.Millisecond))
	ip, err := netip.ParseAddr(p.Status.PodIP)
	if err != nil || !podCIDR.Contains(ip) {
		t.Fatalf("pod IP %q is not in the node's podCIDR %s", p.Status.PodIP, podCIDR)
	}
	base := "http://" + p.Status.PodIP + ":8080"
	env, err := httpGet(base + "/env")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GREETING=hello\n", "CFG_mode=fast\n", "MY_POD_IP=" + p.Status.PodIP + "\n", "MESSAGE=hello from " + p.Status.PodIP + "\n",
		"KUBERNETES_SERVICE_HOST=10.43.0.1\n", "HOSTNAME=web\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("the container's environment lacks %q:\n%s", want, env)
		}
	}
	if got, err := httpGet(base + "/file?path=/etc/creds/password"); err != nil || got != "s3cr3t" {
		t.Errorf("secret file: %q, %v", got, err)
	}
	if got, err := httpGet(base + "/file?path=/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err != nil || got != "default" {
		t.Errorf("service account namespace file: %q, %v", got, err)
	}
	if got, err := httpGet(base + "/file?path=/var/run/secrets/kubernetes.io/serviceaccount/token"); err != nil || strings.Count(got, ".") != 2 {
		t.Errorf("service account token: %q, %v", got, err)
	}
	if mounts, err := httpGet(base + "/file?path=/proc/mounts"); err != nil || !strings.Contains(mounts, "/scratch tmpfs") || !strings.Contains(mounts, "size=16384k") {
		t.Errorf("the memory emptyDir is not a 16 MiB tmpfs in the container (%v):\n%s", err, mounts)
	}
	if fi, err := os.Stat(hostDir); err != nil || !fi.IsDir() {
		t.Errorf("hostPath DirectoryOrCreate did not make %s: %v", hostDir, err)
	}
	if got, err := httpGet(base + "/file?path=/etc/podinfo/labels"); err != nil || got != `app="web"` {
		t.Errorf("downward API labels: %q, %v", got, err)
	}
	// The secret volume is a tmpfs: secrets never reach the disk.
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); !strings.Contains(string(mounts), filepath.Join(c.dataDir, "pods", string(p.UID), "volumes", "creds")+" ") {
		t.Errorf("the secret volume is not a mount point")
	}

	t.Run("ConfigMap update reaches the volume", func(t *testing.T) {
		cm, _ := c.client.CoreV1().ConfigMaps("default").Get(ctx, "cfg", metav1.GetOptions{})
		cm.Data["greeting"] = "bonjour"
		if _, err := c.client.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		updated := time.Now()
		c.eventually(20*time.Second, "updated greeting in the volume", func() string {
			got, err := httpGet(base + "/file?path=/etc/cfg/greeting")
			if err != nil {
				return err.Error()
			}
			if got != "bonjour" {
				return "greeting is " + got
			}
			return ""
		})
		t.Logf("ConfigMap update visible in the container after %v", time.Since(updated).Round(time.Millisecond))
	})

	t.Run("two pods reach each other by IP", func(t *testing.T) {
		client := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "client"},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
				Name: "connect", Image: c.image, Args: []string{"tcp-connect", p.Status.PodIP + ":8080", "--timeout", "5s"},
			}}},
		}
		c.createPod(client)
		done := c.waitPod("client", 30*time.Second, "finished", func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		})
		if done.Status.Phase != corev1.PodSucceeded {
			t.Fatalf("client pod %s: %v", done.Status.Phase, done.Status.ContainerStatuses)
		}
		if done.Status.PodIP == p.Status.PodIP || done.Status.PodIP == "" {
			t.Errorf("client IP %q", done.Status.PodIP)
		}
	})

	t.Run("a Service's ClusterIP and NodePort reach the pod", func(t *testing.T) {
		svc, err := c.client.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, url := range []string{
			"http://" + svc.Spec.ClusterIP + "/hostname",
			fmt.Sprintf("http://%s:%d/hostname", nodeIP, svc.Spec.Ports[0].NodePort),
		} {
			c.eventually(20*time.Second, url, func() string {
				got, err := httpGet(url)
				if err != nil {
					return err.Error()
				}
				if strings.TrimSpace(got) != "web" {
					return "answered " + got
				}
				return ""
			})
		}
		// From a pod, by the Service's IP.
		client := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "svc-client"},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
				Name: "connect", Image: c.image, Args: []string{"tcp-connect", svc.Spec.ClusterIP + ":80", "--timeout", "5s"},
			}}},
		}
		c.createPod(client)
		done := c.waitPod("svc-client", 30*time.Second, "finished", func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		})
		if done.Status.Phase != corev1.PodSucceeded {
			t.Errorf("a pod could not reach the ClusterIP: %v", done.Status.ContainerStatuses)
		}
		// Cluster DNS: the pod's resolv.conf points at the cluster DNS IP, which this node's
		// DNS server answers; the search path finds the Services by their short names.
		if got, err := httpGet(base + "/file?path=/etc/resolv.conf"); err != nil ||
			!strings.Contains(got, "nameserver 10.43.0.10\n") || !strings.Contains(got, "search default.svc.cluster.local svc.cluster.local cluster.local") ||
			!strings.Contains(got, "options ndots:5") {
			t.Errorf("the pod's resolv.conf (%v):\n%s", err, got)
		}
		lookup := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "lookup"},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{
				{Name: "web", Image: c.image, Args: []string{"dns-lookup", "web"}},
				{Name: "kubernetes", Image: c.image, Args: []string{"dns-lookup", "kubernetes.default"}},
			}},
		}
		c.createPod(lookup)
		done = c.waitPod("lookup", 30*time.Second, "finished", func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		})
		for _, name := range []string{"web", "kubernetes"} {
			out, err := c.client.CoreV1().Pods("default").GetLogs("lookup", &corev1.PodLogOptions{Container: name}).DoRaw(ctx)
			want := svc.Spec.ClusterIP
			if name == "kubernetes" {
				want = "10.43.0.1"
			}
			if err != nil || strings.TrimSpace(string(out)) != want {
				t.Errorf("dns-lookup %s in a pod: %q %v, want %s (pod %s)", name, out, err, want, done.Status.Phase)
			}
		}
	})

	t.Run("an agent killed and restarted keeps its pods' containers", func(t *testing.T) {
		before, _ := c.client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		cs := before.Status.ContainerStatuses[0]
		pid := c.containerPid(before, cs.ContainerID)
		c.killAgent(syscall.SIGKILL)
		if got, err := httpGet(base + "/hostname"); err != nil || strings.TrimSpace(got) != "web" {
			t.Fatalf("the pod stopped answering with the agent gone: %q %v", got, err)
		}
		c.startAgent()
		c.eventually(30*time.Second, "the new agent re-adopts the pod", func() string {
			if !strings.Contains(c.log(), "skiff agent ready") {
				return "agent not ready"
			}
			return ""
		})
		// (The finished client pod may be adopted too, and removed by housekeeping.)
		if !strings.Contains(c.log(), "re-adopted pod") || !strings.Contains(c.log(), "pod=default/web") {
			t.Errorf("the restarted agent did not report the web pod adopted:\n%s", c.log())
		}
		// Let the new kubelet sync the pod, then check nothing was restarted.
		time.Sleep(3 * time.Second)
		after := c.waitPod("web", 30*time.Second, "Ready", ready)
		acs := after.Status.ContainerStatuses[0]
		if acs.ContainerID != cs.ContainerID || acs.RestartCount != cs.RestartCount {
			t.Errorf("container %s restart %d became %s restart %d", cs.ContainerID, cs.RestartCount, acs.ContainerID, acs.RestartCount)
		}
		if got := c.containerPid(after, acs.ContainerID); got != pid {
			t.Errorf("container PID %d became %d", pid, got)
		}
		if got, err := httpGet(base + "/file?path=/etc/creds/password"); err != nil || got != "s3cr3t" {
			t.Errorf("after the restart, secret file: %q, %v", got, err)
		}
	})

	t.Run("deleting a pod removes its containers, veth and IP", func(t *testing.T) {
		cur, _ := c.client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		cid := cur.Status.ContainerStatuses[0].ContainerID
		pid := c.containerPid(cur, cid)
		veths := vethsOn(t, c)
		if err := c.client.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		deleted := time.Now()
		c.eventually(30*time.Second, "pod web gone from the API", func() string {
			_, err := c.client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return ""
			}
			return fmt.Sprint(err)
		})
		t.Logf("pod web deleted (graceful) in %v", time.Since(deleted).Round(time.Millisecond))
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("container process %d still runs", pid)
		}
		if fileExists(filepath.Join(c.dataDir, "runtime", "pods", string(cur.UID))) {
			t.Errorf("the pod's runtime directory is still there")
		}
		if fileExists(filepath.Join(c.dataDir, "pods", string(cur.UID))) {
			t.Errorf("the pod's volumes are still there")
		}
		if fileExists(filepath.Join(c.dataDir, "network", cur.Status.PodIP)) {
			t.Errorf("the pod's IP %s is still allocated", cur.Status.PodIP)
		}
		if got := vethsOn(t, c); len(got) != len(veths)-1 {
			t.Errorf("veths on the bridge: %v before, %v after", veths, got)
		}
		if _, err := httpGet(base + "/hostname"); err == nil {
			t.Errorf("the pod's IP still answers")
		}
	})
}

// vethsOn lists the veths attached to the node's bridge.
func vethsOn(t *testing.T, c *cluster) []string {
	t.Helper()
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	bridge := -1
	for _, l := range links {
		if _, ok := l.(*netlink.Bridge); ok && strings.HasPrefix(l.Attrs().Name, "skb") {
			bridge = l.Attrs().Index
		}
	}
	var out []string
	for _, l := range links {
		if _, ok := l.(*netlink.Veth); ok && l.Attrs().MasterIndex == bridge {
			out = append(out, l.Attrs().Name)
		}
	}
	return out
}
