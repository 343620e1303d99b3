package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/console"

	"github.com/skiff-project/skiff/test/images"
)

// startRealNode starts `skiff server` with its local node agent (in the test's own network
// namespace, see isolate), waits for the node to be Ready, and returns the server and a
// loopback registry holding the busybox image as ref.
func startRealNode(t *testing.T, node string) (s *server, busyboxRef string) {
	t.Helper()
	if !images.EnsureBusybox(context.Background()) {
		t.Skip("needs /bin/busybox")
	}
	bb, err := images.Busybox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reg := images.StartRegistry(t, "", "")
	busyboxRef = reg.Push(t, "busybox:v1", bb)
	s = startServerArgs(t, []string{"--node-name", node, "--node-ip", e2eNodeIP})
	t.Cleanup(func() { cleanupNode(s.dataDir, node) })
	s.eventually(30*time.Second, func() string {
		out, _, _ := s.kubectl("get", "node", node, "--no-headers")
		if strings.Contains(out, " Ready ") {
			return ""
		}
		return "node: " + out
	})
	return s, busyboxRef
}

// TestStreamingVerbs: kubectl run -i --rm, attach, exec -it on a terminal, logs -f and
// logs --previous, and describe's events, against real containers.
func TestStreamingVerbs(t *testing.T) {
	if isolate(t) {
		return
	}
	s, bb := startRealNode(t, "e2e-streams")

	// kubectl run -i: kubectl attaches to the container's stdin (stdinOnce), the container
	// reads what kubectl was given, and --rm deletes the pod when it ends.
	out, errOut, code := s.kubectlStdin("hello\n", "run", "reader", "-i", "--rm", "--restart=Never", "--image="+bb,
		"--", "sh", "-c", "read line; echo got $line")
	if code != 0 || !strings.Contains(out, "got hello") || !strings.Contains(out, `pod "reader" deleted`) {
		t.Fatalf("kubectl run -i --rm: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}

	// A long-running container to attach to, exec into and follow the logs of.
	s.ok("run", "ticker", "--image="+bb, "--", "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done")
	s.eventually(30*time.Second, func() string {
		if out, _, _ := s.kubectl("get", "pod", "ticker", "-o", "jsonpath={.status.phase}"); out != "Running" {
			return "phase " + out
		}
		return ""
	})
	attach := s.background("attach", "ticker")
	follow := s.background("logs", "-f", "ticker")
	s.eventually(15*time.Second, func() string {
		if !strings.Contains(attach.String(), "tick") {
			return "kubectl attach printed: " + attach.String()
		}
		if strings.Count(follow.String(), "tick") < 3 {
			return "kubectl logs -f printed: " + follow.String()
		}
		return ""
	})

	// exec -it with kubectl on a terminal: the shell gets a terminal of kubectl's size.
	out, code = execOnTerminal(t, s, "stty size; tty; exit 7\n", "exec", "-it", "ticker", "--", "sh")
	if code != 7 || !strings.Contains(out, "40 100") || !strings.Contains(out, "/dev/pts/") {
		t.Errorf("kubectl exec -it: exit %d, terminal showed:\n%s", code, out)
	}

	// kubectl cp, both ways (tar through exec).
	dir := t.TempDir()
	src := filepath.Join(dir, "in.txt")
	_ = os.WriteFile(src, []byte("copied in\n"), 0o644)
	s.ok("cp", src, "ticker:/tmp/in.txt")
	if out := s.ok("exec", "ticker", "--", "cat", "/tmp/in.txt"); out != "copied in\n" {
		t.Errorf("after kubectl cp in: %q", out)
	}
	s.ok("exec", "ticker", "--", "sh", "-c", "mkdir -p /tmp/out/sub && echo deep > /tmp/out/sub/f")
	s.ok("cp", "ticker:/tmp/out", filepath.Join(dir, "out"))
	if b, err := os.ReadFile(filepath.Join(dir, "out", "sub", "f")); err != nil || string(b) != "deep\n" {
		t.Errorf("after kubectl cp out: %q %v", b, err)
	}

	// logs --previous: the container before the last restart.
	s.ok("run", "crasher", "--image="+bb, "--", "sh", "-c", "echo attempt $(cat /proc/uptime); sleep 0.3; exit 1")
	s.eventually(60*time.Second, func() string {
		if out, _, _ := s.kubectl("get", "pod", "crasher", "-o", "jsonpath={.status.containerStatuses[0].restartCount}"); out == "" || out == "0" {
			return "restartCount " + out
		}
		return ""
	})
	prev := s.ok("logs", "crasher", "--previous")
	if !strings.HasPrefix(prev, "attempt ") {
		t.Errorf("kubectl logs --previous: %q", prev)
	}
	// describe shows the last termination and upstream's events, the back-off among them once
	// the container has crashed again.
	s.eventually(60*time.Second, func() string {
		desc := s.ok("describe", "pod", "crasher")
		for _, want := range []string{`Last State:\s+Terminated`, `Reason:\s+Error`, `Exit Code:\s+1`, `Restart Count:\s+[1-9]`,
			`Normal\s+Scheduled\s.*Successfully assigned default/crasher to e2e-streams`,
			`Normal\s+Pulled\s.*Container image ".*busybox:v1" already present on machine and can be accessed by the pod`,
			`Normal\s+Created\s.*Container created`, `Normal\s+Started\s.*Container started`,
			`Warning\s+BackOff\s.*Back-off restarting failed container crasher in pod crasher_default`} {
			if !regexp.MustCompile(want).MatchString(desc) {
				return "describe pod crasher lacks " + want + ":\n" + desc
			}
		}
		return ""
	})
}

// execOnTerminal runs kubectl with args on a new pseudo-terminal of 40 rows by 100 columns,
// types input, and returns what the terminal showed and kubectl's exit code.
func execOnTerminal(t *testing.T, s *server, input string, args ...string) (string, int) {
	t.Helper()
	master, slavePath, err := console.NewPty()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if err := master.Resize(console.WinSize{Height: 40, Width: 100}); err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", s.kubeconfig(), "--cache-dir", s.cache}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		slave.Close()
		t.Fatal(err)
	}
	slave.Close()
	var shown syncBuffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			shown.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	// Type once the remote shell has printed its prompt.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(shown.String(), "# ") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := master.Write([]byte(input)); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("kubectl %v: %v", args, err)
	}
	select {
	case <-readDone:
	case <-time.After(2 * time.Second):
	}
	return shown.String(), code
}
