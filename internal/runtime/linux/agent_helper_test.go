package linux

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/kubelet"
)

// agentHelperEnv makes the test binary an "agent": it creates a pod with a ticking container,
// prints "ready <container ID> <pid>" and waits to be killed.
const agentHelperEnv = "SKIFF_LINUX_TEST_AGENT"

type helperConfig struct {
	Dir, LogDir, CgroupParent, ShimPath, Rootfs string
	PodUID                                      types.UID
}

const tickScript = "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done"

func agentHelper(cfgJSON string) int {
	var hc helperConfig
	if err := json.Unmarshal([]byte(cfgJSON), &hc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	r, err := New(Config{Dir: hc.Dir, LogDir: hc.LogDir, CgroupParent: hc.CgroupParent, ShimPath: hc.ShimPath,
		Images: &dirImages{images: map[string]dirImage{"busybox": {dir: hc.Rootfs}}}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pod := newPod("agent-killed", shC("ticker", tickScript))
	pod.UID = hc.PodUID
	ctx := context.Background()
	if _, err := r.CreateSandbox(ctx, pod, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	id, err := r.CreateContainer(ctx, pod, &pod.Spec.Containers[0], false, 0)
	if err == nil {
		err = r.StartContainer(ctx, pod.UID, id)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pid, _ := r.ContainerPid(ctx, pod.UID, id)
	fmt.Printf("ready %s %d\n", id, pid)
	select {}
}

// lineCount counts the container's log lines.
func lineCount(t *testing.T, r *Runtime, uid types.UID, id string) int {
	return strings.Count(logsOf(t, r, uid, id), "\n")
}

func waitMoreLines(t *testing.T, r *Runtime, uid types.UID, id string, than int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for lineCount(t, r, uid, id) <= than+2 {
		if time.Now().After(deadline) {
			t.Fatalf("the log stopped at %d lines", than)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAgentRestartKeepsContainers(t *testing.T) {
	env := newTestEnv(t)
	r1 := env.start(t)
	pod := newPod("survivor", shC("ticker", tickScript))
	ids := runPod(t, r1, pod) // removed at the end through r1's map... and r2's (idempotent)
	ctx := context.Background()
	waitLog(t, r1, pod.UID, ids[0], "tick 2", 5*time.Second)
	pid1, err := r1.ContainerPid(ctx, pod.UID, ids[0])
	if err != nil {
		t.Fatal(err)
	}

	// The agent goes away without shutting anything down, and a new one starts on the same Dir.
	r2, err := New(env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r2.Close)
	events := make(chan types.UID, 16)
	r2.SetEventHandler(func(uid types.UID, _ time.Time) {
		select {
		case events <- uid:
		default:
		}
	})
	cs, err := r2.ListContainers(ctx, pod.UID)
	if err != nil || len(cs) != 1 || cs[0].ID != ids[0] || cs[0].State != kubelet.ContainerRunning || cs[0].Name != "ticker" {
		t.Fatalf("after restart: %+v %v", cs, err)
	}
	pid2, _ := r2.ContainerPid(ctx, pod.UID, ids[0])
	if pid2 != pid1 {
		t.Errorf("pid %d after restart, was %d", pid2, pid1)
	}
	waitMoreLines(t, r2, pod.UID, ids[0], lineCount(t, r2, pod.UID, ids[0]))
	if err := r2.StopContainer(ctx, pod.UID, ids[0], 0); err != nil {
		t.Fatal(err)
	}
	got := waitState(t, r2, pod.UID, ids[0], kubelet.ContainerExited, 5*time.Second)
	if got.ExitCode != 137 {
		t.Errorf("exit %d", got.ExitCode)
	}
	select {
	case <-events:
	case <-time.After(5 * time.Second):
		t.Error("the new runtime was not told of the exit")
	}
	if err := r2.RemoveSandbox(ctx, pod.UID); err != nil {
		t.Fatal(err)
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), env.cfg.Dir) {
		t.Errorf("mounts left after removal by the new runtime")
	}
}

func TestAgentProcessKilled(t *testing.T) {
	env := newTestEnv(t)
	_, rootfs := buildFixtures(t)
	hc := helperConfig{Dir: env.cfg.Dir, LogDir: env.cfg.LogDir, CgroupParent: env.cfg.CgroupParent,
		ShimPath: env.cfg.ShimPath, Rootfs: rootfs, PodUID: newPod("x").UID}
	b, _ := json.Marshal(hc)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), agentHelperEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("agent helper: %v", err)
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "ready" {
		t.Fatalf("agent helper said %q", line)
	}
	id := f[1]
	pid, _ := strconv.Atoi(f[2])
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	r := env.start(t)
	ctx := context.Background()
	t.Cleanup(func() {
		if err := r.RemoveSandbox(context.Background(), hc.PodUID); err != nil {
			t.Errorf("RemoveSandbox: %v", err)
		}
	})
	cs, err := r.ListContainers(ctx, hc.PodUID)
	if err != nil || len(cs) != 1 || cs[0].ID != id || cs[0].State != kubelet.ContainerRunning {
		t.Fatalf("after the agent was killed: %+v %v", cs, err)
	}
	if got, _ := r.ContainerPid(ctx, hc.PodUID, id); got != pid {
		t.Errorf("pid %d, the killed agent saw %d", got, pid)
	}
	waitMoreLines(t, r, hc.PodUID, id, lineCount(t, r, hc.PodUID, id))
}

func TestShimRestartAdoptsContainers(t *testing.T) {
	env := newTestEnv(t)
	r1 := env.start(t)
	pod := newPod("orphan", shC("quiet", "exec sleep 3600"))
	ids := runPod(t, r1, pod)
	ctx := context.Background()
	pid, _ := r1.ContainerPid(ctx, pod.UID, ids[0])
	shimPid := readPid(r1.podDir(pod.UID) + "/shim.pid")
	if err := syscall.Kill(shimPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for isShim(shimPid) {
		time.Sleep(10 * time.Millisecond)
	}
	r2, err := New(env.cfg) // finds the shim gone and starts another
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r2.Close)
	if got, err := r2.ContainerPid(ctx, pod.UID, ids[0]); err != nil || got != pid {
		t.Fatalf("re-adopted pid %d %v, want %d", got, err, pid)
	}
	if err := r2.StopContainer(ctx, pod.UID, ids[0], time.Second); err != nil {
		t.Fatal(err)
	}
	got := waitState(t, r2, pod.UID, ids[0], kubelet.ContainerExited, 5*time.Second)
	if got.ExitCode != 255 || got.Reason != "Unknown" {
		t.Errorf("exit of a re-adopted container: %d %q, want 255 Unknown", got.ExitCode, got.Reason)
	}
	if err := r2.RemoveSandbox(ctx, pod.UID); err != nil {
		t.Fatal(err)
	}
	_ = corev1.Pod{}
}
