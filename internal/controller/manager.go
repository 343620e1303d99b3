package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/pki"
	"github.com/skiff-project/skiff/internal/trim"
	"github.com/skiff-project/skiff/internal/version"
)

// Options configure the controller manager. The zero value is upstream's defaults.
type Options struct {
	// LeaderElect makes the manager act only while it holds the Lease LeaseNamespace/LeaseName.
	LeaderElect bool
	// Identity names this manager in the Lease (default hostname_<uuid>).
	Identity string
	// LeaseNamespace and LeaseName default to kube-system/kube-controller-manager.
	LeaseNamespace, LeaseName string
	// LeaseDuration, RenewDeadline and RetryPeriod default to 15 s, 10 s and 2 s.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// NodeMonitorGracePeriod is how long a node may go without renewing its Lease or posting
	// its status before its Ready condition becomes Unknown (default 50 s).
	NodeMonitorGracePeriod time.Duration
	// NodeMonitorPeriod is how often node health is checked (default 5 s).
	NodeMonitorPeriod time.Duration
	// NodeEvictionRate is how many nodes per second may have their pods evicted (default 0.1);
	// see package nodelifecycle.
	NodeEvictionRate float32
	// Workers is the number of workers per controller (default 5).
	Workers int
	// Controllers, if not empty, names the controllers to run (see Names); the rest are off.
	Controllers []string
	// RootCA is the CA bundle the root CA publisher puts in every namespace's kube-root-ca.crt
	// ConfigMap (default: the CA of the configuration Run is given).
	RootCA []byte
	// Credentials, if set, returns the configuration a controller's clients use, given the
	// controller's service account name (upstream's --use-service-account-credentials): each
	// controller then acts with its own system:controller:<name> permissions. Without it every
	// controller uses the manager's configuration.
	Credentials func(serviceAccount string) (*rest.Config, error)
	// Signer, if set, is the CA the CertificateSigningRequest signer issues certificates with;
	// without it the signer does not run.
	Signer *pki.CA
	// Clock is the time the CronJob controller schedules by and its queue waits on (default
	// the real clock); tests set a fake clock and step it through schedule times.
	Clock clock.WithTicker
	// PrimeInformers, if set, is called on every new informer factory before any controller
	// asks it for informers (the server's in-process manager reads pods and nodes from the
	// watch cache this way; see package cacheinformer).
	PrimeInformers func(informers.SharedInformerFactory)
	// MetadataSource, if set, returns the garbage collector's lister-watcher of a resource's
	// metadata, or nil to use the API (the server lends its watch cache this way).
	MetadataSource func(schema.GroupVersionResource) cache.ListerWatcher
	// Resync is the shared informers' resync period (default 0: none).
	Resync time.Duration
	Log    *slog.Logger
}

func (o *Options) setDefaults() {
	if o.LeaseNamespace == "" {
		o.LeaseNamespace = "kube-system"
	}
	if o.LeaseName == "" {
		o.LeaseName = "kube-controller-manager"
	}
	if o.LeaseDuration == 0 {
		o.LeaseDuration = 15 * time.Second
	}
	if o.RenewDeadline == 0 {
		o.RenewDeadline = 10 * time.Second
	}
	if o.RetryPeriod == 0 {
		o.RetryPeriod = 2 * time.Second
	}
	if o.NodeMonitorGracePeriod == 0 {
		o.NodeMonitorGracePeriod = 50 * time.Second
	}
	if o.NodeMonitorPeriod == 0 {
		o.NodeMonitorPeriod = 5 * time.Second
	}
	if o.NodeEvictionRate == 0 {
		o.NodeEvictionRate = 0.1
	}
	if o.Workers == 0 {
		o.Workers = 5
	}
	if o.Identity == "" {
		host, _ := os.Hostname()
		o.Identity = host + "_" + uuid.NewString()
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// Context is what a controller is built from: the shared informers, clients that identify the
// controller by name, and an event recorder. One Context lives for one leadership term.
type Context struct {
	Informers informers.SharedInformerFactory
	Options   Options
	Log       *slog.Logger

	config      *rest.Config
	broadcaster record.EventBroadcaster
}

// Client returns a client whose user agent (and so field manager) names the controller.
func (c *Context) Client(name string) kubernetes.Interface {
	return kubernetes.NewForConfigOrDie(c.clientConfig(name))
}

// Metadata returns a metadata-only client for the controller name.
func (c *Context) Metadata(name string) metadata.Interface {
	return metadata.NewForConfigOrDie(c.clientConfig(name))
}

// Discovery returns a discovery client for the controller name.
func (c *Context) Discovery(name string) discovery.DiscoveryInterface {
	return discovery.NewDiscoveryClientForConfigOrDie(c.clientConfig(name))
}

// Recorder returns an event recorder whose events come from component.
func (c *Context) Recorder(component string) record.EventRecorder {
	return c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})
}

func (c *Context) clientConfig(name string) *rest.Config {
	cfg := rest.CopyConfig(c.config)
	if c.Options.Credentials != nil {
		own, err := c.Options.Credentials(name)
		if err != nil {
			// Fail closed: a controller without its credentials gets none rather than the
			// manager's.
			c.Log.Error("controller credentials", "controller", name, "err", err)
			cfg.TLSClientConfig.CertData, cfg.TLSClientConfig.KeyData, cfg.BearerToken = nil, nil, ""
		} else {
			cfg.TLSClientConfig, cfg.BearerToken = own.TLSClientConfig, own.BearerToken
		}
	}
	cfg.UserAgent = fmt.Sprintf("kube-controller-manager/%s (skiff %s) %s", "v"+version.KubeMajor+"."+version.KubeMinor+"."+version.KubePatch, version.Skiff, name)
	return cfg
}

// A starter builds a controller on the shared informers (registering the informers it needs)
// and returns the function that runs it until its context ends.
type starter func(c *Context) (run func(ctx context.Context), err error)

// Run runs the controller manager until ctx ends. With LeaderElect it campaigns for the Lease
// and runs the controllers only while it leads; a manager that loses the Lease stops every
// controller and campaigns again.
func Run(ctx context.Context, restConfig *rest.Config, opts Options) error {
	opts.setDefaults()
	if len(opts.RootCA) == 0 {
		opts.RootCA = restConfig.CAData
	}
	cfg := rest.CopyConfig(restConfig)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 200, 400
	}
	enabled, err := selectControllers(opts.Controllers)
	if err != nil {
		return err
	}
	if !opts.LeaderElect {
		return runTerm(ctx, cfg, opts, enabled)
	}
	lockCfg := rest.CopyConfig(cfg)
	lockCfg.UserAgent = "kube-controller-manager/leader-election"
	lockClient, err := kubernetes.NewForConfig(lockCfg)
	if err != nil {
		return err
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: opts.LeaseNamespace, Name: opts.LeaseName},
		Client:     lockClient.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: opts.Identity},
	}
	for ctx.Err() == nil {
		// A term runs in OnStartedLeading's goroutine, which le.Run does not wait for; track
		// it so that no controller of this term still runs when the next campaign starts.
		var (
			mu      sync.Mutex
			over    bool
			running sync.WaitGroup
		)
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   opts.LeaseDuration,
			RenewDeadline:   opts.RenewDeadline,
			RetryPeriod:     opts.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            opts.LeaseName,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					mu.Lock()
					if over {
						mu.Unlock()
						return
					}
					running.Add(1)
					mu.Unlock()
					defer running.Done()
					opts.Log.Info("controller manager leading", "identity", opts.Identity)
					if err := runTerm(ctx, cfg, opts, enabled); err != nil {
						opts.Log.Error("controller manager", "err", err)
					}
				},
				OnStoppedLeading: func() {
					opts.Log.Info("controller manager stopped leading", "identity", opts.Identity)
				},
				OnNewLeader: func(id string) {
					if id != opts.Identity {
						opts.Log.Info("controller manager: another leader", "leader", id)
					}
				},
			},
		})
		if err != nil {
			return err
		}
		le.Run(ctx)
		mu.Lock()
		over = true
		mu.Unlock()
		running.Wait()
	}
	return nil
}

// runTerm builds every enabled controller on a new informer factory, starts them and waits
// until ctx ends and all of them have returned.
func runTerm(ctx context.Context, cfg *rest.Config, opts Options, enabled []namedStarter) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	defer broadcaster.Shutdown()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	c := &Context{
		Informers:   informers.NewSharedInformerFactoryWithOptions(client, opts.Resync, informers.WithTransform(trim.ManagedFields)),
		Options:     opts,
		Log:         opts.Log,
		config:      cfg,
		broadcaster: broadcaster,
	}
	if opts.PrimeInformers != nil {
		opts.PrimeInformers(c.Informers)
	}
	var runs []func(context.Context)
	var names []string
	for _, s := range enabled {
		run, err := s.start(c)
		if err != nil {
			return fmt.Errorf("controller %s: %w", s.name, err)
		}
		runs = append(runs, run)
		names = append(names, s.name)
	}
	c.Informers.Start(ctx.Done())
	var wg sync.WaitGroup
	for i, run := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(ctx)
		}()
		opts.Log.Debug("controller started", "controller", names[i])
	}
	opts.Log.Info("controllers started", "controllers", names)
	<-ctx.Done()
	wg.Wait()
	c.Informers.Shutdown()
	return nil
}

type namedStarter struct {
	name  string
	start starter
}

// Names lists the controllers the manager runs, in start order.
func Names() []string {
	var out []string
	for _, s := range controllers {
		out = append(out, s.name)
	}
	return out
}

func selectControllers(names []string) ([]namedStarter, error) {
	if len(names) == 0 {
		return controllers, nil
	}
	var out []namedStarter
	for _, n := range names {
		found := false
		for _, s := range controllers {
			if s.name == n {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			return nil, errors.New("unknown controller " + n)
		}
	}
	return out, nil
}
