package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"golang.org/x/sys/unix"
)

// copyDrain bounds how long an exit waits for the container's output to be read to its end
// (a process that left the container's PID namespace with the pipe open would hold it forever).
const copyDrain = 2 * time.Second

// Server is the shim of one pod: it owns the pod's containers (as their parent process), their
// output and their exit statuses. Create it with NewServer and serve its API with Serve.
type Server struct {
	dir  string // the pod directory
	root string // libcontainer's state root
	log  *slog.Logger
	now  func() time.Time

	pidnsPid int

	mu       sync.Mutex
	ctrs     map[string]*ctr
	subs     map[chan Event]struct{}
	shutdown chan struct{} // closed when a shutdown has been asked for
	closing  bool
}

type ctr struct {
	st         State
	process    Process
	req        *CreateRequest // until the container is started
	stopSignal syscall.Signal
	c          *libcontainer.Container
	proc       *libcontainer.Process // nil for an adopted container
	logw       *LogWriter
	streams    *streams // nil for an adopted container
	copiers    sync.WaitGroup
	exited     chan struct{}
	cgroups    map[string]string
	starting   bool
}

// ServerConfig configures a Server.
type ServerConfig struct {
	// Dir is the pod directory: the socket, the container records (containers/<id>.json) and
	// libcontainer's state (runc/) live in it.
	Dir string
	// PidnsPid is the host PID of the process holding the pod's shared PID namespace, if any.
	PidnsPid int
	Log      *slog.Logger
}

// NewServer creates the shim of the pod at cfg.Dir and re-adopts the containers a previous shim
// left there: running ones are watched until they exit (with ReasonUnknown, since their exit
// status went with their parent), created ones are removed.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Server{
		dir:      cfg.Dir,
		root:     filepath.Join(cfg.Dir, "runc"),
		log:      cfg.Log,
		now:      time.Now,
		pidnsPid: cfg.PidnsPid,
		ctrs:     map[string]*ctr{},
		subs:     map[chan Event]struct{}{},
		shutdown: make(chan struct{}),
	}
	if err := os.MkdirAll(filepath.Join(s.dir, "containers"), 0o700); err != nil {
		return nil, err
	}
	if err := s.adopt(); err != nil {
		return nil, err
	}
	return s, nil
}

// Shutdown is closed once a client has asked the shim to shut down and every container is gone.
func (s *Server) Shutdown() <-chan struct{} { return s.shutdown }

func (s *Server) recordPath(id string) string {
	return filepath.Join(s.dir, "containers", id+".json")
}

type record struct {
	State      State   `json:"state"`
	Process    Process `json:"process"`
	StopSignal int     `json:"stopSignal"`
	// Request is kept until the container starts.
	Request *CreateRequest `json:"request,omitempty"`
}

// save writes c's record; s.mu is held.
func (s *Server) save(c *ctr) {
	b, err := json.Marshal(record{State: c.st, Process: c.process, StopSignal: int(c.stopSignal), Request: c.req})
	if err == nil {
		tmp := s.recordPath(c.st.ID) + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, s.recordPath(c.st.ID))
		}
	}
	if err != nil {
		s.log.Error("save container state", "id", c.st.ID, "err", err)
	}
}

// notify tells the subscribers that c changed; s.mu is held.
func (s *Server) notify(c *ctr) {
	ev := Event{ID: c.st.ID, Status: c.st.Status, Time: s.now()}
	for ch := range s.subs {
		select {
		case ch <- ev:
		default: // a slow subscriber resyncs from the list
		}
	}
}

func (s *Server) adopt() error {
	matches, err := filepath.Glob(filepath.Join(s.dir, "containers", "*.json"))
	if err != nil {
		return err
	}
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			return err
		}
		var rec record
		if err := json.Unmarshal(b, &rec); err != nil {
			s.log.Error("container record unreadable, dropped", "file", m, "err", err)
			os.Remove(m)
			continue
		}
		c := &ctr{st: rec.State, process: rec.Process, req: rec.Request, stopSignal: syscall.Signal(rec.StopSignal), exited: make(chan struct{})}
		s.ctrs[c.st.ID] = c
		if c.st.Status == StatusExited {
			close(c.exited)
			continue
		}
		if c.st.Status == StatusCreated && c.req != nil {
			if _, err := libcontainer.Load(s.root, c.st.ID); err != nil {
				continue // nothing ran yet: it can still be started
			}
		}
		lc, err := libcontainer.Load(s.root, c.st.ID)
		if err != nil {
			s.log.Warn("container lost while the shim was away", "id", c.st.ID, "err", err)
			s.finish(c, 255, false, ReasonUnknown)
			continue
		}
		c.c = lc
		if st, err := lc.State(); err == nil {
			c.cgroups = st.CgroupPaths
		}
		status, _ := lc.Status()
		switch {
		case status == libcontainer.Created:
			// Caught between create and start: its output pipes went with the previous shim.
			_ = lc.Signal(unix.SIGKILL)
			s.finish(c, 255, false, ReasonUnknown)
		case status == libcontainer.Running || status == libcontainer.Paused:
			s.log.Info("re-adopted running container", "id", c.st.ID, "pid", c.st.Pid)
			go s.watchAdopted(c)
		default:
			oom := s.oomKilled(c)
			code, reason := int32(255), ReasonUnknown
			if oom {
				code, reason = 137, ReasonOOMKilled
			}
			s.finish(c, code, oom, reason)
		}
	}
	return nil
}

// watchAdopted waits, through a pidfd, for a container the shim is not the parent of.
func (s *Server) watchAdopted(c *ctr) {
	fd, err := unix.PidfdOpen(c.st.Pid, 0)
	if err == nil {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			_, err := unix.Poll(fds, -1)
			if err == nil || !errors.Is(err, unix.EINTR) {
				break
			}
		}
		unix.Close(fd)
	}
	oom := s.oomKilled(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	code, reason := int32(255), ReasonUnknown
	if oom {
		code, reason = 137, ReasonOOMKilled
	}
	s.finishLocked(c, code, oom, reason)
}

func (s *Server) finish(c *ctr, code int32, oom bool, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finishLocked(c, code, oom, reason)
}

// finishLocked records c's exit; s.mu is held.
func (s *Server) finishLocked(c *ctr, code int32, oom bool, reason string) {
	if c.st.Status == StatusExited {
		return
	}
	now := s.now()
	if c.st.Started.IsZero() && reason != ReasonStartError && c.c != nil {
		c.st.Started = now
	}
	c.st.Status, c.st.Finished, c.st.ExitCode, c.st.OOMKilled, c.st.Reason = StatusExited, now, code, oom, reason
	s.save(c)
	s.notify(c)
	close(c.exited)
}

// Create records a container. Its root filesystem, namespaces and cgroup are made, and its first
// process run, by Start (as containerd makes a container's task only when it is started), so
// that an error there is a start error.
func (s *Server) Create(req *CreateRequest) (State, error) {
	if req.Config == nil || len(req.Process.Args) == 0 || req.LogPath == "" {
		return State{}, errors.New("create: a config, a process and a log path are required")
	}
	if !validID(req.ID) {
		return State{}, fmt.Errorf("create: invalid container ID %q", req.ID)
	}
	sig := unix.SIGTERM
	if req.StopSignal != "" {
		var err error
		if sig, err = ParseSignal(req.StopSignal); err != nil {
			return State{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ctrs[req.ID]; ok || s.closing {
		return State{}, fmt.Errorf("create container %s: exists or shim shutting down", req.ID)
	}
	c := &ctr{
		st: State{ID: req.ID, Name: req.Name, Attempt: req.Attempt, Labels: req.Labels,
			Status: StatusCreated, Created: s.now(), LogPath: req.LogPath},
		process:    req.Process,
		req:        req,
		stopSignal: sig,
		exited:     make(chan struct{}),
	}
	s.ctrs[req.ID] = c
	s.save(c)
	s.notify(c)
	return c.st, nil
}

func validID(id string) bool {
	if id == "" || id == "." || id == ".." || len(id) > 1024 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+-.", r)) {
			return false
		}
	}
	return true
}

// create makes the libcontainer container and its first process, waiting to be executed.
func (s *Server) create(c *ctr, req *CreateRequest) (err error) {
	logw, err := OpenLog(req.LogPath, req.LogMaxSize, req.LogMaxFiles, nil)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer func() {
		if err != nil {
			logw.Close()
		}
	}()
	lc, err := libcontainer.Create(s.root, req.ID, req.Config)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = lc.Destroy()
		}
	}()
	st := &streams{stdinOnce: req.StdinOnce, subs: map[*attachSub]struct{}{}}
	p := newProcess(&req.Process)
	p.Init = true
	var outputs []func()
	if req.Tty {
		cons, err := startWithConsole(lc, p)
		if err != nil {
			return err
		}
		st.console = cons
		if req.Stdin {
			st.stdin = cons
		}
		outputs = append(outputs, func() { s.copyLog(c, "stdout", io.TeeReader(cons, st.tee(FrameStdout)), nil) })
	} else {
		var ends, readers []*os.File // the process's ends, closed once it has them; ours
		defer func() {
			for _, f := range ends {
				f.Close()
			}
		}()
		if req.Stdin {
			r, w, err := os.Pipe()
			if err != nil {
				return err
			}
			p.Stdin, st.stdin = r, w
			ends = append(ends, r)
		}
		for _, stream := range []string{"stdout", "stderr"} {
			r, w, err := os.Pipe()
			if err != nil {
				st.close()
				for _, f := range readers {
					f.Close()
				}
				return err
			}
			readers = append(readers, r)
			typ := byte(FrameStdout)
			if stream == "stdout" {
				p.Stdout = w
			} else {
				p.Stderr, typ = w, FrameStderr
			}
			ends = append(ends, w)
			outputs = append(outputs, func() { s.copyLog(c, stream, io.TeeReader(r, st.tee(typ)), r) })
		}
		if err := lc.Start(p); err != nil {
			st.close()
			for _, f := range ends {
				f.Close()
			}
			ends = nil
			for _, f := range readers {
				f.Close()
			}
			return err
		}
	}
	pid, _ := p.Pid()
	var cgroupPaths map[string]string
	if st, err := lc.State(); err == nil {
		cgroupPaths = st.CgroupPaths
	}
	s.mu.Lock()
	c.c, c.proc, c.logw, c.cgroups, c.streams = lc, p, logw, cgroupPaths, st
	c.st.Pid = pid
	s.mu.Unlock()
	c.copiers.Add(len(outputs))
	for _, f := range outputs {
		go f()
	}
	go s.wait(c)
	return nil
}

// startWithConsole starts p, the container's first process, with a new terminal, and returns
// the terminal's master end.
func startWithConsole(lc *libcontainer.Container, p *libcontainer.Process) (console.Console, error) {
	parent, child, err := utils.NewSockPair("console")
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	p.ConsoleSocket = child
	err = lc.Start(p)
	child.Close()
	if err != nil {
		return nil, err
	}
	master, err := utils.RecvFile(parent)
	if err != nil {
		_ = p.Signal(unix.SIGKILL)
		return nil, fmt.Errorf("console: %w", err)
	}
	cons, err := console.ConsoleFromFile(master)
	if err != nil {
		master.Close()
		_ = p.Signal(unix.SIGKILL)
		return nil, err
	}
	return cons, nil
}

func newProcess(pr *Process) *libcontainer.Process {
	nnp := pr.NoNewPrivileges
	cwd := pr.Cwd
	if cwd == "" {
		cwd = "/"
	}
	return &libcontainer.Process{
		Args:             pr.Args,
		Env:              pr.Env,
		Cwd:              cwd,
		UID:              pr.UID,
		GID:              pr.GID,
		AdditionalGroups: pr.AdditionalGids,
		Capabilities:     pr.Capabilities,
		NoNewPrivileges:  &nnp,
		Rlimits:          pr.Rlimits,
	}
}

// copyLog copies one output stream of c to its log until the stream ends, then closes
// closer (if not nil). A terminal's end (EIO once the container has closed it) is the end.
func (s *Server) copyLog(c *ctr, stream string, r io.Reader, closer io.Closer) {
	defer c.copiers.Done()
	if closer != nil {
		defer closer.Close()
	}
	if err := c.logw.Copy(stream, r); err != nil && !errors.Is(err, unix.EIO) {
		s.log.Warn("container log", "id", c.st.ID, "stream", stream, "err", err)
	}
}

// wait waits for c's first process to exit and records how.
func (s *Server) wait(c *ctr) {
	ps, _ := c.proc.Wait()
	code := int32(255)
	if ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
			switch {
			case ws.Signaled():
				code = 128 + int32(ws.Signal())
			case ws.Exited():
				code = int32(ws.ExitStatus())
			}
		}
	}
	drained := make(chan struct{})
	go func() { c.copiers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(copyDrain):
	}
	if c.streams != nil {
		c.streams.close()
	}
	oom := s.oomKilled(c)
	reason := ReasonCompleted
	switch {
	case oom:
		reason = ReasonOOMKilled
	case code != 0:
		reason = ReasonError
	}
	s.finish(c, code, oom, reason)
}

// oomKilled reports whether c's memory cgroup saw an OOM kill: cgroup v1's memory.oom_control
// or v2's memory.events, both counting oom_kill.
func (s *Server) oomKilled(c *ctr) bool {
	var files []string
	if p := c.cgroups["memory"]; p != "" {
		files = append(files, filepath.Join(p, "memory.oom_control"))
	}
	if p := c.cgroups[""]; p != "" {
		files = append(files, filepath.Join(p, "memory.events"))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if n, ok := counter(b, "oom_kill"); ok && n > 0 {
			return true
		}
	}
	return false
}

// counter finds "key N" among b's lines.
func counter(b []byte, key string) (uint64, bool) {
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

func (s *Server) get(id string) (*ctr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.ctrs[id]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", id, os.ErrNotExist)
	}
	return c, nil
}

// ReasonStartError is the reason of a container whose first process could not be started; its
// exit code is 128, as containerd's.
const ReasonStartError = "StartError"

// Start creates the container's namespaces, cgroup and first process and runs it. A failure
// leaves the container exited with code 128, reason StartError.
func (s *Server) Start(id string) error {
	c, err := s.get(id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	req := c.req
	if c.st.Status != StatusCreated || req == nil || c.starting {
		st := c.st.Status
		s.mu.Unlock()
		return fmt.Errorf("start container %s: it is %s", id, st)
	}
	c.starting = true
	s.mu.Unlock()

	err = s.create(c, req)
	if err == nil {
		s.mu.Lock()
		c.st.Status, c.st.Started, c.req = StatusRunning, s.now(), nil
		s.save(c)
		s.notify(c)
		s.mu.Unlock()
		if err = c.c.Exec(); err != nil {
			_ = c.c.Signal(unix.SIGKILL)
		}
	}
	if err != nil {
		err = fmt.Errorf("start container %s: %w", id, err)
		s.mu.Lock()
		c.st.Message = err.Error()
		c.req = nil
		s.finishLocked(c, 128, false, ReasonStartError)
		s.mu.Unlock()
		return err
	}
	return nil
}

// Stop sends the container its stop signal (or req.Signal) and SIGKILL once req.Grace has passed.
// It returns at once.
func (s *Server) Stop(id string, req StopRequest) error {
	c, err := s.get(id)
	if err != nil {
		return err
	}
	sig := c.stopSignal
	if req.Signal != "" {
		if sig, err = ParseSignal(req.Signal); err != nil {
			return err
		}
	}
	select {
	case <-c.exited:
		return nil
	default:
	}
	s.mu.Lock()
	if c.c == nil && !c.starting {
		// Never started: nothing to signal.
		c.req = nil
		s.finishLocked(c, 137, false, ReasonError)
		s.mu.Unlock()
		return nil
	}
	created := c.st.Status == StatusCreated
	s.mu.Unlock()
	if created || req.Grace <= 0 {
		sig = unix.SIGKILL
	}
	if err := s.signal(c, sig); err != nil {
		return err
	}
	if sig != unix.SIGKILL {
		go func() {
			t := time.NewTimer(req.Grace)
			defer t.Stop()
			select {
			case <-c.exited:
			case <-t.C:
				s.log.Info("grace period over, killing", "id", id, "grace", req.Grace)
				_ = s.signal(c, unix.SIGKILL)
			}
		}()
	}
	return nil
}

func (s *Server) signal(c *ctr, sig syscall.Signal) error {
	s.mu.Lock()
	lc := c.c
	s.mu.Unlock()
	if lc == nil {
		return nil
	}
	err := lc.Signal(sig)
	if err != nil && !errors.Is(err, libcontainer.ErrNotRunning) && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal container %s: %w", c.st.ID, err)
	}
	return nil
}

// Signal sends one signal to the container's first process.
func (s *Server) Signal(id string, req SignalRequest) error {
	c, err := s.get(id)
	if err != nil {
		return err
	}
	sig, err := ParseSignal(req.Signal)
	if err != nil {
		return err
	}
	select {
	case <-c.exited:
		return nil
	default:
	}
	return s.signal(c, sig)
}

// Remove kills the container if it still runs, and removes it with its cgroup and record.
func (s *Server) Remove(id string) error {
	s.mu.Lock()
	c, ok := s.ctrs[id]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	if err := s.kill(c); err != nil {
		return err
	}
	if c.c != nil {
		if err := c.c.Destroy(); err != nil {
			return fmt.Errorf("remove container %s: %w", id, err)
		}
	}
	if c.logw != nil {
		c.logw.Close()
	}
	s.mu.Lock()
	delete(s.ctrs, id)
	s.mu.Unlock()
	os.Remove(s.recordPath(id))
	return nil
}

// kill SIGKILLs c and waits for its exit.
func (s *Server) kill(c *ctr) error {
	s.mu.Lock()
	if c.c == nil && !c.starting {
		c.req = nil
		s.finishLocked(c, 137, false, ReasonError)
	}
	s.mu.Unlock()
	select {
	case <-c.exited:
		if c.c != nil {
			// Processes left in a shared PID namespace.
			_ = c.c.Signal(unix.SIGKILL)
		}
		return nil
	default:
	}
	if err := s.signal(c, unix.SIGKILL); err != nil {
		return err
	}
	select {
	case <-c.exited:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("container %s: still running 30s after SIGKILL", c.st.ID)
	}
}

// List returns the containers in creation order.
func (s *Server) List() []State {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]State, 0, len(s.ctrs))
	for _, c := range s.ctrs {
		out = append(out, c.st)
	}
	sortStates(out)
	return out
}

func sortStates(st []State) {
	for i := 1; i < len(st); i++ {
		for j := i; j > 0 && (st[j].Created.Before(st[j-1].Created) ||
			st[j].Created.Equal(st[j-1].Created) && st[j].ID < st[j-1].ID); j-- {
			st[j], st[j-1] = st[j-1], st[j]
		}
	}
}

// ContainerStats reads the container's cgroup.
func (s *Server) ContainerStats(id string) (Stats, error) {
	c, err := s.get(id)
	if err != nil {
		return Stats{}, err
	}
	out := Stats{ID: id, Time: s.now()}
	s.mu.Lock()
	lc := c.c
	s.mu.Unlock()
	if lc == nil {
		return out, nil
	}
	select {
	case <-c.exited:
		return out, nil
	default:
	}
	st, err := lc.Stats()
	if err != nil {
		return out, fmt.Errorf("stats of container %s: %w", id, err)
	}
	if cg := st.CgroupStats; cg != nil {
		out.CPUUsageNs = cg.CpuStats.CpuUsage.TotalUsage
		out.MemoryUsage = cg.MemoryStats.Usage.Usage
		inactive, ok := cg.MemoryStats.Stats["total_inactive_file"]
		if !ok {
			inactive = cg.MemoryStats.Stats["inactive_file"]
		}
		if out.MemoryUsage > inactive {
			out.MemoryWorkingSet = out.MemoryUsage - inactive
		}
	}
	return out, nil
}

// ShutdownAll kills and removes every container; the shim exits after answering.
func (s *Server) ShutdownAll() error {
	s.mu.Lock()
	s.closing = true
	ids := make([]string, 0, len(s.ctrs))
	for id := range s.ctrs {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	var errs []error
	for _, id := range ids {
		if err := s.Remove(id); err != nil {
			errs = append(errs, err)
		}
	}
	if s.pidnsPid > 0 {
		_ = unix.Kill(s.pidnsPid, unix.SIGKILL)
	}
	return errors.Join(errs...)
}

// Serve serves the API on l until a shutdown.
func (s *Server) Serve(l net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-s.shutdown
		// Let the shutdown's answer go out.
		time.Sleep(100 * time.Millisecond)
		srv.Close()
	}()
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ParseSignal parses "SIGTERM", "TERM", "term" or "15".
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("signal %q out of range", s)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return 0, fmt.Errorf("unknown signal %q", s)
	}
	return sig, nil
}
