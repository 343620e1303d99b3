package streaming

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/remotecommand"

	"github.com/skiff-project/skiff/internal/kubelet"
)

// execOptions are the query of an /exec or /attach request.
type execOptions struct {
	Command                    []string
	Stdin, Stdout, Stderr, TTY bool
}

// parseExecQuery reads an /exec or /attach query: command (repeated, exec only) and the
// stdin, stdout, stderr and tty flags ("1" or "true", as the API server and clients write
// them). With a terminal there is no separate stderr, as upstream.
func parseExecQuery(q url.Values, exec bool) (execOptions, error) {
	o := execOptions{Command: q["command"]}
	flags := []struct {
		name string
		dst  *bool
	}{{"stdin", &o.Stdin}, {"stdout", &o.Stdout}, {"stderr", &o.Stderr}, {"tty", &o.TTY}}
	for _, f := range flags {
		if v := q.Get(f.name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return o, fmt.Errorf("%s: invalid value %q", f.name, v)
			}
			*f.dst = b
		}
	}
	if o.TTY {
		o.Stderr = false
	}
	if exec && len(o.Command) == 0 {
		return o, errors.New("you must specify at least 1 command")
	}
	if !o.Stdin && !o.Stdout && !o.Stderr {
		return o, errors.New("you must specify at least one of stdin, stdout, stderr")
	}
	return o, nil
}

// session is one remote command's connection, whichever protocol carries it.
type session interface {
	// Streams returns what the client asked for: stdin (nil without), stdout, stderr (nil
	// without) and the terminal's sizes (nil without a terminal).
	Streams() (stdin io.Reader, stdout, stderr io.Writer, resize <-chan [2]uint16)
	// Gone is closed when the client goes away.
	Gone() <-chan struct{}
	// Finish sends the command's outcome on the error channel and closes the connection.
	Finish(st *metav1.Status)
}

// serveExec serves /exec/{namespace}/{pod}/{container}.
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	pod, c, opts, ok := s.remoteCommandTarget(w, r, "/exec/", true)
	if !ok {
		return
	}
	streamer, canTTY := s.cfg.Runtime.(StreamExecer)
	if opts.TTY && !canTTY {
		writeStatus(w, apierrors.NewBadRequest("the container runtime cannot allocate a terminal"))
		return
	}
	sess, ok := s.openSession(w, r, opts)
	if !ok {
		return
	}
	ctx, cancel := sessionContext(r, sess)
	defer cancel()
	stdin, stdout, stderr, resize := sess.Streams()
	var code int
	var err error
	if canTTY {
		code, err = streamer.ExecStream(ctx, pod.UID, c.ID, opts.Command, opts.TTY, stdin, stdout, stderr, resize)
	} else {
		code, err = s.cfg.Runtime.Exec(ctx, pod.UID, c.ID, opts.Command, stdin, stdout, stderr)
	}
	if err != nil && ctx.Err() == nil {
		s.cfg.Log.Warn("exec failed", "pod", pod.Namespace+"/"+pod.Name, "container", c.Name, "err", err)
	}
	sess.Finish(execStatus(opts.Command, code, err))
}

// serveAttach serves /attach/{namespace}/{pod}/{container}: the client's input goes to the
// container's standard input (if its spec keeps one open), and its output from now on comes
// back, until the container exits or the client goes.
func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request) {
	pod, c, opts, ok := s.remoteCommandTarget(w, r, "/attach/", false)
	if !ok {
		return
	}
	attacher, ok := s.cfg.Runtime.(Attacher)
	if !ok {
		writeStatus(w, apierrors.NewBadRequest("the container runtime cannot attach to containers; use kubectl logs -f to read their output"))
		return
	}
	sess, ok := s.openSession(w, r, opts)
	if !ok {
		return
	}
	ctx, cancel := sessionContext(r, sess)
	defer cancel()
	stdin, stdout, stderr, resize := sess.Streams()
	err := attacher.AttachStream(ctx, pod.UID, c.ID, stdin, stdout, stderr, resize)
	if err != nil && ctx.Err() == nil {
		s.cfg.Log.Warn("attach failed", "pod", pod.Namespace+"/"+pod.Name, "container", c.Name, "err", err)
		st := apierrors.NewInternalError(fmt.Errorf("error attaching to container: %w", err)).ErrStatus
		sess.Finish(&st)
		return
	}
	sess.Finish(&metav1.Status{Status: metav1.StatusSuccess})
}

// sessionContext is the context of a remote command: it ends when the client goes (Gone) or
// the server shuts down (the request's context; the connection is hijacked, so that one does
// not end when the client goes).
func sessionContext(r *http.Request, sess session) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	go func() {
		select {
		case <-sess.Gone():
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// remoteCommandTarget resolves an exec or attach request to a running container, answering
// the request when it cannot.
func (s *Server) remoteCommandTarget(w http.ResponseWriter, r *http.Request, prefix string, exec bool) (*corev1.Pod, *kubelet.Container, execOptions, bool) {
	parts, ok := pathParts(r.URL.Path, prefix, 3)
	if !ok {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("the path must be %s{namespace}/{pod}/{container}", prefix)))
		return nil, nil, execOptions{}, false
	}
	ns, name, container := parts[0], parts[1], parts[2]
	opts, err := parseExecQuery(r.URL.Query(), exec)
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest(err.Error()))
		return nil, nil, opts, false
	}
	if !httpstream.IsUpgradeRequest(r) {
		writeStatus(w, apierrors.NewBadRequest("Upgrade request required"))
		return nil, nil, opts, false
	}
	pod, cs, err := s.lookup(r.Context(), ns, name)
	if err != nil {
		writeStatus(w, err)
		return nil, nil, opts, false
	}
	if !specHasContainer(pod, container) {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, name)))
		return nil, nil, opts, false
	}
	c, _ := latest(cs, container)
	if c == nil || c.State != kubelet.ContainerRunning {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("container %q in pod %q is not running", container, name)))
		return nil, nil, opts, false
	}
	return pod, c, opts, true
}

// openSession upgrades the request to a WebSocket or SPDY session; when it cannot, it has
// answered the request.
func (s *Server) openSession(w http.ResponseWriter, r *http.Request, opts execOptions) (session, bool) {
	if isWebSocket(r) {
		return s.openWebSocket(w, r, opts)
	}
	return s.openSPDY(w, r, opts)
}

// execStatus is the Status sent on the error channel when a command ends: success, its
// non-zero exit code, or why it could not run.
func execStatus(cmd []string, code int, err error) *metav1.Status {
	switch {
	case err != nil:
		st := apierrors.NewInternalError(fmt.Errorf("error executing command in container: %w", err)).ErrStatus
		return &st
	case code != 0:
		return &metav1.Status{
			Status: metav1.StatusFailure,
			Reason: remotecommand.NonZeroExitCodeReason,
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{
				{Type: remotecommand.ExitCodeCauseType, Message: strconv.Itoa(code)},
			}},
			Message: fmt.Sprintf("command terminated with non-zero exit code: command %q exited with %d", cmd, code),
		}
	}
	return &metav1.Status{Status: metav1.StatusSuccess}
}

// statusPayload encodes st for the error channel: JSON from v4 on; earlier protocols carry
// only a failure's message.
func statusPayload(st *metav1.Status, jsonStatus bool) []byte {
	if jsonStatus {
		out := *st
		out.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
		b, _ := json.Marshal(out)
		return b
	}
	if st.Status == metav1.StatusSuccess {
		return nil
	}
	return []byte(st.Message)
}

// decodeResizes sends the terminal sizes read from r (a JSON object per resize, as clients
// send them) to out until r ends or done closes, then closes out.
func decodeResizes(r io.Reader, out chan<- [2]uint16, done <-chan struct{}) {
	defer close(out)
	dec := json.NewDecoder(r)
	for {
		var sz struct{ Width, Height uint16 }
		if err := dec.Decode(&sz); err != nil {
			return
		}
		select {
		case out <- [2]uint16{sz.Width, sz.Height}:
		case <-done:
			return
		}
	}
}
