package streaming

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/kubelet/crilog"
)

// logRequest is a parsed /containerLogs query.
type logRequest struct {
	crilog.Options
	Previous bool
}

// parseLogQuery reads the pod log options of a /containerLogs query (the API server passes
// PodLogOptions through as they are), now giving sinceSeconds its origin.
func parseLogQuery(q url.Values, now time.Time) (logRequest, error) {
	req := logRequest{Options: crilog.Options{Tail: -1}}
	var err error
	boolean := func(name string, dst *bool) {
		if v := q.Get(name); v != "" && err == nil {
			if *dst, err = strconv.ParseBool(v); err != nil {
				err = fmt.Errorf("%s: invalid value %q", name, v)
			}
		}
	}
	integer := func(name string, min int64) (int64, bool) {
		v := q.Get(name)
		if v == "" || err != nil {
			return 0, false
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < min {
			err = fmt.Errorf("%s: invalid value %q: must be an integer greater than or equal to %d", name, v, min)
			return 0, false
		}
		return n, true
	}
	boolean("follow", &req.Follow)
	boolean("previous", &req.Previous)
	boolean("timestamps", &req.Timestamps)
	if n, ok := integer("tailLines", 0); ok {
		req.Tail = n
	}
	if n, ok := integer("limitBytes", 1); ok {
		req.LimitBytes = n
	}
	if n, ok := integer("sinceSeconds", 1); ok {
		req.Since = now.Add(-time.Duration(n) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" && err == nil {
		if q.Get("sinceSeconds") != "" {
			return req, errors.New("at most one of sinceTime or sinceSeconds may be specified")
		}
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			return req, fmt.Errorf("sinceTime: invalid value %q: %v", v, perr)
		}
		req.Since = t
	}
	return req, err
}

// serveLogs serves /containerLogs/{namespace}/{pod}/{container}. Errors are plain text, as
// upstream's kubelet writes them; the API server turns them into a Status.
func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request) {
	parts, ok := pathParts(r.URL.Path, "/containerLogs/", 3)
	if !ok {
		http.Error(w, "the path must be /containerLogs/{namespace}/{pod}/{container}", http.StatusBadRequest)
		return
	}
	ns, name, container := parts[0], parts[1], parts[2]
	req, err := parseLogQuery(r.URL.Query(), s.cfg.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	pod, cs, err := s.lookup(ctx, ns, name)
	if err != nil {
		http.Error(w, err.Error(), statusCode(err))
		return
	}
	if !specHasContainer(pod, container) {
		http.Error(w, fmt.Sprintf("container %q not found in pod %q", container, name), http.StatusNotFound)
		return
	}
	cur, prev := latest(cs, container)
	target := cur
	if req.Previous {
		target = prev
		if target == nil {
			http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", container, name), http.StatusBadRequest)
			return
		}
	}
	if target == nil {
		http.Error(w, fmt.Sprintf("container %q in pod %q is waiting to start: %s", container, name, waitingReason(pod, container)), http.StatusBadRequest)
		return
	}
	if req.Follow && target.State == kubelet.ContainerRunning {
		req.Running = s.runningCheck(pod, target.ID)
	} else {
		req.Follow = false
	}
	req.PollInterval = s.cfg.LogPollInterval
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	out := &flushWriter{w: w, rc: http.NewResponseController(w)}
	out.flush()
	if lp, ok := s.cfg.Runtime.(LogPather); ok {
		path, err := lp.ContainerLogPath(ctx, pod.UID, target.ID)
		if err == nil {
			if err := crilog.Read(ctx, path, req.Options, out); err != nil && ctx.Err() == nil {
				s.cfg.Log.Warn("read container log", "pod", ns+"/"+name, "container", container, "err", err)
			}
			return
		}
	}
	if err := s.runtimeLogs(ctx, pod, target.ID, req.Options, out); err != nil && ctx.Err() == nil {
		s.cfg.Log.Warn("container log", "pod", ns+"/"+name, "container", container, "err", err)
	}
}

// runtimeLogs serves a log through kubelet.Runtime.Logs, for runtimes without log files: since,
// tail (in lines) and limitBytes apply; timestamps and follow do not.
func (s *Server) runtimeLogs(ctx context.Context, pod *corev1.Pod, id string, opts crilog.Options, w io.Writer) error {
	var buf bytes.Buffer
	if err := s.cfg.Runtime.Logs(ctx, pod.UID, id, opts.Since, &buf); err != nil {
		return err
	}
	b := buf.Bytes()
	if opts.Tail >= 0 {
		lines := bytes.SplitAfter(b, []byte{'\n'})
		if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
			lines = lines[:len(lines)-1]
		}
		if int64(len(lines)) > opts.Tail {
			lines = lines[int64(len(lines))-opts.Tail:]
		}
		b = bytes.Join(lines, nil)
	}
	if opts.LimitBytes > 0 && int64(len(b)) > opts.LimitBytes {
		b = b[:opts.LimitBytes]
	}
	_, err := w.Write(b)
	return err
}

// runningCheck returns a function that reports whether container id of pod still runs, asking
// the runtime at most once a second.
func (s *Server) runningCheck(pod *corev1.Pod, id string) func() bool {
	var mu sync.Mutex
	var last time.Time
	running := true
	return func() bool {
		mu.Lock()
		defer mu.Unlock()
		if !running || time.Since(last) < time.Second {
			return running
		}
		last = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cs, err := s.cfg.Runtime.ListContainers(ctx, pod.UID)
		if err != nil {
			return running // ask again later
		}
		running = false
		for _, c := range cs {
			if c.ID == id && c.State == kubelet.ContainerRunning {
				running = true
			}
		}
		return running
	}
}

// waitingReason is the reason the pod's status gives for the container waiting, upstream's
// ContainerCreating by default.
func waitingReason(pod *corev1.Pod, container string) string {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for _, st := range list {
			if st.Name == container && st.State.Waiting != nil && st.State.Waiting.Reason != "" {
				return st.State.Waiting.Reason
			}
		}
	}
	return kubelet.ReasonContainerCreating
}

// flushWriter flushes the response after every write, for followed logs.
type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		f.flush()
	}
	return n, err
}

func (f *flushWriter) flush() { _ = f.rc.Flush() }
