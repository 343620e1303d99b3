package linux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/kubelet"
)

func TestExitCodeAndLog(t *testing.T) {
	env := newTestEnv(t)
	r := env.start(t)
	events := make(chan types.UID, 16)
	r.SetEventHandler(func(uid types.UID, at time.Time) {
		select {
		case events <- uid:
		default:
		}
	})
	pod := newPod("hello", shC("c", "echo hello; exit 3"))
	ctx := context.Background()
	start := time.Now()
	if _, err := r.CreateSandbox(ctx, pod, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.RemoveSandbox(context.Background(), pod.UID) })
	sandboxTime := time.Since(start)
	start = time.Now()
	id, err := r.CreateContainer(ctx, pod, &pod.Spec.Containers[0], false, 0)
	if err != nil {
		t.Fatal(err)
	}
	createTime := time.Since(start)
	if err := r.StartContainer(ctx, pod.UID, id); err != nil {
		t.Fatal(err)
	}
	t.Logf("sandbox (namespaces, cgroup, shim start): %v; container create: %v, start: %v", sandboxTime, createTime, time.Since(start)-createTime)
	ids := []string{id}
	c := waitState(t, r, pod.UID, ids[0], kubelet.ContainerExited, 10*time.Second)
	if c.ExitCode != 3 || c.Reason != "Error" {
		t.Errorf("exit %d %q, want 3 Error", c.ExitCode, c.Reason)
	}
	if c.Name != "c" || c.Image != "busybox" || c.ImageID != "sha256:busybox" || c.StartedAt.IsZero() || c.FinishedAt.IsZero() {
		t.Errorf("container %+v", c)
	}
	logFile := env.cfg.LogDir + "/default_hello_" + string(pod.UID) + "/c/0.log"
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F hello$`).Match(b) {
		t.Errorf("log file %q lacks a CRI line of hello", b)
	}
	if l := logsOf(t, r, pod.UID, ids[0]); l != "hello\n" {
		t.Errorf("Logs = %q", l)
	}
	select {
	case uid := <-events:
		if uid != pod.UID {
			t.Errorf("event for %s", uid)
		}
	case <-time.After(5 * time.Second):
		t.Error("no event")
	}
}

func TestStartError(t *testing.T) {
	env := newTestEnv(t)
	r := env.start(t)
	pod := newPod("missing", corev1.Container{Name: "c", Image: "busybox", Command: []string{"/nope"}})
	ctx := context.Background()
	if _, err := r.CreateSandbox(ctx, pod, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.RemoveSandbox(context.Background(), pod.UID) })
	id, err := r.CreateContainer(ctx, pod, &pod.Spec.Containers[0], false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.StartContainer(ctx, pod.UID, id); err == nil || !strings.Contains(err.Error(), `exec: "/nope"`) {
		t.Errorf("start: %v", err)
	}
	c := waitState(t, r, pod.UID, id, kubelet.ContainerExited, time.Second)
	if c.ExitCode != 128 || c.Reason != "StartError" {
		t.Errorf("exit %d %q, want 128 StartError", c.ExitCode, c.Reason)
	}
	if err := r.RemoveContainer(ctx, pod.UID, id); err != nil {
		t.Fatal(err)
	}
	if cs, _ := r.ListContainers(ctx, pod.UID); len(cs) != 0 {
		t.Errorf("after removal: %+v", cs)
	}
}

func TestOOMKilled(t *testing.T) {
	env := newTestEnv(t)
	r := env.start(t)
	c := shC("hog", "exec dd if=/dev/zero of=/dev/null bs=64M count=1")
	c.Resources = limits("", "32Mi")
	pod := newPod("oom", c)
	ids := runPod(t, r, pod)
	got := waitState(t, r, pod.UID, ids[0], kubelet.ContainerExited, 20*time.Second)
	if got.ExitCode != 137 || got.Reason != "OOMKilled" {
		t.Errorf("exit %d %q, want 137 OOMKilled", got.ExitCode, got.Reason)
	}
}

func TestCPULimit(t *testing.T) {
	env := newTestEnv(t)
	r := env.start(t)
	c := shC("spin", "while :; do :; done")
	c.Resources = limits("200m", "")
	pod := newPod("cpu", c)
	ids := runPod(t, r, pod)
	waitState(t, r, pod.UID, ids[0], kubelet.ContainerRunning, 5*time.Second)
	dir := cgroupDirs(podCgroupPath(env.cfg.CgroupParent, pod) + "/" + ids[0])["cpu"]
	quota, err := os.ReadFile(dir + "/cpu.cfs_quota_us")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(quota)) != "20000" {
		t.Errorf("cpu.cfs_quota_us = %s, want 20000", quota)
	}
	shares, _ := os.ReadFile(dir + "/cpu.shares")
	if strings.TrimSpace(string(shares)) != "204" {
		t.Errorf("cpu.shares = %s, want 204", shares)
	}
	ctx := context.Background()
	first, err := r.Stats(ctx, pod.UID)
	if err != nil || len(first.Containers) != 1 {
		t.Fatalf("stats %+v %v", first, err)
	}
	time.Sleep(3 * time.Second)
	second, err := r.Stats(ctx, pod.UID)
	if err != nil || len(second.Containers) != 1 {
		t.Fatalf("stats %+v %v", second, err)
	}
	used := float64(second.Containers[0].CPUUsageCoreNanoSec-first.Containers[0].CPUUsageCoreNanoSec) / float64(second.Time.Sub(first.Time).Nanoseconds())
	t.Logf("CPU used: %.3f cores (limit 0.2); nanocores %d; working set %d", used, second.Containers[0].CPUUsageNanoCores, second.Containers[0].MemoryWorkingSet)
	if used > 0.25 {
		t.Errorf("container used %.3f CPUs with a 200m limit", used)
	}
	if used < 0.05 {
		t.Errorf("container used %.3f CPUs: is it running?", used)
	}
	if second.Containers[0].MemoryWorkingSet == 0 {
		t.Error("no memory working set")
	}
}

func TestStop(t *testing.T) {
	env := newTestEnv(t)
	r := env.start(t)
	pod := newPod("stop",
		shC("polite", "trap 'echo got TERM; exit 0' TERM; echo ready; while :; do sleep 0.1; done"),
		shC("stubborn", "trap '' TERM; echo ready; while :; do sleep 0.1; done"),
		corev1.Container{Name: "quitter", Image: "busybox-quit", Command: []string{"sh", "-c", "trap 'echo got QUIT; exit 0' QUIT; trap 'echo got TERM; exit 1' TERM; echo ready; while :; do sleep 0.1; done"}},
	)
	ids := runPod(t, r, pod)
	ctx := context.Background()
	for _, id := range ids {
		waitLog(t, r, pod.UID, id, "ready", 5*time.Second)
	}
	start := time.Now()
	if err := r.StopContainer(ctx, pod.UID, ids[0], 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := r.StopContainer(ctx, pod.UID, ids[1], time.Second); err != nil {
		t.Fatal(err)
	}
	polite := waitState(t, r, pod.UID, ids[0], kubelet.ContainerExited, 5*time.Second)
	if polite.ExitCode != 0 || polite.Reason != "Completed" {
		t.Errorf("polite exit %d %q", polite.ExitCode, polite.Reason)
	}
	if l := logsOf(t, r, pod.UID, ids[0]); !strings.Contains(l, "got TERM") {
		t.Errorf("polite log %q", l)
	}
	stubborn := waitState(t, r, pod.UID, ids[1], kubelet.ContainerExited, 10*time.Second)
	if stubborn.ExitCode != 137 || stubborn.Reason != "Error" {
		t.Errorf("stubborn exit %d %q, want 137", stubborn.ExitCode, stubborn.Reason)
	}
	if d := stubborn.FinishedAt.Sub(start); d < 900*time.Millisecond {
		t.Errorf("stubborn killed after %v, before its grace period", d)
	}
	// The image's STOPSIGNAL.
	if err := r.StopContainer(ctx, pod.UID, ids[2], 10*time.Second); err != nil {
		t.Fatal(err)
	}
	quitter := waitState(t, r, pod.UID, ids[2], kubelet.ContainerExited, 5*time.Second)
	if l := logsOf(t, r, pod.UID, ids[2]); quitter.ExitCode != 0 || !strings.Contains(l, "got QUIT") {
		t.Errorf("STOPSIGNAL SIGQUIT: exit %d, log %q", quitter.ExitCode, l)
	}
}

func TestExec(t *testing.T) {
	env := newTestEnv(t)
	r := env.start(t)
	pod := newPod("exec", shC("c", "sleep 3600"))
	pod.Spec.Hostname = "myhost"
	ids := runPod(t, r, pod)
	waitState(t, r, pod.UID, ids[0], kubelet.ContainerRunning, 5*time.Second)
	ctx := context.Background()
	var out, errb strings.Builder
	code, err := r.Exec(ctx, pod.UID, ids[0], []string{"cat", "/etc/hostname"}, nil, &out, &errb)
	if err != nil || code != 0 || out.String() != "myhost\n" {
		t.Errorf("cat /etc/hostname: %d %v %q %q", code, err, out.String(), errb.String())
	}
	out.Reset()
	code, err = r.Exec(ctx, pod.UID, ids[0], []string{"hostname"}, nil, &out, &errb)
	if err != nil || code != 0 || out.String() != "myhost\n" {
		t.Errorf("hostname: %d %v %q", code, err, out.String())
	}
	code, err = r.Exec(ctx, pod.UID, ids[0], []string{"sh", "-c", "echo oops >&2; exit 7"}, nil, &out, &errb)
	if err != nil || code != 7 || errb.String() != "oops\n" {
		t.Errorf("exit 7: %d %v %q", code, err, errb.String())
	}
	out.Reset()
	code, err = r.Exec(ctx, pod.UID, ids[0], []string{"cat"}, strings.NewReader("from stdin"), &out, &errb)
	if err != nil || code != 0 || out.String() != "from stdin" {
		t.Errorf("cat stdin: %d %v %q", code, err, out.String())
	}
	out.Reset()
	code, err = r.ExecStream(ctx, pod.UID, ids[0], []string{"sh", "-c", "tty; stty size"}, true, nil, &out, nil, nil)
	if err != nil || code != 0 || !strings.Contains(out.String(), "/dev/pts/") {
		t.Errorf("tty: %d %v %q", code, err, out.String())
	}
	// A tty with a size, resized.
	out.Reset()
	resize := make(chan [2]uint16, 1)
	resize <- [2]uint16{100, 40}
	pr, pw := io.Pipe()
	go func() {
		time.Sleep(300 * time.Millisecond)
		pw.Write([]byte("stty size; exit 5\n"))
	}()
	code, err = r.ExecStream(ctx, pod.UID, ids[0], []string{"sh"}, true, pr, &out, nil, resize)
	if err != nil || code != 5 || !strings.Contains(out.String(), "40 100") {
		t.Errorf("tty resize: %d %v %q", code, err, out.String())
	}
	// A cancelled exec kills its process.
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = r.Exec(cctx, pod.UID, ids[0], []string{"sleep", "100"}, nil, nil, nil)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("cancelled exec: %v after %v", err, time.Since(start))
	}
	time.Sleep(200 * time.Millisecond)
	out.Reset()
	r.Exec(ctx, pod.UID, ids[0], []string{"ps"}, nil, &out, nil)
	if strings.Contains(out.String(), "sleep 100") {
		t.Errorf("the cancelled exec's process is still there: %s", out.String())
	}
}

func TestRunAsNonRootAndUser(t *testing.T) {
	env := newTestEnv(t)
	r := env.start(t)
	yes := true
	uid := int64(1000)
	root := shC("root", "id")
	root.SecurityContext = &corev1.SecurityContext{RunAsNonRoot: &yes}
	user := shC("user", "id -u; id -G")
	user.SecurityContext = &corev1.SecurityContext{RunAsUser: &uid}
	named := corev1.Container{Name: "named", Image: "busybox-user", Command: []string{"id"}}
	pod := newPod("users", user, named)
	fsGroup := int64(2000)
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: &fsGroup}
	ids := runPod(t, r, pod)
	waitState(t, r, pod.UID, ids[0], kubelet.ContainerExited, 5*time.Second)
	waitState(t, r, pod.UID, ids[1], kubelet.ContainerExited, 5*time.Second)
	if l := logsOf(t, r, pod.UID, ids[0]); l != "1000\n1000 2000 3000\n" {
		t.Errorf("runAsUser 1000: %q", l)
	}
	if l := logsOf(t, r, pod.UID, ids[1]); !strings.HasPrefix(l, "uid=1000(user) gid=1000(user)") {
		t.Errorf("USER user: %q", l)
	}
	_, err := r.CreateContainer(context.Background(), pod, &root, false, 0)
	want := `container has runAsNonRoot and image will run as root (pod: "users_default(` + string(pod.UID) + `)", container: root)`
	var ce *kubelet.ConfigError
	if err == nil || err.Error() != want || !errors.As(err, &ce) {
		t.Errorf("runAsNonRoot root image: %v, want %s", err, want)
	}
}

func TestFilesystems(t *testing.T) {
	env := newTestEnv(t)
	r := env.start(t)
	vol := t.TempDir()
	os.WriteFile(vol+"/data", []byte("vol\n"), 0o644)
	os.MkdirAll(vol+"/sub", 0o755)
	os.WriteFile(vol+"/sub/f", []byte("in sub\n"), 0o644)
	env.volumes["v"] = vol
	yes := true
	ro := shC("ro", "touch /x && echo rootfs writable || echo rootfs readonly; echo hi > /tmp/y || echo tmp readonly")
	ro.SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: &yes}
	rw := shC("rw", "touch /x && echo rootfs writable; cat /data/data; touch /data/new && echo vol writable || echo vol readonly; cat /sub/f; echo w > /rwvol/written; ls /dev/termination-log")
	rw.VolumeMounts = []corev1.VolumeMount{
		{Name: "v", MountPath: "/data", ReadOnly: true},
		{Name: "v", MountPath: "/sub", SubPath: "sub"},
		{Name: "v", MountPath: "/rwvol"},
	}
	pod := newPod("fs", ro, rw)
	ids := runPod(t, r, pod)
	waitState(t, r, pod.UID, ids[0], kubelet.ContainerExited, 5*time.Second)
	waitState(t, r, pod.UID, ids[1], kubelet.ContainerExited, 5*time.Second)
	if l := logsOf(t, r, pod.UID, ids[0]); !strings.Contains(l, "rootfs readonly") || !strings.Contains(l, "tmp readonly") {
		t.Errorf("readOnlyRootFilesystem: %q", l)
	}
	l := logsOf(t, r, pod.UID, ids[1])
	for _, want := range []string{"rootfs writable", "vol\n", "vol readonly", "in sub", "/dev/termination-log"} {
		if !strings.Contains(l, want) {
			t.Errorf("volumes: log %q lacks %q", l, want)
		}
	}
	if b, err := os.ReadFile(vol + "/written"); err != nil || string(b) != "w\n" {
		t.Errorf("write to a volume: %q %v", b, err)
	}
}

func TestSharedNetworkAndShm(t *testing.T) {
	env := newTestEnv(t)
	r := env.start(t)
	pod := newPod("shared",
		shC("server", "echo shared > /dev/shm/x; nc -l -p 8080"),
		shC("client", "cat /dev/shm/x; for i in $(seq 100); do echo ping | nc 127.0.0.1 8080 && break; sleep 0.1; done"),
	)
	ids := runPod(t, r, pod)
	waitLog(t, r, pod.UID, ids[0], "ping", 10*time.Second)
	waitLog(t, r, pod.UID, ids[1], "shared", 5*time.Second)
}

func TestSharedProcessNamespace(t *testing.T) {
	env := newTestEnv(t)
	r := env.start(t)
	yes := true
	pod := newPod("sharepid", shC("a", "exec sleep 3601"), shC("b", "sleep 3602"))
	pod.Spec.ShareProcessNamespace = &yes
	ids := runPod(t, r, pod)
	waitState(t, r, pod.UID, ids[1], kubelet.ContainerRunning, 5*time.Second)
	var out strings.Builder
	deadline := time.Now().Add(5 * time.Second)
	for {
		out.Reset()
		if _, err := r.Exec(context.Background(), pod.UID, ids[1], []string{"ps"}, nil, &out, nil); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), "sleep 3601") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "sleep 3601") || !strings.Contains(out.String(), "pidns-init") {
		t.Errorf("b does not see a's process and the namespace's holder: %s", out.String())
	}
	if err := r.StopContainer(context.Background(), pod.UID, ids[0], time.Second); err != nil {
		t.Fatal(err)
	}
	got := waitState(t, r, pod.UID, ids[0], kubelet.ContainerExited, 5*time.Second)
	if got.ExitCode != 143 {
		t.Errorf("a, not PID 1, killed by SIGTERM: exit %d, want 143", got.ExitCode)
	}
}

func TestRemoveSandboxLeavesNothing(t *testing.T) {
	env := newTestEnv(t)
	r := env.start(t)
	ctx := context.Background()
	pod := newPod("gone", shC("a", "sleep 3600"), shC("b", "sleep 3600"))
	c := pod.Spec.Containers[0]
	c.Resources = limits("100m", "64Mi")
	pod.Spec.Containers[0] = c
	if _, err := r.CreateSandbox(ctx, pod, nil); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for i := range pod.Spec.Containers {
		id, err := r.CreateContainer(ctx, pod, &pod.Spec.Containers[i], false, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.StartContainer(ctx, pod.UID, id); err != nil {
			t.Fatal(err)
		}
		pid, err := r.ContainerPid(ctx, pod.UID, id)
		if err != nil || pid <= 0 {
			t.Fatalf("pid %d %v", pid, err)
		}
		pids = append(pids, pid)
	}
	shimPid := readPid(r.podDir(pod.UID) + "/shim.pid")
	if shimPid <= 0 {
		t.Fatal("no shim pid")
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", shimPid)); err == nil {
		for _, line := range strings.Split(string(st), "\n") {
			if strings.HasPrefix(line, "VmRSS:") {
				t.Logf("shim with two running containers: %s", strings.Join(strings.Fields(line), " "))
			}
		}
	}
	cgroupPath := podCgroupPath(env.cfg.CgroupParent, pod)
	dirs := cgroupDirs(cgroupPath)
	if _, err := os.Stat(dirs["memory"]); err != nil {
		t.Fatalf("pod cgroup: %v", err)
	}
	if err := r.RemoveSandbox(ctx, pod.UID); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveSandbox(ctx, pod.UID); err != nil {
		t.Errorf("second RemoveSandbox: %v", err)
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), env.cfg.Dir) {
		t.Errorf("mounts left under %s:\n%s", env.cfg.Dir, mi)
	}
	for name, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s left: %s", name, d)
		}
	}
	for _, pid := range append(pids, shimPid) {
		if err := unix.Kill(pid, 0); err == nil {
			st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			t.Errorf("process %d left: %s", pid, st)
		}
	}
	if _, err := os.Stat(r.podDir(pod.UID)); err == nil {
		t.Error("pod directory left")
	}
}

// fakeNetwork records Setup, SetHostPorts and Teardown and gives out one IP.
type fakeNetwork struct {
	setups, teardowns []string
	hostPorts         map[string][]HostPort
}

func (f *fakeNetwork) SetHostPorts(ctx context.Context, uid string, ports []HostPort) error {
	if f.hostPorts == nil {
		f.hostPorts = map[string][]HostPort{}
	}
	f.hostPorts[uid] = ports
	return nil
}

func (f *fakeNetwork) Setup(ctx context.Context, uid, netns string) ([]string, error) {
	if _, err := os.Stat(netns); err != nil {
		return nil, err
	}
	f.setups = append(f.setups, uid)
	return []string{"10.42.0.9"}, nil
}

func (f *fakeNetwork) Teardown(ctx context.Context, uid, netns string) error {
	f.teardowns = append(f.teardowns, uid)
	return nil
}

func TestNetworkAndHostNetwork(t *testing.T) {
	env := newTestEnv(t)
	nw := &fakeNetwork{}
	env.cfg.Network = nw
	env.cfg.NodeIP = "192.0.2.10"
	r := env.start(t)
	ctx := context.Background()

	pod := newPod("net", shC("c", "cat /etc/hosts; hostname"))
	sb, err := r.CreateSandbox(ctx, pod, []string{"10.42.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sb.IPs) != 1 || sb.IPs[0] != "10.42.0.9" || len(nw.setups) != 1 {
		t.Errorf("sandbox IPs %v, setups %v", sb.IPs, nw.setups)
	}
	if again, err := r.CreateSandbox(ctx, pod, nil); err != nil || len(again.IPs) != 1 || len(nw.setups) != 1 {
		t.Errorf("second CreateSandbox: %v %v (setups %v)", again, err, nw.setups)
	}
	id, err := r.CreateContainer(ctx, pod, &pod.Spec.Containers[0], false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.StartContainer(ctx, pod.UID, id); err != nil {
		t.Fatal(err)
	}
	waitState(t, r, pod.UID, id, kubelet.ContainerExited, 5*time.Second)
	if l := logsOf(t, r, pod.UID, id); !strings.Contains(l, "10.42.0.9\tnet\n") || !strings.HasSuffix(l, "\nnet\n") {
		t.Errorf("hosts and hostname: %q", l)
	}
	if err := r.RemoveSandbox(ctx, pod.UID); err != nil {
		t.Fatal(err)
	}
	if len(nw.teardowns) != 1 {
		t.Errorf("teardowns %v", nw.teardowns)
	}
	if len(nw.hostPorts) != 0 {
		t.Errorf("a pod without hostPorts had some set: %v", nw.hostPorts)
	}

	// A pod with hostPorts has them set, from init and app containers, after Setup.
	hp := newPod("hostports", shC("c", "true"))
	hp.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80}, {ContainerPort: 8080, HostPort: 18080},
		{ContainerPort: 53, HostPort: 53, Protocol: corev1.ProtocolUDP, HostIP: "192.0.2.10"}}
	hp.Spec.InitContainers = []corev1.Container{{Name: "init", Ports: []corev1.ContainerPort{{ContainerPort: 9, HostPort: 9}}}}
	if _, err := r.CreateSandbox(ctx, hp, nil); err != nil {
		t.Fatal(err)
	}
	want := []HostPort{{HostPort: 9, ContainerPort: 9}, {HostPort: 18080, ContainerPort: 8080},
		{Protocol: corev1.ProtocolUDP, HostIP: "192.0.2.10", HostPort: 53, ContainerPort: 53}}
	if got := nw.hostPorts[string(hp.UID)]; !slices.Equal(got, want) {
		t.Errorf("hostPorts %v, want %v", got, want)
	}
	if err := r.RemoveSandbox(ctx, hp.UID); err != nil {
		t.Fatal(err)
	}

	host := newPod("hostnet", shC("c", "hostname"))
	host.Spec.HostNetwork = true
	ids := runPod(t, r, host)
	sb2, _ := r.CreateSandbox(ctx, host, nil)
	if len(sb2.IPs) != 1 || sb2.IPs[0] != "192.0.2.10" {
		t.Errorf("hostNetwork IPs %v", sb2.IPs)
	}
	waitState(t, r, host.UID, ids[0], kubelet.ContainerExited, 5*time.Second)
	h, _ := os.Hostname()
	if l := logsOf(t, r, host.UID, ids[0]); l != h+"\n" {
		t.Errorf("hostNetwork hostname %q, want the node's %q", l, h)
	}
	if len(nw.setups) != 2 {
		t.Errorf("hostNetwork pod had network setup: %v", nw.setups)
	}
}

func TestPortForward(t *testing.T) {
	env := newTestEnv(t)
	r := env.start(t)
	pod := newPod("pf", shC("server", "echo pong | nc -l -p 8080"))
	ids := runPod(t, r, pod)
	waitState(t, r, pod.UID, ids[0], kubelet.ContainerRunning, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got string
	for attempt := 0; ; attempt++ {
		local, remote := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- r.PortForward(ctx, pod.UID, 8080, remote) }()
		local.SetDeadline(time.Now().Add(5 * time.Second))
		go local.Write([]byte("ping\n"))
		buf := make([]byte, 64)
		n, rerr := io.ReadAtLeast(local, buf, 5)
		got = string(buf[:n])
		local.Close()
		err := <-done
		if rerr == nil || attempt == 50 {
			if rerr != nil {
				t.Fatalf("port forward: %v %v", rerr, err)
			}
			break
		}
		time.Sleep(100 * time.Millisecond) // not listening yet
	}
	if got != "pong\n" {
		t.Errorf("read %q through the forward", got)
	}
}

// syncWriter is a writer tests read while it is written.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestAttach(t *testing.T) {
	env := newTestEnv(t)
	r := env.start(t)
	ctx := context.Background()

	// stdin with stdinOnce: the attached input reaches the container, and its end closes the
	// container's stdin.
	reader := shC("reader", "read line; echo got $line; read rest || echo stdin closed; exit 4")
	reader.Stdin, reader.StdinOnce = true, true
	// A terminal: the shell reads commands from it, and everything comes back on stdout.
	term := corev1.Container{Name: "term", Image: "busybox", Command: []string{"sh"}, Stdin: true, TTY: true}
	// No stdin: an attach only follows the output.
	ticker := shC("ticker", "while true; do echo tick; sleep 0.1; done")
	pod := newPod("attach", reader, term, ticker)
	ids := runPod(t, r, pod)
	for _, id := range ids {
		waitState(t, r, pod.UID, id, kubelet.ContainerRunning, 5*time.Second)
	}

	var out, errb syncWriter
	if err := r.AttachStream(ctx, pod.UID, ids[0], strings.NewReader("hello\n"), &out, &errb, nil); err != nil {
		t.Fatalf("attach to reader: %v", err)
	}
	if got := out.String(); got != "got hello\nstdin closed\n" {
		t.Errorf("reader's attached output %q", got)
	}
	if st := waitState(t, r, pod.UID, ids[0], kubelet.ContainerExited, 5*time.Second); st.ExitCode != 4 {
		t.Errorf("reader exit code %d", st.ExitCode)
	}
	if l := logsOf(t, r, pod.UID, ids[0]); !strings.Contains(l, "got hello") {
		t.Errorf("reader's log %q", l)
	}

	var tout syncWriter
	resize := make(chan [2]uint16, 1)
	resize <- [2]uint16{120, 33}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- r.AttachStream(ctx, pod.UID, ids[1], pr, &tout, nil, resize) }()
	deadline := time.Now().Add(10 * time.Second)
	// The resize and the shell's first read race with our input: send until the answer comes.
	for !strings.Contains(tout.String(), "size 33 120") && time.Now().Before(deadline) {
		pw.Write([]byte("echo size $(stty size)\n"))
		time.Sleep(200 * time.Millisecond)
	}
	pw.Write([]byte("exit 3\n"))
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("attach to terminal: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("attach to the terminal did not end when its shell exited")
	}
	if !strings.Contains(tout.String(), "size 33 120") {
		t.Errorf("terminal output %q", tout.String())
	}
	if st := waitState(t, r, pod.UID, ids[1], kubelet.ContainerExited, 5*time.Second); st.ExitCode != 3 {
		t.Errorf("terminal shell exit code %d", st.ExitCode)
	}

	// Detaching (ctx ends) leaves the container running.
	var tick syncWriter
	actx, cancel := context.WithCancel(ctx)
	go func() {
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(tick.String(), "tick") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	}()
	if err := r.AttachStream(actx, pod.UID, ids[2], nil, &tick, nil, nil); err != nil {
		t.Errorf("detach: %v", err)
	}
	if !strings.Contains(tick.String(), "tick") {
		t.Errorf("the attached client saw no output within 10 s: %q", tick.String())
	}
	waitState(t, r, pod.UID, ids[2], kubelet.ContainerRunning, time.Second)
	// An exited container cannot be attached to.
	if err := r.AttachStream(ctx, pod.UID, ids[0], nil, &out, nil, nil); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("attach to an exited container: %v", err)
	}
}

// TestStopSandboxKeepsLogs: a finished pod's stopped sandbox keeps its containers' records and
// logs, across a new runtime on the same directories, until RemoveSandbox.
func TestStopSandboxKeepsLogs(t *testing.T) {
	env := newTestEnv(t)
	r := env.start(t)
	ctx := context.Background()
	pod := newPod("done", shC("c", "echo finished; exit 2"))
	ids := runPod(t, r, pod)
	waitState(t, r, pod.UID, ids[0], kubelet.ContainerExited, 5*time.Second)
	if err := r.StopSandbox(ctx, pod.UID); err != nil {
		t.Fatal(err)
	}
	check := func(r *Runtime, when string) {
		cs, err := r.ListContainers(ctx, pod.UID)
		if err != nil || len(cs) != 1 || cs[0].ID != ids[0] || cs[0].State != kubelet.ContainerExited || cs[0].ExitCode != 2 || cs[0].Name != "c" {
			t.Fatalf("%s: containers %+v %v", when, cs, err)
		}
		if l := logsOf(t, r, pod.UID, ids[0]); !strings.Contains(l, "finished") {
			t.Errorf("%s: log %q", when, l)
		}
		if uids, _ := r.ListSandboxes(ctx); !slices.Contains(uids, pod.UID) {
			t.Errorf("%s: sandboxes %v lack the stopped pod", when, uids)
		}
	}
	check(r, "stopped")
	if _, err := os.Stat(r.podDir(pod.UID)); !os.IsNotExist(err) {
		t.Errorf("the stopped pod's runtime directory is still there: %v", err)
	}
	r.Close()
	r2 := env.start(t)
	check(r2, "after a restart")
	if err := r2.RemoveSandbox(ctx, pod.UID); err != nil {
		t.Fatal(err)
	}
	if cs, _ := r2.ListContainers(ctx, pod.UID); len(cs) != 0 {
		t.Errorf("after RemoveSandbox: %+v", cs)
	}
	if _, err := os.Stat(r2.podLogDir(podMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID})); !os.IsNotExist(err) {
		t.Errorf("the pod's logs are still there: %v", err)
	}
}
