package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-project/skiff/internal/trim"
)

// Options configure Run.
type Options struct {
	// LeaderElect takes the kube-system/kube-scheduler Lease first, so that one of several
	// servers schedules.
	LeaderElect bool
	// Identity in the Lease; default hostname plus a UUID.
	Identity string
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger; nil discards.
	Logger *slog.Logger
	// PrimeInformers, if set, is called on every new informer factory before the scheduler
	// asks it for informers (the server's in-process scheduler reads pods and nodes from the
	// watch cache this way; see package cacheinformer).
	PrimeInformers func(informers.SharedInformerFactory)
	// Config overrides further settings; its LeaderElect, Identity, Registerer and Logger are
	// taken from the fields above.
	Config Config
}

// Run builds a client (QPS and burst 5000, user agent skiff-scheduler) and informers from
// restConfig and schedules until ctx ends. After losing leadership it starts over with fresh
// state, as kube-scheduler restarts.
func Run(ctx context.Context, restConfig *rest.Config, opts Options) error {
	cfg := rest.CopyConfig(restConfig)
	cfg.QPS, cfg.Burst = 5000, 5000
	cfg.UserAgent = "skiff-scheduler"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	sc := opts.Config
	sc.LeaderElect, sc.Identity, sc.Registerer, sc.Logger = opts.LeaderElect, opts.Identity, opts.Registerer, opts.Logger
	for ctx.Err() == nil {
		factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(trim.ManagedFields))
		if opts.PrimeInformers != nil {
			opts.PrimeInformers(factory)
		}
		s := New(client, factory, sc)
		err := s.Run(ctx)
		factory.Shutdown()
		if err != nil && !errors.Is(err, errLostLeadership) {
			return err
		}
		// Metrics are registered once; later instances keep their own unregistered ones.
		sc.Registerer = nil
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

// RunWithClient is Run for a caller that already has a client.
func RunWithClient(ctx context.Context, client kubernetes.Interface, cfg Config) error {
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(trim.ManagedFields))
	defer factory.Shutdown()
	return New(client, factory, cfg).Run(ctx)
}
