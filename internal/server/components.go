package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-project/skiff/internal/apiserver/authz/bootstrappolicy"
	"github.com/skiff-project/skiff/internal/cacheinformer"
	"github.com/skiff-project/skiff/internal/controller"
	"github.com/skiff-project/skiff/internal/controller/clusterroleaggregation"
	"github.com/skiff-project/skiff/internal/controller/nodeipam"
	"github.com/skiff-project/skiff/internal/kubelet/simulate"
	"github.com/skiff-project/skiff/internal/pki"
	"github.com/skiff-project/skiff/internal/scheduler"
)

// identities issues in-process components their own client credentials: certificates from the
// cluster CA, kept in memory, for the component's user and groups, on the loopback
// connection.
type identities struct {
	ca       *pki.CA
	loopback *rest.Config
}

// config returns a client configuration authenticated as user in groups.
func (id identities) config(user string, groups ...string) (*rest.Config, error) {
	cert, key, err := id.ca.Issue(pki.LeafSpec{CommonName: user, Organization: groups, Client: true}, 0)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", user, err)
	}
	cfg := rest.CopyConfig(id.loopback)
	cfg.TLSClientConfig.CertData, cfg.TLSClientConfig.KeyData = cert, key
	return cfg, nil
}

// serviceAccount returns the configuration of kube-system's service account name, as upstream's
// controller manager uses for each controller.
func (id identities) serviceAccount(name string) (*rest.Config, error) {
	return id.config("system:serviceaccount:kube-system:"+name, "system:serviceaccounts", "system:serviceaccounts:kube-system")
}

// startComponents starts the in-process API clients of the control plane, each under its own
// identity with upstream's permissions: node IPAM and ClusterRole aggregation (as their
// controllers' service accounts), the controller manager (system:kube-controller-manager, with a
// service account per controller), the scheduler (system:kube-scheduler) and, when asked,
// simulated nodes (the join token). They run until ctx ends. It returns a function that waits for
// them to stop.
//
// The scheduler and the controller manager read pods and nodes (and the garbage collector
// every resource's metadata) from the API server's watch cache through src, instead of
// decoding copies of their own.
func startComponents(ctx context.Context, cfg Config, id identities, src *cacheinformer.Source, joinToken string, metrics prometheus.Registerer, log *slog.Logger) (func(), error) {
	// Node IPAM and ClusterRole aggregation watch as the controller manager and write as their
	// controllers' service accounts, as upstream's controller manager runs them.
	readConfig, err := id.config(bootstrappolicy.KubeControllerManager)
	if err != nil {
		return nil, err
	}
	reads, err := kubernetes.NewForConfig(readConfig)
	if err != nil {
		return nil, err
	}
	ipamConfig, err := id.serviceAccount("node-controller")
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(ipamConfig)
	if err != nil {
		return nil, err
	}
	aggConfig, err := id.serviceAccount("clusterrole-aggregation-controller")
	if err != nil {
		return nil, err
	}
	aggClient, err := kubernetes.NewForConfig(aggConfig)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	goRun := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	goRun(func() {
		if err := nodeipam.Run(ctx, reads, client, cfg.ClusterCIDR, cfg.NodeCIDRMaskSize); err != nil && ctx.Err() == nil {
			log.Error("node IPAM stopped", "err", err)
		}
	})
	log.Info("node IPAM started", "cluster-cidr", cfg.ClusterCIDR, "node-cidr-mask-size", cfg.NodeCIDRMaskSize)
	goRun(func() {
		if err := clusterroleaggregation.Run(ctx, reads, aggClient, log.With("component", "clusterrole-aggregation")); err != nil && ctx.Err() == nil {
			log.Error("clusterrole aggregation stopped", "err", err)
		}
	})
	log.Info("clusterrole aggregation started")
	if cfg.SimulatedNodes > 0 {
		nodeConfig := rest.AnonymousClientConfig(id.loopback)
		nodeConfig.BearerToken = joinToken
		opts := simulate.Options{Nodes: cfg.SimulatedNodes, NamePrefix: "sim-", CPU: resource.MustParse("32"),
			Memory: resource.MustParse("256Gi"), Pods: 110, Log: log}
		goRun(func() {
			if err := simulate.Run(ctx, nodeConfig, opts); err != nil && ctx.Err() == nil {
				log.Error("simulated nodes stopped", "err", err)
			}
		})
		log.Info(fmt.Sprintf("starting %d simulated nodes", cfg.SimulatedNodes))
	}
	if cfg.DisableControllers {
		log.Info("controller manager disabled")
	} else {
		managerConfig, err := id.config(bootstrappolicy.KubeControllerManager)
		if err != nil {
			return nil, err
		}
		goRun(func() {
			opts := controller.Options{LeaderElect: true, NodeMonitorGracePeriod: cfg.NodeMonitorGracePeriod, Log: log.With("component", "controller-manager"),
				Credentials: id.serviceAccount, Signer: id.ca, PrimeInformers: src.Prime, MetadataSource: src.Metadata}
			if err := controller.Run(ctx, managerConfig, opts); err != nil && ctx.Err() == nil {
				log.Error("controller manager stopped", "err", err)
			}
		})
		log.Info("controller manager started", "leader-election", "kube-system/kube-controller-manager")
	}
	if cfg.DisableScheduler {
		log.Info("scheduler disabled")
		return wg.Wait, nil
	}
	schedulerConfig, err := id.config(bootstrappolicy.KubeScheduler)
	if err != nil {
		return nil, err
	}
	goRun(func() {
		opts := scheduler.Options{LeaderElect: true, Registerer: metrics, Logger: log.With("component", "scheduler"), PrimeInformers: src.Prime}
		if err := scheduler.Run(ctx, schedulerConfig, opts); err != nil && ctx.Err() == nil {
			log.Error("scheduler stopped", "err", err)
		}
	})
	log.Info("scheduler started", "leader-election", "kube-system/kube-scheduler")
	return wg.Wait, nil
}
