package etcd

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// EmbeddedConfig configures the etcd server that skiff runs in its own process.
type EmbeddedConfig struct {
	// DataDir holds etcd's member directory and its client socket.
	DataDir string
	// UnsafeNoFsync trades durability for speed; only tests and benchmarks that do not test
	// durability set it.
	UnsafeNoFsync bool
}

// Embedded is a running embedded etcd server and a client connected to it over its unix socket.
type Embedded struct {
	etcd   *embed.Etcd
	Client *clientv3.Client
	// SocketPath is the unix socket etcd serves clients on.
	SocketPath string
}

// Quota, request size and compaction interval of the embedded etcd (DESIGN.md: storage).
const (
	quotaBytes        = 8 << 30
	maxRequestBytes   = 4 << 20
	compactionPeriod  = "5m"
	startupTimeout    = 60 * time.Second
	progressNotifyGap = 5 * time.Second
)

// StartEmbedded starts etcd with its data in cfg.DataDir, listening for clients on a unix
// socket in that directory (so several servers can share a machine), with periodic compaction,
// an 8 GiB quota and a request size above the API's 3 MiB body limit. It returns once etcd
// serves requests.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig) (*Embedded, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("etcd data dir %s: %w", cfg.DataDir, err)
	}
	sock := filepath.Join(cfg.DataDir, "etcd.sock")
	_ = os.Remove(sock)

	ec := embed.NewConfig()
	ec.Name = "skiff"
	ec.Dir = filepath.Join(cfg.DataDir, "member-data")
	clientURL := url.URL{Scheme: "unix", Path: sock}
	// A single member never dials its peers; the peer listener takes any free loopback port.
	peerURL := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	ec.ListenClientUrls = []url.URL{clientURL}
	ec.AdvertiseClientUrls = []url.URL{clientURL}
	ec.ListenPeerUrls = []url.URL{peerURL}
	ec.AdvertisePeerUrls = []url.URL{peerURL}
	ec.InitialCluster = ec.Name + "=" + peerURL.String()
	ec.QuotaBackendBytes = quotaBytes
	ec.MaxRequestBytes = maxRequestBytes
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	ec.AutoCompactionRetention = compactionPeriod
	ec.WatchProgressNotifyInterval = progressNotifyGap
	ec.UnsafeNoFsync = cfg.UnsafeNoFsync
	ec.ListenMetricsUrls = nil
	ec.Logger = "zap"
	ec.LogLevel = "error"
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(quietLogger())

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s: %w", cfg.DataDir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(startupTimeout):
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s not ready after %s", cfg.DataDir, startupTimeout)
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	client, err := NewClient([]string{"unix://" + sock})
	if err != nil {
		e.Close()
		return nil, err
	}
	return &Embedded{etcd: e, Client: client, SocketPath: sock}, nil
}

// Close closes the client and stops etcd, waiting for it to flush.
func (e *Embedded) Close() {
	e.Client.Close()
	e.etcd.Close()
}

// NewClient connects to etcd at endpoints (unix://path or http(s)://host:port).
func NewClient(endpoints []string) (*clientv3.Client, error) {
	c, err := clientv3.New(clientv3.Config{
		Endpoints:          endpoints,
		DialTimeout:        10 * time.Second,
		MaxCallSendMsgSize: maxRequestBytes,
		MaxCallRecvMsgSize: 1 << 31 / 2,
		Logger:             quietLogger(),
		DialOptions:        []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())},
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client for %v: %w", endpoints, err)
	}
	return c, nil
}

func quietLogger() *zap.Logger {
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(zapcore.ErrorLevel)
	zc.OutputPaths = []string{"stderr"}
	zc.ErrorOutputPaths = []string{"stderr"}
	l, err := zc.Build(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return shutdownFilter{c} }))
	if err != nil {
		return zap.NewNop()
	}
	return l
}

// shutdownFilter drops the errors etcd logs about its own listeners closing when it stops.
type shutdownFilter struct{ zapcore.Core }

func (f shutdownFilter) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if e.Message == "setting up serving from embedded etcd failed." {
		return ce
	}
	return f.Core.Check(e, ce)
}

func (f shutdownFilter) With(fields []zapcore.Field) zapcore.Core {
	return shutdownFilter{f.Core.With(fields)}
}
