package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/csr"
	"github.com/skiff-project/skiff/internal/kubelet"
	"github.com/skiff-project/skiff/internal/kubelet/eviction"
	"github.com/skiff-project/skiff/internal/kubelet/streaming"
	"github.com/skiff-project/skiff/internal/network/podnet"
	"github.com/skiff-project/skiff/internal/pki"
	"github.com/skiff-project/skiff/internal/runtime/image"
	"github.com/skiff-project/skiff/internal/runtime/linux"
	"github.com/skiff-project/skiff/internal/version"
)

// Defaults of Config.
const (
	DefaultDataDir       = "/var/lib/skiff/agent"
	DefaultClusterCIDR   = "10.42.0.0/16"
	DefaultServiceCIDR   = "10.43.0.0/16"
	DefaultClusterDomain = "cluster.local"
	// KubeletPort is where the node's streaming server listens (status.daemonEndpoints).
	KubeletPort = 10250
)

// Image garbage collection, with the kubelet's thresholds.
const (
	imageGCPeriod = 5 * time.Minute
	imageGCHigh   = 85
	imageGCLow    = 80
)

// Config is what an agent is started with (`skiff agent` flags; `skiff server` fills it for its
// local node).
type Config struct {
	// Server is the API server's URL, https://HOST:PORT.
	Server string
	// Token is the join token (the server's <data-dir>/token); TokenFile is read when Token
	// is empty.
	Token     string
	TokenFile string
	// DataDir holds everything the agent keeps (see the package documentation); default
	// /var/lib/skiff/agent.
	DataDir string
	// NodeName defaults to the hostname, in lower case.
	NodeName string
	// NodeIP is the node's InternalIP; default: the address of the interface with the default
	// route.
	NodeIP string
	// ResolvConf is the resolver configuration pods get a copy of (default /etc/resolv.conf).
	ResolvConf string
	// ClusterCIDRs and ServiceCIDRs are destinations pods reach without masquerade (defaults
	// 10.42.0.0/16 and 10.43.0.0/16, the server's).
	ClusterCIDRs []string
	ServiceCIDRs []string
	// ClusterDNS is the cluster DNS Service's IP that pods with dnsPolicy ClusterFirst are
	// given, and that the node's DNS server answers on (default: the 10th address of the first
	// service CIDR, the server's default --cluster-dns); ClusterDomain defaults to
	// cluster.local.
	ClusterDNS    string
	ClusterDomain string
	// NetworkBackend is how pods reach the pods of other nodes: "vxlan" (the default),
	// "host-gw" (nodes on one L2 segment) or "none" (podnet.Backend*).
	NetworkBackend string
	// ShimPath is the skiff-shim binary; default: beside this executable.
	ShimPath string
	// Labels are added to the Node's; MaxPods is its pods capacity (default 110).
	Labels  map[string]string
	MaxPods int
	// VolumeResync is how often ConfigMap and Secret volumes are compared with their sources
	// besides the watches (default 60s).
	VolumeResync time.Duration
	// Port is the port of the node's streaming server (logs, exec, port-forward, stats); 0
	// means KubeletPort, -1 serves none.
	Port int
	// Serve, if set, replaces the node's streaming server: it is started once the serving
	// certificate is there, with a TLS
	// configuration for port 10250 (the serving certificate, renewed in place, and client
	// certificates checked against the cluster CA) and the node's runtime: the kubelet's
	// streaming server (logs, exec, port-forward). It runs until ctx ends.
	Serve func(ctx context.Context, tlsConfig *tls.Config, rt kubelet.Runtime) error
	// EvictionHard are the node's hard eviction thresholds (--eviction-hard); nil means
	// upstream's defaults, an empty list none. EvictionPressureTransitionPeriod is
	// --eviction-pressure-transition-period (default 5m). See docs/agent.md, "Node-pressure
	// eviction".
	EvictionHard                     []eviction.Threshold
	EvictionPressureTransitionPeriod time.Duration
	// Clock defaults to the real clock (tests of certificate renewal set a fake one).
	Clock clock.WithTicker
	Log   *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.Server == "" {
		return errors.New("agent: no server URL (--server)")
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return err
	}
	c.DataDir = abs
	if c.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("agent: node name: %w", err)
		}
		c.NodeName = strings.ToLower(h)
	}
	if c.Port == 0 {
		c.Port = KubeletPort
	}
	switch c.NetworkBackend {
	case "", podnet.BackendVXLAN, podnet.BackendHostGW, podnet.BackendNone:
	default:
		return fmt.Errorf("agent: network backend %q: want %s, %s or %s", c.NetworkBackend, podnet.BackendVXLAN, podnet.BackendHostGW, podnet.BackendNone)
	}
	if c.Token == "" {
		if c.TokenFile == "" {
			return errors.New("agent: no join token (--token-file)")
		}
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return fmt.Errorf("agent: join token: %w", err)
		}
		c.Token = strings.TrimSpace(string(b))
	}
	if len(c.ClusterCIDRs) == 0 {
		c.ClusterCIDRs = []string{DefaultClusterCIDR}
	}
	if len(c.ServiceCIDRs) == 0 {
		c.ServiceCIDRs = []string{DefaultServiceCIDR}
	}
	if c.ClusterDomain == "" {
		c.ClusterDomain = DefaultClusterDomain
	}
	if c.ClusterDNS == "" {
		dns, err := nthAddress(c.ServiceCIDRs[0], 10)
		if err != nil {
			return fmt.Errorf("agent: service CIDR: %w", err)
		}
		c.ClusterDNS = dns.String()
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return nil
}

// nthAddress returns the n-th address of cidr (the network address is the 0th).
func nthAddress(cidr string, n int) (netip.Addr, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Addr{}, err
	}
	a := p.Masked().Addr()
	for range n {
		a = a.Next()
	}
	if !p.Contains(a) {
		return netip.Addr{}, fmt.Errorf("%s has no address number %d", cidr, n)
	}
	return a, nil
}

// Paths under the data dir.
func (c *Config) path(parts ...string) string {
	return filepath.Join(append([]string{c.DataDir}, parts...)...)
}

// CgroupParent is the cgroup of a node's pods: skiff-<node name>.
func CgroupParent(nodeName string) string { return "skiff-" + nodeName }

// Agent is a running node.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	caPEM   []byte
	caPool  *x509.CertPool
	client  *keyPair
	serving *keyPair
	trans   *clientTransport
	rest    *rest.Config
	api     kubernetes.Interface

	store   *image.Store
	images  *imageSource
	runtime *linux.Runtime
	network *podNetwork
	podNet  *podnet.Network
	host    *kubelet.Host
	kubelet *kubelet.Kubelet

	podCIDRs []string
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	shutOnce sync.Once
	ready    atomic.Bool
	stopped  chan struct{}
}

// Run starts the agent and runs it until ctx ends, then shuts it down: the node agent stops,
// and its pods' containers keep running (a new agent on the same data dir adopts them).
func Run(ctx context.Context, cfg Config) error {
	a, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	a.Wait()
	return nil
}

// Start joins the cluster and starts the node; it returns once the node is ready (registered,
// with its podCIDR and pod network) and stops when ctx ends. It logs one line per start-up
// step and a last "ready" line.
func Start(ctx context.Context, cfg Config) (_ *Agent, err error) {
	begin := time.Now()
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	log := cfg.Log.With("node", cfg.NodeName)
	runCtx, cancel := context.WithCancel(ctx)
	a := &Agent{cfg: cfg, log: log, cancel: cancel, stopped: make(chan struct{}), network: newPodNetwork()}
	defer func() {
		if err != nil {
			a.shutdown()
		}
	}()
	go func() {
		<-runCtx.Done()
		a.shutdown()
	}()

	if err := a.makeDirs(); err != nil {
		return nil, err
	}
	log.Info("data dir ready", "dir", cfg.DataDir)
	if err := a.join(runCtx); err != nil {
		return nil, err
	}
	if err := a.startRuntime(); err != nil {
		return nil, err
	}
	a.startKubelet(runCtx)
	if err := a.startNetwork(runCtx); err != nil {
		return nil, err
	}
	a.startServing(runCtx)
	if err := a.startServices(runCtx); err != nil {
		return nil, err
	}
	a.goRun(func() { a.collectImages(runCtx) })
	a.ready.Store(true)
	log.Info("skiff agent ready", "server", cfg.Server, "podCIDRs", a.podCIDRs, "node-ip", a.cfg.NodeIP,
		"data-dir", cfg.DataDir, "startup", time.Since(begin).Round(time.Millisecond))
	return a, nil
}

func (a *Agent) goRun(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// Wait blocks until the agent has shut down after its context ended.
func (a *Agent) Wait() { <-a.stopped }

// shutdown stops everything started, in reverse order; it runs once.
func (a *Agent) shutdown() { a.shutOnce.Do(a.stop) }

func (a *Agent) stop() {
	a.cancel()
	a.wg.Wait()
	if a.runtime != nil {
		a.runtime.Close()
	}
	if a.store != nil {
		a.store.Close()
	}
	if a.ready.Load() {
		a.log.Info("agent stopped; pods keep running")
	}
	close(a.stopped)
}

// NodeName returns the node's name.
func (a *Agent) NodeName() string { return a.cfg.NodeName }

// Client returns the agent's API client (the node's identity).
func (a *Agent) Client() kubernetes.Interface { return a.api }

// Runtime returns the node's container runtime.
func (a *Agent) Runtime() *linux.Runtime { return a.runtime }

// PodCIDRs returns the node's podCIDRs.
func (a *Agent) PodCIDRs() []string { return a.podCIDRs }

// ServingCertificate returns the node's serving certificate for port 10250 (nil until the
// server has issued it).
func (a *Agent) ServingCertificate() *tls.Certificate { return a.serving.current() }

// ServingTLSConfig returns the TLS configuration of the node's port 10250: the serving
// certificate current at each handshake, and client certificates verified against the cluster
// CA when given (the API server's proxy presents its own).
func (a *Agent) ServingTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: pki.CipherSuites,
		NextProtos:   []string{"h2", "http/1.1"},
		ClientCAs:    a.caPool,
		ClientAuth:   tls.VerifyClientCertIfGiven,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c := a.serving.current(); c != nil {
				return c, nil
			}
			return nil, errors.New("the node has no serving certificate yet")
		},
	}
}

func (a *Agent) makeDirs() error {
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := os.Chmod(a.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	for _, d := range []string{"pki", "images", "runtime", "network", "logs", "pods"} {
		if err := os.MkdirAll(a.cfg.path(d), 0o700); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
	}
	// Containers read their logs' and volumes' parents through bind mounts, not paths; the
	// directories stay private to root.
	return os.Chmod(a.cfg.path("pki"), 0o700)
}

// join checks the server against the join token and gets the node's client certificate:
// the one in pki/ if it is still good, else a new one through a CertificateSigningRequest
// made with the join token.
func (a *Agent) join(ctx context.Context) error {
	cfg := &a.cfg
	tok, err := pki.ParseToken(cfg.Token)
	if err != nil {
		return fmt.Errorf("join token: %w", err)
	}
	caPEM, err := pki.ServerCA(ctx, cfg.Server, tok)
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return errors.New("join: the server's CA certificate does not parse")
	}
	if err := writeFile0600(cfg.path("pki", "ca.crt"), caPEM); err != nil {
		return err
	}
	a.caPEM, a.caPool = caPEM, pool
	a.log.Info("server verified against the join token's CA hash", "server", cfg.Server)

	if cfg.NodeIP == "" {
		if cfg.NodeIP, err = defaultNodeIP(); err != nil {
			return err
		}
	}
	if net.ParseIP(cfg.NodeIP) == nil {
		return fmt.Errorf("node IP %q is not an IP address", cfg.NodeIP)
	}

	a.client = newKeyPair(cfg.path("pki"), "client")
	a.serving = newKeyPair(cfg.path("pki"), "serving")
	user := "system:node:" + cfg.NodeName
	loadErr := a.client.load(func(c *x509.Certificate) error {
		return checkCert(c, pool, user, x509.ExtKeyUsageClientAuth, cfg.Clock.Now())
	})
	a.trans = newClientTransport(pool, a.client)
	a.rest = a.trans.restConfig(cfg.Server)
	if a.api, err = kubernetes.NewForConfig(a.rest); err != nil {
		return err
	}
	if loadErr == nil {
		a.log.Info("client certificate loaded", "user", user, "expires", a.client.leaf().NotAfter.Format(time.RFC3339))
	} else {
		if existsAt(a.client.certPath) {
			a.log.Info("client certificate in pki/ is not usable; joining again", "err", loadErr)
		}
		if err := a.bootstrap(ctx); err != nil {
			return err
		}
		a.log.Info("client certificate issued through a CertificateSigningRequest", "user", user,
			"expires", a.client.leaf().NotAfter.Format(time.RFC3339))
	}
	a.goRun(func() { rotate(ctx, cfg.Clock, a.client, a.renewClient, a.log, "client") })
	return nil
}

// bootstrap obtains a client certificate with the join token.
func (a *Agent) bootstrap(ctx context.Context) error {
	conf := &rest.Config{Host: a.cfg.Server, BearerToken: a.cfg.Token, TLSClientConfig: rest.TLSClientConfig{CAData: a.caPEM},
		UserAgent: "skiff-agent/" + version.Skiff}
	boot, err := kubernetes.NewForConfig(conf)
	if err != nil {
		return err
	}
	if err := obtain(ctx, boot, a.client, csr.NodeClient(a.cfg.NodeName)); err != nil {
		return fmt.Errorf("join: node client certificate: %w", err)
	}
	return nil
}

// renewClient obtains a new client certificate with the current one (selfnodeclient), or with
// the join token once the current one has expired, then closes the connections made with the
// old one.
func (a *Agent) renewClient(ctx context.Context) error {
	var err error
	if leaf := a.client.leaf(); leaf != nil && a.cfg.Clock.Now().Before(leaf.NotAfter) {
		err = obtain(ctx, a.api, a.client, csr.NodeClient(a.cfg.NodeName))
	} else {
		err = a.bootstrap(ctx)
	}
	if err != nil {
		return err
	}
	a.trans.dialer.CloseAll()
	return nil
}

// renewServing obtains a serving certificate for the node's name and address.
func (a *Agent) renewServing(ctx context.Context) error {
	return obtain(ctx, a.api, a.serving, csr.NodeServing(a.cfg.NodeName, []string{a.cfg.NodeName}, []net.IP{net.ParseIP(a.cfg.NodeIP)}))
}

// startRuntime opens the image store and the runtime, which re-adopts the pods of an earlier
// agent; their containers' images are marked used again.
func (a *Agent) startRuntime() error {
	cfg := &a.cfg
	store, err := image.Open(cfg.path("images"), a.log.With("component", "images"))
	if err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	a.store = store
	a.images = newImageSource(store)
	podsDir := cfg.path("pods")
	rt, err := linux.New(linux.Config{
		Dir:          cfg.path("runtime"),
		LogDir:       cfg.path("logs"),
		CgroupParent: CgroupParent(cfg.NodeName),
		ShimPath:     cfg.ShimPath,
		Images:       a.images,
		Network:      a.network,
		VolumePath: func(pod *corev1.Pod, name string) (string, error) {
			return kubelet.VolumePath(podsDir, pod, name)
		},
		NodeIP:         cfg.NodeIP,
		ResolvConfPath: cfg.ResolvConf,
		ResolvConf:     a.podResolvConf,
		Log:            a.log.With("component", "runtime"),
	})
	if errors.Is(err, fs.ErrNotExist) && strings.Contains(err.Error(), "shim") {
		return fmt.Errorf("%w (build skiff-shim beside skiff: go build -o bin/ ./cmd/...)", err)
	}
	if err != nil {
		return err
	}
	a.runtime = rt
	uids, _ := rt.ListSandboxes(context.Background())
	for _, uid := range uids {
		ctrs, err := rt.ListContainers(context.Background(), uid)
		if err != nil {
			continue
		}
		for _, c := range ctrs {
			a.images.adopt(rt.ContainerRootfsDir(uid, c.ID), c.ImageID)
		}
	}
	a.log.Info("container runtime ready", "images", len(store.List()), "pods-adopted", len(uids),
		"cgroup-parent", CgroupParent(cfg.NodeName), "shim", rt.ShimPath())
	return nil
}

// startKubelet starts the node agent proper: it registers the Node, renews its Lease, and runs
// the pods bound to it.
func (a *Agent) startKubelet(ctx context.Context) {
	cfg := &a.cfg
	m, err := readMachine(cfg.DataDir)
	if err != nil {
		a.log.Warn("machine facts", "err", err)
	}
	kcfg := kubelet.Config{
		NodeName: cfg.NodeName, CPU: m.cpu, Memory: m.memory, EphemeralStorage: m.storage, MaxPods: cfg.MaxPods,
		Labels: cfg.Labels,
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: cfg.NodeIP},
			{Type: corev1.NodeHostName, Address: cfg.NodeName},
		},
		KubeletVersion: version.Info().GitVersion, RuntimeVersion: linux.Version,
		PodsDir: cfg.path("pods"), Environment: true, VolumeResync: cfg.VolumeResync, KubeletPort: int32(max(cfg.Port, 0)),
		SystemInfo: m.info, ReadyCheck: a.network.check,
	}
	kcfg.Stats, kcfg.ReclaimImages = newNodeStats(a.runtime, cfg.path("pods"), cfg.path("images")), a.reclaimImages
	kcfg.EvictionHard, kcfg.EvictionPressureTransitionPeriod = cfg.EvictionHard, cfg.EvictionPressureTransitionPeriod
	a.host = kubelet.NewHost(a.api, kubelet.HostOptions{
		PodFieldSelector:  "spec.nodeName=" + cfg.NodeName,
		NodeFieldSelector: "metadata.name=" + cfg.NodeName,
		WatchServices:     true,
		Log:               a.log.With("component", "kubelet"),
	})
	a.kubelet = a.host.AddNode(kcfg, a.runtime)
	a.goRun(func() {
		if err := a.host.Run(ctx); err != nil {
			a.log.Error("kubelet stopped", "err", err)
		}
	})
	a.log.Info("kubelet started: registering the node", "cpu", m.cpu.String(), "memory", m.memory.String(),
		"kernel", m.info.KernelVersion, "os", m.info.OSImage)
}

// startNetwork waits for the Node's podCIDR (node IPAM assigns it once the Node is
// registered), then builds the node's pod network, releases the addresses of pods that went
// away while no agent ran, and starts the overlay to the other nodes (startOverlay), so that
// the node is Ready with its routes to the nodes known by then.
func (a *Agent) startNetwork(ctx context.Context) error {
	cidrs, err := a.waitPodCIDRs(ctx)
	if err != nil {
		return err
	}
	a.podCIDRs = cidrs
	a.log.Info("podCIDR assigned", "podCIDRs", cidrs)
	n, err := podnet.New(podnet.Config{
		NodeName:     a.cfg.NodeName,
		StateDir:     a.cfg.path("network"),
		PodCIDRs:     cidrs,
		ClusterCIDRs: a.cfg.ClusterCIDRs,
		ServiceCIDRs: a.cfg.ServiceCIDRs,
		Backend:      a.cfg.NetworkBackend,
		NodeIP:       a.cfg.NodeIP,
		Log:          a.log.With("component", "podnet"),
	})
	if err != nil {
		return err
	}
	if err := n.EnsureNode(ctx); err != nil {
		return err
	}
	live := map[string]bool{}
	uids, _ := a.runtime.ListSandboxes(ctx)
	for _, uid := range uids {
		live[string(uid)] = true
	}
	if err := n.GC(ctx, live); err != nil {
		a.log.Warn("pod network GC", "err", err)
	}
	a.startOverlay(ctx, n)
	a.podNet = n
	a.network.set(n)
	a.kubelet.UpdateNodeStatus()
	a.log.Info("pod network ready", "bridge", n.BridgeName(), "nftables-table", "inet "+n.TableName(), "mtu", n.MTU())
	return nil
}

func (a *Agent) waitPodCIDRs(ctx context.Context) ([]string, error) {
	nodes := a.api.CoreV1().Nodes()
	lastLog := time.Now()
	for {
		n, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err == nil {
			if len(n.Spec.PodCIDRs) > 0 {
				return n.Spec.PodCIDRs, nil
			}
			if n.Spec.PodCIDR != "" {
				return []string{n.Spec.PodCIDR}, nil
			}
		}
		if time.Since(lastLog) > 15*time.Second {
			lastLog = time.Now()
			a.log.Info("waiting for the node's podCIDR (node IPAM in the server's controller manager assigns it)", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startServing obtains the serving certificate (or keeps the one in pki/), keeps it renewed,
// and starts Config.Serve with it.
func (a *Agent) startServing(ctx context.Context) {
	cfg := &a.cfg
	err := a.serving.load(func(c *x509.Certificate) error {
		if err := checkCert(c, a.caPool, "system:node:"+cfg.NodeName, x509.ExtKeyUsageServerAuth, cfg.Clock.Now()); err != nil {
			return err
		}
		if c.VerifyHostname(cfg.NodeIP) != nil || c.VerifyHostname(cfg.NodeName) != nil {
			return fmt.Errorf("the certificate does not name %s and %s", cfg.NodeName, cfg.NodeIP)
		}
		return nil
	})
	if err == nil {
		a.log.Info("serving certificate loaded", "expires", a.serving.leaf().NotAfter.Format(time.RFC3339))
	} else {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = a.renewServing(sctx)
		cancel()
		if err != nil {
			a.log.Warn("serving certificate not issued yet; will retry", "err", err)
		} else {
			a.log.Info("serving certificate issued through a CertificateSigningRequest", "names", []string{cfg.NodeName, cfg.NodeIP},
				"expires", a.serving.leaf().NotAfter.Format(time.RFC3339))
		}
	}
	a.goRun(func() { rotate(ctx, cfg.Clock, a.serving, a.renewServing, a.log, "serving") })
	serve := cfg.Serve
	if serve == nil && cfg.Port > 0 {
		serve = a.serveStreaming
	}
	if serve == nil {
		return
	}
	a.goRun(func() {
		for a.serving.current() == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		a.log.Info("serving the node's port", "port", cfg.Port)
		if err := serve(ctx, a.ServingTLSConfig(), a.runtime); err != nil && ctx.Err() == nil {
			a.log.Error("node server stopped", "err", err)
		}
	})
}

// serveStreaming runs the node's streaming server (internal/kubelet/streaming) on the node's
// address and Port: client certificates are required, and every request is authorized with a
// SubjectAccessReview, as upstream's kubelet in webhook mode.
func (a *Agent) serveStreaming(ctx context.Context, tlsConfig *tls.Config, rt kubelet.Runtime) error {
	srv, err := streaming.New(streaming.Config{NodeName: a.cfg.NodeName, Runtime: rt, Pods: a.kubelet,
		Authorizer: streaming.SubjectAccessReviewer(a.api.AuthorizationV1().SubjectAccessReviews(), nil),
		Log:        a.log.With("component", "streaming")})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(a.cfg.NodeIP, strconv.Itoa(a.cfg.Port)))
	if err != nil {
		return fmt.Errorf("node port: %w", err)
	}
	tlsConfig = tlsConfig.Clone()
	tlsConfig.ClientAuth = tls.RequireAndVerifyClientCert
	return srv.Serve(ctx, ln, tlsConfig)
}

// collectImages runs the image store's GC with the kubelet's thresholds until ctx ends.
func (a *Agent) collectImages(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(imageGCPeriod):
		}
		freed, err := a.store.GC(ctx, imageGCHigh, imageGCLow)
		if err != nil {
			a.log.Warn("image garbage collection", "err", err)
		} else if freed > 0 {
			a.log.Info("image garbage collection", "freed-bytes", freed)
		}
	}
}

// PodUIDs lists the pods whose sandboxes the runtime holds.
func (a *Agent) PodUIDs() []types.UID {
	uids, _ := a.runtime.ListSandboxes(context.Background())
	return uids
}
