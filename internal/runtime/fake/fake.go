// Package fake is an in-memory container runtime for the kubelet: nothing runs, but pods go
// through the whole lifecycle. Sandboxes get an IP from the node's podCIDR, containers start at
// once and run until they are stopped, images are "pulled" instantly, and probes are answered
// by the runtime itself (it implements kubelet.ProbeSimulator). skiff simulate runs thousands of
// nodes on it; the kubelet's tests drive it with a fake clock.
//
// Annotations on the pod script its containers. Each key applies to every container, or, with
// the suffix ".<container name>", to that one container (which wins):
//
//	fake.skiff.dev/exit-after: "10s"         exit this long after starting (Go duration or seconds)
//	fake.skiff.dev/exit-code: "1"            the exit code of that exit (default 0)
//	fake.skiff.dev/fail-probes: "liveness"   these probes fail: liveness, readiness, startup (comma-separated)
//	fake.skiff.dev/fail-probes-from: "30s"   ... only from this long after the start (default: at once)
//	fake.skiff.dev/fail-probes-until: "20s"  ... only until this long after the start (default: forever)
//	fake.skiff.dev/sigterm-delay: "1m"       take this long to exit after SIGTERM (default 0); the
//	                                         grace period caps it, then SIGKILL (exit code 137)
//	fake.skiff.dev/memory-mib: "64"          memory working set reported by Stats
//	fake.skiff.dev/cpu-millicores: "100"     CPU usage reported by Stats
//	fake.skiff.dev/log: "line 1\nline 2"      lines the container writes to stdout when it starts
//	                                         (kept only by a runtime given WithLogDir)
//
// So a Job's pod with exit-after completes, exit-code 1 with restartPolicy Always makes a crash
// loop, and fail-probes-from on liveness makes restarts. A container stopped gracefully exits
// with code 0 (reason Completed); one killed at the end of its grace period with 137 (Error).
//
// Exec runs a few commands, so that streaming can be tested against a simulated pod; any other
// command succeeds silently:
//
//	echo ARGS...     ARGS and a newline on stdout
//	stderr ARGS...   ARGS and a newline on stderr (stdout with a terminal)
//	cat              stdin copied to stdout until it ends
//	true, false      exit 0, exit 1
//	exit N           exit N (also sh -c "exit N")
//	sleep SECONDS    wait that long, or until the exec is cancelled
//	ttysize          wait for the terminal's first size and print it as WIDTHxHEIGHT
//
// Options: WithLogDir keeps CRI log files in upstream's layout, <dir>/<namespace>_<pod>_<uid>/
// <container>/<attempt>.log, with the log annotation's lines, and makes the runtime a LogPather
// for the kubelet's streaming server; WithPortForward connects port forwarding through a dial
// function (tests dial a loopback listener). Without them logs are one line per start, from
// memory, and nothing listens in a simulated pod.
//
// Memory: a pod costs its sandbox record and one small record per container attempt; nothing
// runs in the background (scripted exits are announced to the kubelet ahead of time through the
// event handler, and states are computed from the clock when listed).
package fake

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/kubelet/crilog"
)

// AnnotationPrefix starts every scripting annotation.
const AnnotationPrefix = "fake.skiff.dev/"

// Version is the runtime's name and version, for node status.
const Version = "fake://0.1.0"

var _ kubelet.Runtime = (*Runtime)(nil)
var _ kubelet.ProbeSimulator = (*Runtime)(nil)

// Runtime is the fake runtime of one node.
type Runtime struct {
	clock  clock.PassiveClock
	logDir string
	dial   func(ctx context.Context, port int32) (net.Conn, error)

	mu      sync.Mutex
	handler func(types.UID, time.Time)
	pods    map[types.UID]*sandbox
	images  map[string]struct{}
	used    map[string]struct{} // allocated pod IPs
	seq     uint64
}

type sandbox struct {
	pod        *corev1.Pod
	ips        []string
	containers []*container
}

type container struct {
	kubelet.Container
	spec    *corev1.Container
	logPath string    // with a log dir
	exitAt  time.Time // when the running container exits (zero: never)
	code    int32
	reason  string
}

// Option configures a Runtime.
type Option func(*Runtime)

// WithLogDir keeps containers' logs as CRI log files under dir.
func WithLogDir(dir string) Option { return func(r *Runtime) { r.logDir = dir } }

// WithPortForward makes PortForward connect its stream to the connection dial returns for the
// port.
func WithPortForward(dial func(ctx context.Context, port int32) (net.Conn, error)) Option {
	return func(r *Runtime) { r.dial = dial }
}

// New returns an empty runtime reading time from clk.
func New(clk clock.PassiveClock, opts ...Option) *Runtime {
	r := &Runtime{clock: clk}
	for _, o := range opts {
		o(r)
	}
	return r
}

// SetEventHandler implements kubelet.Runtime.
func (r *Runtime) SetEventHandler(h func(uid types.UID, at time.Time)) {
	r.mu.Lock()
	r.handler = h
	r.mu.Unlock()
}

func (r *Runtime) notify(uid types.UID, at time.Time) {
	if r.handler != nil {
		r.handler(uid, at)
	}
}

// CreateSandbox implements kubelet.Runtime: one IP from each podCIDR.
func (r *Runtime) CreateSandbox(_ context.Context, pod *corev1.Pod, podCIDRs []string) (kubelet.Sandbox, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sb, ok := r.pods[pod.UID]; ok {
		return kubelet.Sandbox{IPs: sb.ips}, nil
	}
	if len(podCIDRs) == 0 {
		return kubelet.Sandbox{}, errors.New("network is not ready: the node has no podCIDR")
	}
	var ips []string
	for _, cidr := range podCIDRs {
		ip, err := r.allocate(cidr)
		if err != nil {
			for _, a := range ips {
				delete(r.used, a)
			}
			return kubelet.Sandbox{}, err
		}
		ips = append(ips, ip)
	}
	if r.pods == nil {
		r.pods = map[types.UID]*sandbox{}
	}
	r.pods[pod.UID] = &sandbox{pod: pod, ips: ips}
	return kubelet.Sandbox{IPs: ips}, nil
}

// allocate returns a free address of cidr, skipping the network address, the gateway (.1) and
// the broadcast address.
func (r *Runtime) allocate(cidr string) (string, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return "", fmt.Errorf("pod CIDR %q: %w", cidr, err)
	}
	ones, bits := n.Mask.Size()
	if bits != 32 {
		// IPv6: the low 64 bits are plenty; use a counter.
		r.seq++
		ip := make(net.IP, 16)
		copy(ip, n.IP.To16())
		binary.BigEndian.PutUint64(ip[8:], binary.BigEndian.Uint64(ip[8:])+r.seq+1)
		return ip.String(), nil
	}
	size := uint32(1) << uint(bits-ones)
	base := binary.BigEndian.Uint32(n.IP.To4())
	if r.used == nil {
		r.used = map[string]struct{}{}
	}
	for off := uint32(2); off+1 < size; off++ {
		b := make(net.IP, 4)
		binary.BigEndian.PutUint32(b, base+off)
		s := b.String()
		if _, taken := r.used[s]; !taken {
			r.used[s] = struct{}{}
			return s, nil
		}
	}
	return "", fmt.Errorf("pod CIDR %s: no free addresses", cidr)
}

// RemoveSandbox implements kubelet.Runtime.
func (r *Runtime) RemoveSandbox(_ context.Context, uid types.UID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sb, ok := r.pods[uid]; ok {
		for _, ip := range sb.ips {
			delete(r.used, ip)
		}
		delete(r.pods, uid)
	}
	return nil
}

// ImagePresent implements kubelet.Runtime.
func (r *Runtime) ImagePresent(_ context.Context, image string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.images[image]
	return ok, nil
}

// PullImage implements kubelet.Runtime; every image weighs 2 MB.
func (r *Runtime) PullImage(_ context.Context, image string, _ []corev1.Secret) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.images == nil {
		r.images = map[string]struct{}{}
	}
	r.images[image] = struct{}{}
	return 2_000_000, nil
}

// CreateContainer implements kubelet.Runtime.
func (r *Runtime) CreateContainer(_ context.Context, pod *corev1.Pod, c *corev1.Container, _ bool, attempt int32) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.pods[pod.UID]
	if !ok {
		return "", fmt.Errorf("pod %s/%s: no sandbox", pod.Namespace, pod.Name)
	}
	sb.pod = pod
	r.seq++
	id := fmt.Sprintf("fake://%s-%s-%d", shortUID(pod.UID), c.Name, r.seq)
	sb.containers = append(sb.containers, &container{spec: c, Container: kubelet.Container{
		ID: id, Name: c.Name, Attempt: attempt, Image: c.Image, ImageID: "fake://sha256:" + c.Image,
		State: kubelet.ContainerCreated, CreatedAt: r.clock.Now(),
	}})
	return id, nil
}

func shortUID(uid types.UID) string {
	s := string(uid)
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// ContainerSpec returns the container as CreateContainer was given it (for tests of what the
// kubelet passes: resolved environment, expanded command).
func (r *Runtime) ContainerSpec(uid types.UID, id string) (*corev1.Container, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, c, err := r.find(uid, id)
	if err != nil {
		return nil, false
	}
	return c.spec.DeepCopy(), true
}

func (r *Runtime) find(uid types.UID, id string) (*sandbox, *container, error) {
	sb, ok := r.pods[uid]
	if !ok {
		return nil, nil, fmt.Errorf("pod %s: no sandbox", uid)
	}
	for _, c := range sb.containers {
		if c.ID == id {
			return sb, c, nil
		}
	}
	return nil, nil, fmt.Errorf("container %s not found", id)
}

// StartContainer implements kubelet.Runtime; a scripted exit is announced at once.
func (r *Runtime) StartContainer(_ context.Context, uid types.UID, id string) error {
	r.mu.Lock()
	sb, c, err := r.find(uid, id)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	now := r.clock.Now()
	c.State, c.StartedAt = kubelet.ContainerRunning, now
	if r.logDir != "" {
		if err := r.writeLog(sb.pod, c, now); err != nil {
			r.mu.Unlock()
			return err
		}
	}
	var at time.Time
	if d, ok := script(sb.pod, c.Name, "exit-after"); ok {
		if after, err := parseDuration(d); err == nil {
			code, _ := script(sb.pod, c.Name, "exit-code")
			n, _ := strconv.Atoi(code)
			c.exitAt, c.code, c.reason = now.Add(after), int32(n), reasonFor(int32(n))
			at = c.exitAt
		}
	}
	r.mu.Unlock()
	if !at.IsZero() {
		r.notify(uid, at)
	}
	return nil
}

func reasonFor(code int32) string {
	if code == 0 {
		return "Completed"
	}
	return "Error"
}

// StopContainer implements kubelet.Runtime: the container exits after its sigterm-delay, or
// is killed when grace runs out.
func (r *Runtime) StopContainer(_ context.Context, uid types.UID, id string, grace time.Duration) error {
	r.mu.Lock()
	sb, c, err := r.find(uid, id)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	now := r.clock.Now()
	r.refresh(c, now)
	if c.State == kubelet.ContainerExited {
		r.mu.Unlock()
		return nil
	}
	if c.State == kubelet.ContainerCreated {
		c.State, c.StartedAt, c.FinishedAt, c.ExitCode, c.Reason = kubelet.ContainerExited, now, now, 0, "Completed"
		r.mu.Unlock()
		r.notify(uid, now)
		return nil
	}
	delay := time.Duration(0)
	if d, ok := script(sb.pod, c.Name, "sigterm-delay"); ok {
		delay, _ = parseDuration(d)
	}
	exitAt, code := now.Add(delay), int32(0)
	if delay > grace {
		exitAt, code = now.Add(grace), 137
	}
	if c.exitAt.IsZero() || exitAt.Before(c.exitAt) {
		c.exitAt, c.code, c.reason = exitAt, code, reasonFor(code)
	}
	at := c.exitAt
	r.refresh(c, now)
	r.mu.Unlock()
	r.notify(uid, at)
	return nil
}

// refresh moves a running container whose exit time has come to Exited.
func (r *Runtime) refresh(c *container, now time.Time) {
	if c.State == kubelet.ContainerRunning && !c.exitAt.IsZero() && !now.Before(c.exitAt) {
		c.State, c.FinishedAt, c.ExitCode, c.Reason = kubelet.ContainerExited, c.exitAt, c.code, c.reason
	}
}

// RemoveContainer implements kubelet.Runtime.
func (r *Runtime) RemoveContainer(_ context.Context, uid types.UID, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.pods[uid]
	if !ok {
		return nil
	}
	for i, c := range sb.containers {
		if c.ID == id {
			sb.containers = append(sb.containers[:i], sb.containers[i+1:]...)
			break
		}
	}
	return nil
}

// ListContainers implements kubelet.Runtime.
func (r *Runtime) ListContainers(_ context.Context, uid types.UID) ([]kubelet.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.pods[uid]
	if !ok {
		return nil, nil
	}
	now := r.clock.Now()
	out := make([]kubelet.Container, 0, len(sb.containers))
	for _, c := range sb.containers {
		r.refresh(c, now)
		out = append(out, c.Container)
	}
	return out, nil
}

// Exec implements kubelet.Runtime with the commands of the package documentation.
func (r *Runtime) Exec(ctx context.Context, uid types.UID, id string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	return r.ExecStream(ctx, uid, id, cmd, false, stdin, stdout, stderr, nil)
}

// ExecStream runs cmd as Exec does; with a terminal, stderr goes to stdout and resize gives the
// terminal's sizes (ttysize prints the first).
func (r *Runtime) ExecStream(ctx context.Context, uid types.UID, id string, cmd []string, tty bool, stdin io.Reader, stdout, stderr io.Writer, resize <-chan [2]uint16) (int, error) {
	r.mu.Lock()
	_, c, err := r.find(uid, id)
	if err == nil {
		r.refresh(c, r.clock.Now())
		if c.State != kubelet.ContainerRunning {
			err = fmt.Errorf("container %s is not running", id)
		}
	}
	r.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil || tty {
		stderr = stdout
	}
	return runCommand(ctx, cmd, stdin, stdout, stderr, resize)
}

// runCommand runs one of the fake's commands.
func runCommand(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer, resize <-chan [2]uint16) (int, error) {
	if len(cmd) == 3 && (cmd[0] == "sh" || cmd[0] == "/bin/sh") && cmd[1] == "-c" {
		cmd = strings.Fields(cmd[2])
	}
	if len(cmd) == 0 {
		return 0, errors.New("no command")
	}
	switch cmd[0] {
	case "echo":
		_, err := fmt.Fprintln(stdout, strings.Join(cmd[1:], " "))
		return 0, err
	case "stderr":
		_, err := fmt.Fprintln(stderr, strings.Join(cmd[1:], " "))
		return 0, err
	case "cat":
		if stdin == nil {
			return 0, nil
		}
		_, err := io.Copy(stdout, stdin)
		return 0, err
	case "true":
		return 0, nil
	case "false":
		return 1, nil
	case "exit":
		if len(cmd) != 2 {
			return 2, nil
		}
		n, err := strconv.Atoi(cmd[1])
		if err != nil || n < 0 || n > 255 {
			return 2, nil
		}
		return n, nil
	case "sleep":
		d := time.Duration(0)
		if len(cmd) == 2 {
			d, _ = parseDuration(cmd[1])
		}
		select {
		case <-time.After(d):
			return 0, nil
		case <-ctx.Done():
			return 137, nil
		}
	case "ttysize":
		select {
		case sz, ok := <-resize:
			if !ok {
				return 1, nil
			}
			_, err := fmt.Fprintf(stdout, "%dx%d\n", sz[0], sz[1])
			return 0, err
		case <-ctx.Done():
			return 137, nil
		}
	}
	return 0, nil
}

// writeLog writes the log file of a starting container: its log annotation's lines, a
// millisecond apart. r.mu is held.
func (r *Runtime) writeLog(pod *corev1.Pod, c *container, start time.Time) error {
	c.logPath = filepath.Join(r.logDir, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID), c.Name, fmt.Sprintf("%d.log", c.Attempt))
	if err := os.MkdirAll(filepath.Dir(c.logPath), 0o755); err != nil {
		return err
	}
	var b []byte
	if text, ok := script(pod, c.Name, "log"); ok {
		for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			b = crilog.Append(b, crilog.Line{Time: start.Add(time.Duration(i) * time.Millisecond), Stream: crilog.Stdout, Msg: []byte(line)})
		}
	}
	return os.WriteFile(c.logPath, b, 0o640)
}

// ContainerLogPath returns the container's CRI log file; only a runtime given WithLogDir keeps
// one.
func (r *Runtime) ContainerLogPath(_ context.Context, uid types.UID, id string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, c, err := r.find(uid, id)
	if err != nil {
		return "", err
	}
	if c.logPath == "" {
		return "", fmt.Errorf("container %s keeps no log file", id)
	}
	return c.logPath, nil
}

// Logs implements kubelet.Runtime: the log file's lines, or one line per start without one.
func (r *Runtime) Logs(ctx context.Context, uid types.UID, id string, since time.Time, w io.Writer) error {
	r.mu.Lock()
	_, c, err := r.find(uid, id)
	var line, path string
	if err == nil {
		path = c.logPath
		if !c.StartedAt.Before(since) {
			line = fmt.Sprintf("%s fake container %s started\n", c.StartedAt.UTC().Format(time.RFC3339Nano), c.Name)
		}
	}
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if path != "" {
		return crilog.Read(ctx, path, crilog.Options{Tail: -1, Since: since}, w)
	}
	_, err = io.WriteString(w, line)
	return err
}

// PortForward implements kubelet.Runtime through the WithPortForward dial function; without
// one, nothing listens in a simulated pod. It closes stream when it returns.
func (r *Runtime) PortForward(ctx context.Context, uid types.UID, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	r.mu.Lock()
	_, ok := r.pods[uid]
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("pod %s: no sandbox", uid)
	}
	if r.dial == nil {
		return fmt.Errorf("pod %s: nothing listens on port %d in a simulated pod", uid, port)
	}
	conn, err := r.dial(ctx, port)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The client's end closing half-closes the connection; the pod's end closing ends the
	// forwarding, whatever the client still sends (kubectl waits for the end of the data stream
	// and of the error stream before it closes its own).
	go func() {
		_, _ = io.Copy(conn, stream)
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	}()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(stream, conn)
		done <- err
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-done:
		return err
	}
}

// Stats implements kubelet.Runtime from the memory-mib and cpu-millicores annotations.
func (r *Runtime) Stats(_ context.Context, uid types.UID) (kubelet.PodStats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.pods[uid]
	if !ok {
		return kubelet.PodStats{}, fmt.Errorf("pod %s: no sandbox", uid)
	}
	now := r.clock.Now()
	st := kubelet.PodStats{Time: now}
	for _, c := range sb.containers {
		r.refresh(c, now)
		if c.State != kubelet.ContainerRunning {
			continue
		}
		cs := kubelet.ContainerStats{Name: c.Name}
		if v, ok := script(sb.pod, c.Name, "memory-mib"); ok {
			n, _ := strconv.ParseUint(v, 10, 64)
			cs.MemoryWorkingSet = n << 20
		}
		if v, ok := script(sb.pod, c.Name, "cpu-millicores"); ok {
			n, _ := strconv.ParseUint(v, 10, 64)
			cs.CPUUsageNanoCores = n * 1_000_000
			cs.CPUUsageCoreNanoSec = cs.CPUUsageNanoCores * uint64(now.Sub(c.StartedAt).Seconds())
		}
		st.Containers = append(st.Containers, cs)
	}
	return st, nil
}

// SimulateProbe implements kubelet.ProbeSimulator from the fail-probes annotations.
func (r *Runtime) SimulateProbe(uid types.UID, id string, kind string) (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, c, err := r.find(uid, id)
	if err != nil {
		return false, err.Error()
	}
	kinds, ok := script(sb.pod, c.Name, "fail-probes")
	if !ok {
		return true, ""
	}
	failing := false
	for _, k := range strings.Split(kinds, ",") {
		if strings.EqualFold(strings.TrimSpace(k), kind) {
			failing = true
		}
	}
	if !failing {
		return true, ""
	}
	up := r.clock.Now().Sub(c.StartedAt)
	if v, ok := script(sb.pod, c.Name, "fail-probes-from"); ok {
		if d, err := parseDuration(v); err == nil && up < d {
			return true, ""
		}
	}
	if v, ok := script(sb.pod, c.Name, "fail-probes-until"); ok {
		if d, err := parseDuration(v); err == nil && up >= d {
			return true, ""
		}
	}
	return false, "simulated failure (" + AnnotationPrefix + "fail-probes)"
}

// script returns the annotation key for container, or the pod-wide one.
func script(pod *corev1.Pod, container, key string) (string, bool) {
	if v, ok := pod.Annotations[AnnotationPrefix+key+"."+container]; ok {
		return v, true
	}
	v, ok := pod.Annotations[AnnotationPrefix+key]
	return v, ok
}

func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}
