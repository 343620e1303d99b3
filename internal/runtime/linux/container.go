package linux

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/opencontainers/runc/libcontainer/devices"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/shim"
)

// Labels the runtime keeps with each container in its shim.
const (
	labelImage   = "image"
	labelImageID = "imageID"
)

func newContainerID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CreateContainer prepares the container's root filesystem and configuration and has the pod's
// shim create it; the first process waits for StartContainer.
func (r *Runtime) CreateContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, init bool, attempt int32) (string, error) {
	p, err := r.pod(pod.UID)
	if err != nil {
		return "", err
	}
	if r.cfg.Images == nil {
		return "", errors.New("no image store")
	}
	id := newContainerID()
	rootDir := filepath.Join(p.dir, "rootfs", id)
	if err := os.MkdirAll(rootDir, 0o711); err != nil {
		return "", err
	}
	rootfs, info, release, err := r.cfg.Images.Rootfs(ctx, c.Image, rootDir)
	if err != nil {
		os.RemoveAll(rootDir)
		return "", fmt.Errorf("container %s: root filesystem of %s: %w", c.Name, c.Image, err)
	}
	ok := false
	defer func() {
		if !ok {
			r.releaseRootfs(p, id, release)
		}
	}()

	paths, err := r.containerPaths(pod, c, p, id, rootfs)
	if err != nil {
		return "", err
	}
	cfg, proc, err := containerConfig(pod, c, info, paths)
	if err != nil {
		return "", err
	}
	if want := oomScoreAdj(pod, c, r.memCapacity); want < r.oomFloor {
		r.oomOnce.Do(func() {
			r.log.Warn("oom_score_adj clamped: this process may not lower it (no CAP_SYS_RESOURCE); logged once",
				"wanted", want, "set", r.oomFloor, "pod", pod.Namespace+"/"+pod.Name, "container", c.Name)
		})
	}
	logPath := filepath.Join(r.podLogDir(p.meta), c.Name, strconv.Itoa(int(attempt))+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return "", err
	}
	req := &shim.CreateRequest{
		ID: id, Name: c.Name, Attempt: attempt,
		Labels:  map[string]string{labelImage: c.Image, labelImageID: info.ID},
		Config:  cfg,
		Process: proc,
		LogPath: logPath, LogMaxSize: r.cfg.LogMaxSize, LogMaxFiles: r.cfg.LogMaxFiles,
		StopSignal: info.StopSignal,
		Stdin:      c.Stdin, StdinOnce: c.StdinOnce, Tty: c.TTY,
	}
	if _, err := p.client.Create(ctx, req); err != nil {
		return "", fmt.Errorf("container %s: %w", c.Name, err)
	}
	ok = true
	if release != nil {
		p.mu.Lock()
		p.release[id] = release
		p.mu.Unlock()
	}
	return id, nil
}

// containerPaths gathers the host side of a container's configuration.
func (r *Runtime) containerPaths(pod *corev1.Pod, c *corev1.Container, p *podState, id, rootfs string) (containerPaths, error) {
	paths := containerPaths{
		ID:               id,
		Rootfs:           rootfs,
		Hosts:            filepath.Join(p.dir, "etc", "hosts"),
		Hostname:         filepath.Join(p.dir, "etc", "hostname"),
		ResolvConf:       filepath.Join(p.dir, "etc", "resolv.conf"),
		CgroupParent:     p.meta.CgroupParent,
		OOMScoreAdjFloor: r.oomFloor,
		MemoryCapacity:   r.memCapacity,
		PidsLimit:        r.cfg.PidsLimit,
		CgroupV2:         r.cgroupV2,
		Volumes:          map[string]string{},
	}
	if !p.meta.HostNetwork {
		paths.NetNS = filepath.Join(p.dir, "ns", "net")
		paths.UTSNS = filepath.Join(p.dir, "ns", "uts")
	}
	if !p.meta.HostIPC {
		paths.IPCNS = filepath.Join(p.dir, "ns", "ipc")
		paths.Shm = filepath.Join(p.dir, "shm")
	} else {
		paths.Shm = "/dev/shm"
	}
	if p.meta.SharePID {
		pid := readPid(filepath.Join(p.dir, shim.PidnsPidFile))
		if pid <= 0 {
			return paths, fmt.Errorf("pod %s: shared PID namespace holder is gone", pod.Name)
		}
		paths.PidNS = fmt.Sprintf("/proc/%d/ns/pid", pid)
	}
	tl := filepath.Join(p.dir, "termination", id)
	if err := os.WriteFile(tl, nil, 0o666); err != nil {
		return paths, err
	}
	_ = os.Chmod(tl, 0o666)
	paths.TerminationLog = tl
	for _, vm := range c.VolumeMounts {
		if _, done := paths.Volumes[vm.Name]; done {
			continue
		}
		if r.cfg.VolumePath == nil {
			return paths, &ConfigError{Err: fmt.Errorf("container %s: volume %q: no volumes on this node", c.Name, vm.Name)}
		}
		dir, err := r.cfg.VolumePath(pod, vm.Name)
		if err != nil {
			return paths, &ConfigError{Err: fmt.Errorf("container %s: volume %q: %w", c.Name, vm.Name, err)}
		}
		paths.Volumes[vm.Name] = dir
	}
	if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
		devs, err := devices.HostDevices()
		if err != nil {
			return paths, fmt.Errorf("host devices: %w", err)
		}
		paths.HostDevices = devs
	}
	return paths, nil
}

// releaseRootfs gives the container's root filesystem back to the image source, or unmounts it
// when the release function was lost with an earlier agent.
func (r *Runtime) releaseRootfs(p *podState, id string, release func() error) {
	dir := filepath.Join(p.dir, "rootfs", id)
	var err error
	switch {
	case release != nil:
		err = release()
	default:
		if rel, ok := r.cfg.Images.(RootfsReleaser); ok {
			err = rel.ReleaseRootfs(dir)
		}
	}
	if err != nil {
		r.log.Warn("release root filesystem", "container", id, "err", err)
	}
	if err := unmountUnder(dir); err != nil {
		r.log.Warn("unmount root filesystem", "container", id, "err", err)
		return
	}
	os.RemoveAll(dir)
	os.Remove(filepath.Join(p.dir, "termination", id))
}

// StartContainer starts a created container.
func (r *Runtime) StartContainer(ctx context.Context, uid types.UID, id string) error {
	p, err := r.pod(uid)
	if err != nil {
		return err
	}
	return p.client.Start(ctx, id)
}

// StopContainer sends the container its stop signal and SIGKILL once grace has passed.
func (r *Runtime) StopContainer(ctx context.Context, uid types.UID, id string, grace time.Duration) error {
	p, err := r.pod(uid)
	if err != nil {
		return err
	}
	return p.client.Stop(ctx, id, shim.StopRequest{Grace: grace})
}

// RemoveContainer removes the container (killing it if it runs), its root filesystem and its
// log files.
func (r *Runtime) RemoveContainer(ctx context.Context, uid types.UID, id string) error {
	p, err := r.pod(uid)
	if err != nil {
		return err
	}
	st, err := p.client.Get(ctx, id)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := p.client.Remove(ctx, id); err != nil {
		return err
	}
	p.mu.Lock()
	release := p.release[id]
	delete(p.release, id)
	delete(p.lastCPU, id)
	p.mu.Unlock()
	r.releaseRootfs(p, id, release)
	if st.LogPath != "" {
		rotated, _ := shim.RotatedLogs(st.LogPath)
		for _, f := range append(rotated, st.LogPath) {
			os.Remove(f)
		}
	}
	return nil
}

// ListContainers returns the pod's containers in creation order; a pod without a sandbox has
// none.
func (r *Runtime) ListContainers(ctx context.Context, uid types.UID) ([]kubelet.Container, error) {
	r.mu.Lock()
	p, stopped := r.pods[uid], r.stopped[uid]
	r.mu.Unlock()
	if stopped != nil {
		// Stopped, or being stopped (its shim is removing the containers): the record.
		return stopped.containers(), nil
	}
	if p == nil {
		return nil, nil
	}
	sts, err := p.client.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]kubelet.Container, 0, len(sts))
	for _, st := range sts {
		out = append(out, toContainer(st))
	}
	return out, nil
}

func toContainer(st shim.State) kubelet.Container {
	c := kubelet.Container{
		ID: st.ID, Name: st.Name, Attempt: st.Attempt,
		Image: st.Labels[labelImage], ImageID: st.Labels[labelImageID],
		CreatedAt: st.Created, StartedAt: st.Started, FinishedAt: st.Finished,
		ExitCode: st.ExitCode, Reason: st.Reason,
	}
	switch st.Status {
	case shim.StatusCreated:
		c.State = kubelet.ContainerCreated
	case shim.StatusRunning:
		c.State = kubelet.ContainerRunning
	default:
		c.State = kubelet.ContainerExited
	}
	return c
}

// ContainerPid returns the host PID of the container's first process (0 once it has exited).
func (r *Runtime) ContainerPid(ctx context.Context, uid types.UID, id string) (int, error) {
	p, err := r.pod(uid)
	if err != nil {
		return 0, err
	}
	st, err := p.client.Get(ctx, id)
	if err != nil {
		return 0, err
	}
	if st.Status == shim.StatusExited {
		return 0, nil
	}
	return st.Pid, nil
}

// Exec runs cmd in the container; exec probes use it.
func (r *Runtime) Exec(ctx context.Context, uid types.UID, id string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	return r.ExecStream(ctx, uid, id, cmd, false, stdin, stdout, stderr, nil)
}

// ExecStream runs cmd in the container, with a terminal if tty (stderr is then unused) whose
// size follows resize; kubectl exec uses it.
func (r *Runtime) ExecStream(ctx context.Context, uid types.UID, id string, cmd []string, tty bool, stdin io.Reader, stdout, stderr io.Writer, resize <-chan [2]uint16) (int, error) {
	p, err := r.pod(uid)
	if err != nil {
		return 0, err
	}
	return p.client.Exec(ctx, id, shim.ExecRequest{Args: cmd, Tty: tty}, shim.ExecIO{
		Stdin: stdin, Stdout: stdout, Stderr: stderr, Resize: resize,
	})
}

// AttachStream connects to a running container's stdio (a terminal's, if its spec asked for
// one: then everything is on stdout): stdin, if not nil and the container keeps stdin open,
// goes to it; its output from now on goes to stdout and stderr (either may be nil). It
// returns when the container exits or ctx ends (which detaches and leaves it running).
func (r *Runtime) AttachStream(ctx context.Context, uid types.UID, id string, stdin io.Reader, stdout, stderr io.Writer, resize <-chan [2]uint16) error {
	p, err := r.pod(uid)
	if err != nil {
		return err
	}
	_, err = p.client.Attach(ctx, id, shim.ExecIO{Stdin: stdin, Stdout: stdout, Stderr: stderr, Resize: resize})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Logs writes the container's log from since on.
func (r *Runtime) Logs(ctx context.Context, uid types.UID, id string, since time.Time, w io.Writer) error {
	path, err := r.ContainerLogPath(ctx, uid, id)
	if err != nil {
		return err
	}
	return shim.ReadLogs(path, since, w)
}

// ContainerLogPath returns the path of the container's current CRI log file, for the kubelet's
// streaming server (which reads it with tail, timestamps and follow).
func (r *Runtime) ContainerLogPath(ctx context.Context, uid types.UID, id string) (string, error) {
	r.mu.Lock()
	stopped := r.stopped[uid]
	r.mu.Unlock()
	if stopped != nil {
		if path, ok := stopped.logPath(id); ok {
			return path, nil
		}
		return "", fmt.Errorf("container %s: %w", id, os.ErrNotExist)
	}
	p, err := r.pod(uid)
	if err != nil {
		return "", err
	}
	st, err := p.client.Get(ctx, id)
	if err != nil {
		return "", err
	}
	return st.LogPath, nil
}

// PortForward connects stream to port on the pod's loopback, dialled from inside its network
// namespace. It closes stream when it returns.
func (r *Runtime) PortForward(ctx context.Context, uid types.UID, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	p, err := r.pod(uid)
	if err != nil {
		return err
	}
	netns := ""
	if !p.meta.HostNetwork {
		netns = filepath.Join(p.dir, "ns", "net")
	}
	conn, err := dialInNetns(ctx, netns, port)
	if err != nil {
		return fmt.Errorf("port forward to pod %s port %d: %w", p.meta.Name, port, err)
	}
	defer conn.Close()
	// The client's end closing half-closes the connection to the pod; the pod's end closing ends
	// the forwarding (kubectl waits for the end of the data and error streams before it closes
	// its own, so waiting for both directions would wait for each other).
	go func() {
		_, _ = io.Copy(conn, stream)
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.CloseWrite()
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

// dialInNetns connects to 127.0.0.1:port (or [::1]:port) in the network namespace at netns ("":
// this one). The socket is made on a locked OS thread that joined the namespace; the thread
// then dies with its goroutine.
func dialInNetns(ctx context.Context, netns string, port int32) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		if netns != "" {
			runtime.LockOSThread()
			// No UnlockOSThread: the thread has left the agent's namespace.
			fd, err := unix.Open(netns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				ch <- result{nil, err}
				return
			}
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
			if err != nil {
				ch <- result{nil, fmt.Errorf("setns: %w", err)}
				return
			}
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
		if err != nil {
			if c6, err6 := d.DialContext(ctx, "tcp6", net.JoinHostPort("::1", strconv.Itoa(int(port)))); err6 == nil {
				c, err = c6, nil
			}
		}
		ch <- result{c, err}
	}()
	res := <-ch
	return res.c, res.err
}

// Stats returns the resource usage of the pod's running containers.
func (r *Runtime) Stats(ctx context.Context, uid types.UID) (kubelet.PodStats, error) {
	p, err := r.pod(uid)
	if err != nil {
		return kubelet.PodStats{}, err
	}
	sts, err := p.client.List(ctx)
	if err != nil {
		return kubelet.PodStats{}, err
	}
	out := kubelet.PodStats{Time: time.Now()}
	for _, st := range sts {
		if st.Status != shim.StatusRunning {
			continue
		}
		s, err := p.client.Stats(ctx, st.ID)
		if err != nil {
			continue // exited meanwhile
		}
		cs := kubelet.ContainerStats{Name: st.Name, CPUUsageCoreNanoSec: s.CPUUsageNs, MemoryWorkingSet: s.MemoryWorkingSet}
		p.mu.Lock()
		if prev, ok := p.lastCPU[st.ID]; ok && s.Time.After(prev.at) && s.CPUUsageNs >= prev.usage {
			cs.CPUUsageNanoCores = uint64(float64(s.CPUUsageNs-prev.usage) / s.Time.Sub(prev.at).Seconds())
		}
		p.lastCPU[st.ID] = cpuSample{at: s.Time, usage: s.CPUUsageNs}
		p.mu.Unlock()
		out.Containers = append(out.Containers, cs)
	}
	return out, nil
}
