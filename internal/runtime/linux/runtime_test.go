package linux

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

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
	start := time.Now()
	ids := runPod(t, r, pod)
	t.Logf("create+start of sandbox and container: %v", time.Since(start))
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
	_ = context.Background
	_ = strings.Contains
}
