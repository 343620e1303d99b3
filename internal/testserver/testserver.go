// Package testserver starts a real skiff control plane in-process for integration tests: embedded
// etcd in a temporary directory, the API server on a loopback port, and client-go clients
// authenticated as cluster-admin.
package testserver

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/skiff-project/skiff/internal/server"
)

var klogOnce sync.Once

// Server is a running test control plane.
type Server struct {
	*server.Server
	// Config is a cluster-admin client configuration (protobuf by default, as client-go's typed
	// clients use it).
	Config *rest.Config
	Client kubernetes.Interface
	// DataDir is the server's data directory.
	DataDir string

	cancel context.CancelFunc
}

// Options adjust a test server.
type Options struct {
	// DataDir reuses a data directory (for restart tests); empty means a new temporary one.
	DataDir string
	// Verbose sends the server's log to stderr.
	Verbose bool
	// Port is the API server's port; 0 picks a free one.
	Port int
	// DisableScheduler leaves pods unscheduled (for tests that run their own scheduler).
	DisableScheduler bool
	// DisableControllers runs no controller manager (for tests of API semantics, or that run
	// their own controllers).
	DisableControllers bool
	// Configure, if set, adjusts the server's configuration before it starts.
	Configure func(*server.Config)
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := StartServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartServer starts a server; the caller must Stop it. A DataDir left empty is created with
// os.MkdirTemp and removed by Stop.
func StartServer(opts Options) (*Server, error) {
	dir := opts.DataDir
	owned := false
	if dir == "" {
		d, err := os.MkdirTemp("", "skiff-test-")
		if err != nil {
			return nil, err
		}
		dir, owned = d, true
	}
	cfg := server.DefaultConfig()
	cfg.DataDir = dir
	cfg.BindAddress = "127.0.0.1"
	cfg.Port = opts.Port
	cfg.DisableScheduler = opts.DisableScheduler
	cfg.DisableControllers = opts.DisableControllers
	cfg.NodeName = "test-node"
	cfg.UnsafeNoFsync = true
	// Tests that want a node start an agent of their own (internal/agent's tests do).
	cfg.DisableAgent = true
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	var w io.Writer = io.Discard
	if opts.Verbose {
		w = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	klogOnce.Do(func() {
		// klog's logger is process-wide: set it once, before any server runs.
		klog.SetSlogLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})).With("source", "client-go"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.Start(ctx, cfg, log)
	if err != nil {
		cancel()
		if owned {
			os.RemoveAll(dir)
		}
		return nil, err
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", srv.AdminKubeconfig)
	if err != nil {
		cancel()
		return nil, err
	}
	restCfg.QPS, restCfg.Burst = -1, 0
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &Server{Server: srv, Config: restCfg, Client: client, DataDir: dir, cancel: cancel}
	if owned {
		s.cancel = func() {
			cancel()
			srv.Wait()
			os.RemoveAll(dir)
		}
		return s, nil
	}
	s.cancel = func() {
		cancel()
		srv.Wait()
	}
	return s, nil
}

// Stop shuts the server down and waits for it.
func (s *Server) Stop() { s.cancel() }
