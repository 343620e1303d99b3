package streaming

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/pki"
)

// Upstream's kubelet defaults.
const (
	// DefaultPort is the kubelet's port.
	DefaultPort = 10250
	// DefaultStreamIdleTimeout ends an exec or port-forward connection idle this long.
	DefaultStreamIdleTimeout = 4 * time.Hour
	// DefaultStreamCreationTimeout is how long a client has to open the streams it announced.
	DefaultStreamCreationTimeout = 30 * time.Second
)

// PodSource gives the pods bound to the node, as the kubelet knows them.
type PodSource interface {
	// GetPod returns the pod namespace/name, if it is on the node.
	GetPod(namespace, name string) (*corev1.Pod, bool)
	// Pods returns the node's pods.
	Pods() []*corev1.Pod
}

// LogPather is implemented by runtimes that keep CRI log files (the linux runtime; the fake one
// when given a log directory). Without it, logs come from kubelet.Runtime.Logs, without
// timestamps or following.
type LogPather interface {
	// ContainerLogPath returns the path of the container's current CRI log file.
	ContainerLogPath(ctx context.Context, uid types.UID, id string) (string, error)
}

// StreamExecer is implemented by runtimes that can run a command with a terminal. Without it,
// exec runs through kubelet.Runtime.Exec and a tty request is refused.
type StreamExecer interface {
	// ExecStream runs cmd in the container, with a terminal if tty (stderr is then unused) whose
	// size (width, height) follows resize, and returns its exit code.
	ExecStream(ctx context.Context, uid types.UID, id string, cmd []string, tty bool, stdin io.Reader, stdout, stderr io.Writer, resize <-chan [2]uint16) (int, error)
}

// Attacher is implemented by runtimes that can connect to a running container's stdio.
// Without it, attach is refused.
type Attacher interface {
	// AttachStream sends stdin (nil: none) to the container's standard input and its output
	// from now on to stdout and stderr (nil: not wanted; with a terminal everything is stdout),
	// with the terminal's size following resize, until the container exits or ctx ends.
	AttachStream(ctx context.Context, uid types.UID, id string, stdin io.Reader, stdout, stderr io.Writer, resize <-chan [2]uint16) error
}

// Config configures a Server.
type Config struct {
	// NodeName is the node served; authorization names it.
	NodeName string
	Runtime  kubelet.Runtime
	Pods     PodSource
	// Authorizer decides every request. Required.
	Authorizer Authorizer
	Log        *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// StreamIdleTimeout and StreamCreationTimeout default to upstream's 4h and 30s.
	StreamIdleTimeout     time.Duration
	StreamCreationTimeout time.Duration
	// LogPollInterval is how often a followed log is checked for new lines (default 100ms).
	LogPollInterval time.Duration
}

// Server is the node's HTTPS handler.
type Server struct {
	cfg   Config
	start time.Time
}

// New returns the server's handler.
func New(cfg Config) (*Server, error) {
	if cfg.Runtime == nil || cfg.Pods == nil || cfg.Authorizer == nil || cfg.NodeName == "" {
		return nil, errors.New("streaming: NodeName, Runtime, Pods and Authorizer are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StreamIdleTimeout == 0 {
		cfg.StreamIdleTimeout = DefaultStreamIdleTimeout
	}
	if cfg.StreamCreationTimeout == 0 {
		cfg.StreamCreationTimeout = DefaultStreamCreationTimeout
	}
	return &Server{cfg: cfg, start: cfg.Now()}, nil
}

// TLSConfig is the server's TLS configuration: the serving certificate, and client
// certificates required and verified against clientCAs (the cluster CA).
func TLSConfig(cert tls.Certificate, clientCAs *x509.CertPool) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
		MinVersion:   tls.VersionTLS12,
		CipherSuites: pki.CipherSuites,
	}
}

// Serve serves HTTPS on ln with tlsConfig until ctx ends, then closes the listener and open
// connections and returns; exec and port-forward sessions end with ctx too.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsConfig *tls.Config) error {
	srv := &http.Server{
		Handler:           s,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			srv.Close()
		case <-done:
		}
	}()
	err := srv.ServeTLS(ln, "", "")
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeHTTP authenticates, authorizes and routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, ok := userOf(r)
	if !ok {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	if !s.authorize(w, r, u) {
		return
	}
	p := r.URL.Path
	switch {
	case p == "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	case p == "/pods" || p == "/pods/":
		s.servePods(w, r)
	case p == "/stats/summary" || p == "/stats/summary/":
		s.serveSummary(w, r)
	case strings.HasPrefix(p, "/containerLogs/"):
		s.serveLogs(w, r)
	case strings.HasPrefix(p, "/exec/"):
		s.serveExec(w, r)
	case strings.HasPrefix(p, "/attach/"):
		s.serveAttach(w, r)
	case strings.HasPrefix(p, "/portForward/"):
		s.servePortForward(w, r)
	default:
		http.NotFound(w, r)
	}
}

// pathParts splits /prefix/a/b/c into [a b c], requiring n parts.
func pathParts(p, prefix string, n int) ([]string, bool) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(p, prefix), "/"), "/")
	if len(parts) != n {
		return nil, false
	}
	for _, s := range parts {
		if s == "" {
			return nil, false
		}
	}
	return parts, true
}

// writeStatus writes err as a metav1.Status, as upstream's streaming server answers.
func writeStatus(w http.ResponseWriter, err error) {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		se = apierrors.NewInternalError(err)
	}
	st := se.Status()
	st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	b, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	code := int(st.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

var podsResource = corev1.Resource("pods")

// lookup returns the pod namespace/name and the runtime's containers of it.
func (s *Server) lookup(ctx context.Context, namespace, name string) (*corev1.Pod, []kubelet.Container, error) {
	pod, ok := s.cfg.Pods.GetPod(namespace, name)
	if !ok {
		return nil, nil, apierrors.NewNotFound(podsResource, name)
	}
	cs, err := s.cfg.Runtime.ListContainers(ctx, pod.UID)
	if err != nil {
		return nil, nil, apierrors.NewInternalError(fmt.Errorf("pod %s/%s: list containers: %w", namespace, name, err))
	}
	return pod, cs, nil
}

// specHasContainer reports whether the pod declares a container (regular, init or
// ephemeral) of that name.
func specHasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// latest returns the newest and the one before it of the runtime's containers named name.
func latest(cs []kubelet.Container, name string) (cur, prev *kubelet.Container) {
	for i := range cs {
		c := &cs[i]
		if c.Name != name {
			continue
		}
		switch {
		case cur == nil || newer(c, cur):
			prev, cur = cur, c
		case prev == nil || newer(c, prev):
			prev = c
		}
	}
	return cur, prev
}

func newer(a, b *kubelet.Container) bool {
	if a.Attempt != b.Attempt {
		return a.Attempt > b.Attempt
	}
	return a.CreatedAt.After(b.CreatedAt)
}

// statusCode is the HTTP code of an API error (500 for others).
func statusCode(err error) int {
	var se apierrors.APIStatus
	if errors.As(err, &se) && se.Status().Code != 0 {
		return int(se.Status().Code)
	}
	return http.StatusInternalServerError
}
