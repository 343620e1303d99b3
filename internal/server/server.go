// Package server assembles the control plane of `skiff server`: data directory, PKI,
// embedded or external etcd, storage and its watch cache, the API server, the objects every
// cluster starts with, and the built-in controllers; it serves until its context ends.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	resourcev1 "k8s.io/api/resource/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/skiff-project/skiff/internal/agent"
	"github.com/skiff-project/skiff/internal/allocator"
	"github.com/skiff-project/skiff/internal/apiserver"
	"github.com/skiff-project/skiff/internal/apiserver/admission/limitranger"
	"github.com/skiff-project/skiff/internal/apiserver/admission/priority"
	"github.com/skiff-project/skiff/internal/apiserver/admission/resourcequota"
	saadmission "github.com/skiff-project/skiff/internal/apiserver/admission/serviceaccount"
	"github.com/skiff-project/skiff/internal/apiserver/authn"
	"github.com/skiff-project/skiff/internal/audit"
	"github.com/skiff-project/skiff/internal/cacheinformer"
	"github.com/skiff-project/skiff/internal/defaults"
	"github.com/skiff-project/skiff/internal/encryption"
	"github.com/skiff-project/skiff/internal/pki"
	"github.com/skiff-project/skiff/internal/printers"
	"github.com/skiff-project/skiff/internal/registry"
	"github.com/skiff-project/skiff/internal/serviceaccount"
	"github.com/skiff-project/skiff/internal/storage"
	"github.com/skiff-project/skiff/internal/storage/etcd"
	"github.com/skiff-project/skiff/internal/version"
)

// Server is a running control plane.
type Server struct {
	Config   Config
	Registry *registry.Registry
	API      *apiserver.Server
	// URL is where the API server listens (https://host:port).
	URL string
	// AdminKubeconfig is the path of the cluster-admin kubeconfig.
	AdminKubeconfig string
	// Token is the join token for agents and simulators.
	Token pki.Token
	// CAPEM is the cluster CA certificate.
	CAPEM []byte
	// Etcd is the server's etcd client (for tests and maintenance).
	Etcd *clientv3.Client
	// Feed is the server's watch cache feed.
	Feed *storage.Feed

	log     *slog.Logger
	stopped chan struct{}
}

// Wait blocks until the server has shut down after its context ended: HTTP server closed,
// watches ended, etcd closed.
func (s *Server) Wait() { <-s.stopped }

// Paths of files under the data dir.
func (c Config) path(parts ...string) string {
	return filepath.Join(append([]string{c.DataDir}, parts...)...)
}

// Run starts the control plane and serves until ctx ends, then shuts down cleanly. It logs
// one line per start-up step and one line when ready.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	s, err := Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	s.Wait()
	log.Info("stopped")
	return nil
}

// Start starts the control plane; it stops when ctx ends. It returns once the API server
// is ready.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (_ *Server, err error) {
	begin := time.Now()
	// Everything started is stopped in reverse order when ctx ends, or at once if start-up fails.
	var teardown []func()
	stopped := make(chan struct{})
	stopAll := func() {
		for i := len(teardown) - 1; i >= 0; i-- {
			teardown[i]()
		}
		close(stopped)
	}
	runCtx, cancelRun := context.WithCancel(ctx)
	teardown = append(teardown, cancelRun)
	defer func() {
		if err != nil {
			stopAll()
			return
		}
		go func() {
			<-ctx.Done()
			stopAll()
		}()
	}()
	ctx = runCtx
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
	}
	if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
	}
	_, serviceNet, err := net.ParseCIDR(cfg.ServiceCIDR)
	if err != nil {
		return nil, fmt.Errorf("--service-cidr %q: %w", cfg.ServiceCIDR, err)
	}
	if _, _, err := net.ParseCIDR(cfg.ClusterCIDR); err != nil {
		return nil, fmt.Errorf("--cluster-cidr %q: %w", cfg.ClusterCIDR, err)
	}
	if cfg.NodeName == "" {
		cfg.NodeName, _ = os.Hostname()
	}

	// PKI.
	tlsDir := cfg.path("tls")
	ca, err := pki.LoadOrCreateCA(tlsDir, "skiff-server-ca")
	if err != nil {
		return nil, fmt.Errorf("certificate authority: %w", err)
	}
	ipAlloc := allocator.NewIPs(serviceNet, nil, 0)
	firstServiceIP := ipAlloc.Nth(1)
	if cfg.ClusterDNS == "" {
		cfg.ClusterDNS = ipAlloc.Nth(10).String()
	} else if ip := net.ParseIP(cfg.ClusterDNS); ip == nil || !serviceNet.Contains(ip) {
		return nil, fmt.Errorf("--cluster-dns %q: not an address in --service-cidr %s", cfg.ClusterDNS, cfg.ServiceCIDR)
	}
	servingSpec := servingCertSpec(cfg, firstServiceIP)
	servingCert, servingKey, err := ca.LoadOrIssue(filepath.Join(tlsDir, "serving.crt"), filepath.Join(tlsDir, "serving.key"), servingSpec)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	adminCert, adminKey, err := ca.LoadOrIssue(filepath.Join(tlsDir, "admin.crt"), filepath.Join(tlsDir, "admin.key"),
		pki.LeafSpec{CommonName: "system:admin", Organization: []string{"system:masters"}, Client: true})
	if err != nil {
		return nil, fmt.Errorf("admin certificate: %w", err)
	}
	// The API server's identity towards kubelets, as upstream's --kubelet-client-certificate:
	// system:masters, so that a kubelet's SubjectAccessReview allows it everything.
	kubeletClient, err := loadKubeletClient(ca, tlsDir)
	if err != nil {
		return nil, fmt.Errorf("kubelet client certificate: %w", err)
	}
	token, err := pki.LoadOrCreateToken(cfg.path("token"), ca)
	if err != nil {
		return nil, fmt.Errorf("join token: %w", err)
	}
	log.Info("certificates ready", "dir", tlsDir, "sans", len(servingSpec.DNSNames)+len(servingSpec.IPs))

	// etcd.
	var client *clientv3.Client
	if len(cfg.EtcdServers) > 0 {
		client, err = etcd.NewClient(cfg.EtcdServers)
		if err != nil {
			return nil, err
		}
		teardown = append(teardown, func() { client.Close() })
		log.Info("etcd connected", "servers", cfg.EtcdServers)
	} else {
		e, err := etcd.StartEmbedded(ctx, etcd.EmbeddedConfig{DataDir: cfg.path("etcd"), UnsafeNoFsync: cfg.UnsafeNoFsync})
		if err != nil {
			return nil, err
		}
		teardown = append(teardown, e.Close)
		go e.RunDefrag(ctx, etcd.DefragInterval, log)
		client = e.Client
		log.Info("embedded etcd started", "socket", e.SocketPath)
	}

	// Storage and registry.
	scheme, err := registry.NewScheme()
	if err != nil {
		return nil, err
	}
	if err := defaults.AddToScheme(scheme); err != nil {
		return nil, err
	}
	reg, err := registry.New(scheme, registry.BuiltinResources())
	if err != nil {
		return nil, err
	}
	keys, err := encryption.LoadOrCreate(cfg.path("cred", "encryption-config.json"))
	if err != nil {
		return nil, fmt.Errorf("secrets encryption keys: %w", err)
	}
	feed := storage.NewFeed(client, log)
	if err := reg.Open(ctx, client, feed, map[schema.GroupResource]storage.Transformer{{Resource: "secrets"}: keys}); err != nil {
		return nil, err
	}
	if err := feed.Start(ctx); err != nil {
		return nil, err
	}
	log.Info("watch cache loaded", "revision", feed.Revision(), "resources", len(reg.Resources()))
	log.Info("secrets encrypted at rest", "provider", "secretbox", "key", keys.Primary())

	ipAlloc = allocator.NewIPs(serviceNet, reg.Store(networkingv1.SchemeGroupVersion.WithResource("ipaddresses")), time.Now().UnixNano())
	svcStore := reg.Store(schema.GroupVersionResource{Version: "v1", Resource: "services"})
	svcStore.Hooks = &allocator.Services{IPs: ipAlloc, Ports: allocator.NewPorts(client, scheme, 30000, 2768, time.Now().UnixNano())}
	nsStore := reg.Store(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"})
	for _, r := range []string{"resourceclaims", "resourceclaimtemplates"} {
		reg.Store(resourcev1.SchemeGroupVersion.WithResource(r)).Hooks = registry.DRAAdminAccess{Namespaces: nsStore}
	}
	for _, res := range reg.Resources() {
		if res.Namespaced {
			reg.Store(res.GroupVersionResource()).NamespaceCheck = namespaceCheck(nsStore)
		}
	}

	policy := audit.DefaultPolicy
	if cfg.AuditPolicyFile != "" {
		if policy, err = audit.LoadPolicy(cfg.AuditPolicyFile); err != nil {
			return nil, err
		}
	}
	if cfg.AuditLogPath == "" {
		cfg.AuditLogPath = cfg.path("audit.log")
	}
	auditLog, err := audit.Open(audit.LogOptions{Path: cfg.AuditLogPath, MaxAgeDays: cfg.AuditMaxAge, MaxBackups: cfg.AuditMaxBackup, MaxSizeMB: cfg.AuditMaxSize}, policy)
	if err != nil {
		return nil, err
	}
	teardown = append(teardown, func() { auditLog.Close() })
	log.Info("audit log open", "path", cfg.AuditLogPath, "policy", cfg.AuditPolicyFile)

	encrypt := &secretsEncryption{keys: keys, client: client, store: reg.Store(schema.GroupVersionResource{Version: "v1", Resource: "secrets"})}

	authz := newAuthorization(ctx, reg)
	saKey, err := serviceaccount.LoadOrCreateKey(filepath.Join(tlsDir, "service-account.key"))
	if err != nil {
		return nil, err
	}
	issuer := serviceaccount.IssuerURL(cfg.ClusterDomain)
	saObjects := registryObjects{reg: reg}
	var static authn.StaticTokens
	if cfg.TokenAuthFile != "" {
		if static, err = authn.LoadStaticTokens(cfg.TokenAuthFile); err != nil {
			return nil, err
		}
		log.Info("static tokens loaded", "file", cfg.TokenAuthFile, "tokens", len(static))
	}
	toks := &tokens{static: static, join: token, log: log, sa: &serviceaccount.Authenticator{Issuer: issuer, Key: &saKey.PublicKey, Audiences: []string{issuer}, Objects: saObjects}}
	tokenRequests := &serviceaccount.TokenRequests{Issuer: &serviceaccount.Issuer{Issuer: issuer, Key: saKey}, Audiences: []string{issuer}, Objects: saObjects}
	// The ServiceAccount controller creates each namespace's "default" account; without the
	// controller manager nothing does, and pods may run as a missing "default" account.
	podSecurity, err := newPodSecurity(reg, cfg.PodSecurityEnforce)
	if err != nil {
		return nil, err
	}
	reg.SetAdmission(authz.admission(
		&limitranger.Plugin{LimitRanges: reg.Store(schema.GroupVersionResource{Version: "v1", Resource: "limitranges"})},
		&saadmission.Plugin{Accounts: saObjects.ServiceAccount, DefaultWait: 5 * time.Second, AllowMissingDefault: cfg.DisableControllers},
		podSecurity,
		&priority.Plugin{Classes: reg.Store(schedulingv1.SchemeGroupVersion.WithResource("priorityclasses"))},
		&resourcequota.Plugin{Quotas: reg.Store(schema.GroupVersionResource{Version: "v1", Resource: "resourcequotas"})}))
	(&reviews{authz: authz.chain, token: toks.user, audiences: []string{issuer}}).install(reg)

	// API server.
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(ca.Cert)
	authenticator := toks.authenticator(clientCAs)
	api := apiserver.New(apiserver.Config{
		Registry:     reg,
		Tables:       tables,
		Audit:        auditLog,
		OpenAPI:      newLazyOpenAPI(reg),
		Handlers:     handlers(encrypt, cfg.Profiling),
		Version:      version.Info(),
		Authorizer:   authz.chain,
		Authenticate: authenticator.Authenticate,
		TokenRequest: tokenRequests.Create,
		Kubelet:      kubeletClient,
		Checks: map[string]func() error{
			"etcd": func() error {
				c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				_, err := client.Get(c, "health")
				return err
			},
		},
		Log: log,
	})
	teardown = append(teardown, cancelRun)
	if err := api.Registerer().Register(storage.EtcdLatency); err != nil {
		return nil, err
	}

	addr := net.JoinHostPort(cfg.BindAddress, strconv.Itoa(cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	teardown = append(teardown, func() { ln.Close() })
	if cfg.Port == 0 {
		cfg.Port = ln.Addr().(*net.TCPAddr).Port
	}

	boot := &bootstrap{reg: reg, cfg: cfg, ipAlloc: ipAlloc, log: log}
	if err := boot.run(ctx); err != nil {
		return nil, fmt.Errorf("bootstrap objects: %w", err)
	}
	if err := reconcilePolicy(ctx, reg, log); err != nil {
		return nil, err
	}
	if cfg.DisableControllers {
		// Without the controller manager's namespace controller, the server finalizes deleted
		// namespaces itself, so that they still go.
		go runNamespaceFinalizer(ctx, reg, log)
	}

	// The chain includes the CA, so that a joining node can find the CA its token names in the
	// handshake, before it sends anything.
	cert, err := tls.X509KeyPair(append(append([]byte{}, servingCert...), ca.CertPEM...), servingKey)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler: api,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			// Client certificates are verified by the authenticator, so that one from another CA
			// gets upstream's 401 rather than a failed handshake.
			ClientAuth:   tls.RequestClientCert,
			MinVersion:   tls.VersionTLS12,
			CipherSuites: pki.CipherSuites,
			NextProtos:   []string{"h2", "http/1.1"},
		},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("https server stopped", "err", err)
		}
	}()
	teardown = append(teardown, func() {
		// End watches first: the HTTP server waits for active requests to finish.
		api.Shutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(c)
	})

	url := "https://" + net.JoinHostPort(cfg.kubeconfigHost(), strconv.Itoa(cfg.Port))
	kubeconfig := cfg.path("admin.kubeconfig")
	if err := pki.WriteKubeconfig(kubeconfig, url, ca.CertPEM, adminCert, adminKey); err != nil {
		return nil, fmt.Errorf("admin kubeconfig: %w", err)
	}
	loopback := &rest.Config{Host: url, QPS: -1, TLSClientConfig: rest.TLSClientConfig{CAData: ca.CertPEM, CertData: adminCert, KeyData: adminKey}}
	// Components stop first on shutdown, while the API is still there for them to let go of
	// their leases.
	componentsCtx, stopComponents := context.WithCancel(ctx)
	waitComponents, err := startComponents(componentsCtx, cfg, identities{ca: ca, loopback: loopback}, cacheinformer.New(reg), token.String(), api.Registerer(), log)
	if err != nil {
		stopComponents()
		return nil, err
	}
	teardown = append(teardown, func() {
		stopComponents()
		done := make(chan struct{})
		go func() { waitComponents(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			log.Warn("components did not stop within 5s")
		}
	})
	s := &Server{Config: cfg, Registry: reg, API: api, URL: url, AdminKubeconfig: kubeconfig, Token: token, CAPEM: ca.CertPEM, Etcd: client, Feed: feed, log: log, stopped: stopped}
	log.Info("skiff server ready", "url", url, "kubeconfig", kubeconfig, "token", cfg.path("token"), "startup", time.Since(begin).Round(time.Millisecond))
	if cfg.DisableAgent {
		log.Info("local node agent disabled")
	} else {
		// The node stops first on shutdown, while the API is there for it.
		waitAgent := startLocalAgent(ctx, cfg, url, token, log)
		teardown = append(teardown, waitAgent)
	}
	return s, nil
}

// KubeletClientCommonName is the user the API server is to kubelets.
const KubeletClientCommonName = "kube-apiserver-kubelet-client"

// loadKubeletClient loads (issuing it on first use) the client certificate the API server
// presents to kubelets, tls/apiserver-kubelet-client.{crt,key}, and trusts the cluster CA for
// the kubelets' serving certificates.
func loadKubeletClient(ca *pki.CA, tlsDir string) (*apiserver.KubeletClient, error) {
	certPEM, keyPEM, err := ca.LoadOrIssue(filepath.Join(tlsDir, "apiserver-kubelet-client.crt"), filepath.Join(tlsDir, "apiserver-kubelet-client.key"),
		pki.LeafSpec{CommonName: KubeletClientCommonName, Organization: []string{"system:masters"}, Client: true})
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return &apiserver.KubeletClient{TLS: &tls.Config{
		RootCAs: roots, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, CipherSuites: pki.CipherSuites,
	}}, nil
}

// startLocalAgent runs this machine's node in the background: it joins through its own URL with
// the join token, as any agent does. A machine that cannot run containers keeps its control
// plane: the failure is logged and the cluster runs without this node. It returns a function
// that stops the agent and waits for it.
func startLocalAgent(ctx context.Context, cfg Config, url string, token pki.Token, log *slog.Logger) func() {
	ctx, cancel := context.WithCancel(ctx)
	dataDir := cfg.AgentDataDir
	if dataDir == "" {
		dataDir = cfg.path("agent")
	}
	nodeIP := cfg.NodeIP
	if nodeIP == "" && net.ParseIP(cfg.AdvertiseAddress) != nil {
		nodeIP = cfg.AdvertiseAddress
	}
	acfg := agent.Config{
		Server: url, Token: token.String(), DataDir: dataDir, NodeName: cfg.NodeName, NodeIP: nodeIP,
		ResolvConf: cfg.ResolvConf, ClusterCIDRs: []string{cfg.ClusterCIDR}, ServiceCIDRs: []string{cfg.ServiceCIDR},
		ClusterDNS: cfg.ClusterDNS, ClusterDomain: cfg.ClusterDomain,
		NetworkBackend: cfg.NetworkBackend,
		EvictionHard:   cfg.AgentEvictionHard, EvictionPressureTransitionPeriod: cfg.AgentEvictionPressureTransitionPeriod,
		Log: log.With("component", "agent"),
	}
	log.Info("starting the local node agent", "node", cfg.NodeName, "data-dir", dataDir)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a, err := agent.Start(ctx, acfg)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("the local node agent could not start; the control plane runs without a node on this machine", "err", err)
			}
			return
		}
		a.Wait()
	}()
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			log.Warn("the local node agent did not stop within 10s")
		}
	}
}

func tables(gk schema.GroupKind, items []runtime.Object, now time.Time, includeObject string, noHeaders bool) (*metav1.Table, error) {
	p, ok := printers.For(gk)
	if !ok {
		p = printers.Default
	}
	return p.Table(items, now, includeObject, noHeaders)
}

// servingCertSpec lists the serving certificate's names: the node's addresses, --tls-san,
// the first service IP and the kubernetes service's DNS names.
func servingCertSpec(cfg Config, firstServiceIP net.IP) pki.LeafSpec {
	spec := pki.LeafSpec{CommonName: "kube-apiserver", Server: true}
	spec.DNSNames = []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + cfg.ClusterDomain}
	if h, err := os.Hostname(); err == nil {
		spec.DNSNames = append(spec.DNSNames, h)
	}
	if cfg.NodeName != "" {
		spec.DNSNames = append(spec.DNSNames, cfg.NodeName)
	}
	spec.IPs = append(spec.IPs, net.ParseIP("127.0.0.1"), firstServiceIP)
	for _, a := range localAddresses() {
		spec.IPs = append(spec.IPs, a)
	}
	for _, san := range append(cfg.TLSSANs, cfg.AdvertiseAddress, cfg.BindAddress) {
		if san == "" {
			continue
		}
		if ip := net.ParseIP(san); ip != nil {
			if !ip.IsUnspecified() {
				spec.IPs = append(spec.IPs, ip)
			}
		} else {
			spec.DNSNames = append(spec.DNSNames, san)
		}
	}
	return spec
}

func localAddresses() []net.IP {
	var out []net.IP
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() && !n.IP.IsLoopback() {
			out = append(out, n.IP)
		}
	}
	return out
}

// handlers are the server's extra paths: the secrets-encryption endpoints, and the profiling
// endpoints under /debug/pprof/ when profiling is on (CIS 1.2.15: off by default).
func handlers(encrypt http.Handler, profiling bool) map[string]http.Handler {
	h := map[string]http.Handler{SecretsEncryptStatusPath: encrypt, SecretsEncryptRotatePath: encrypt}
	if !profiling {
		return h
	}
	h["/debug/pprof/"] = http.HandlerFunc(pprof.Index)
	h["/debug/pprof/cmdline"] = http.HandlerFunc(pprof.Cmdline)
	h["/debug/pprof/profile"] = http.HandlerFunc(pprof.Profile)
	h["/debug/pprof/symbol"] = http.HandlerFunc(pprof.Symbol)
	h["/debug/pprof/trace"] = http.HandlerFunc(pprof.Trace)
	for _, name := range []string{"allocs", "block", "goroutine", "heap", "mutex", "threadcreate"} {
		h["/debug/pprof/"+name] = pprof.Handler(name)
	}
	return h
}
