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

	"github.com/skiff-project/skiff/internal/controller"
	"github.com/skiff-project/skiff/internal/controller/clusterroleaggregation"
	"github.com/skiff-project/skiff/internal/controller/nodeipam"
	"github.com/skiff-project/skiff/internal/kubelet/simulate"
	"github.com/skiff-project/skiff/internal/scheduler"
)

// startComponents starts the in-process API clients of the control plane: node IPAM, ClusterRole
// aggregation and, when asked, simulated nodes, and the scheduler. They run until ctx ends.
// It returns a function that waits for them to stop.
func startComponents(ctx context.Context, cfg Config, loopback *rest.Config, metrics prometheus.Registerer, log *slog.Logger) (func(), error) {
	client, err := kubernetes.NewForConfig(loopback)
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
		if err := nodeipam.Run(ctx, client, cfg.ClusterCIDR, cfg.NodeCIDRMaskSize); err != nil && ctx.Err() == nil {
			log.Error("node IPAM stopped", "err", err)
		}
	})
	log.Info("node IPAM started", "cluster-cidr", cfg.ClusterCIDR, "node-cidr-mask-size", cfg.NodeCIDRMaskSize)
	goRun(func() {
		if err := clusterroleaggregation.Run(ctx, client, log.With("component", "clusterrole-aggregation")); err != nil && ctx.Err() == nil {
			log.Error("clusterrole aggregation stopped", "err", err)
		}
	})
	log.Info("clusterrole aggregation started")
	if cfg.SimulatedNodes > 0 {
		opts := simulate.Options{Nodes: cfg.SimulatedNodes, NamePrefix: "sim-", CPU: resource.MustParse("32"),
			Memory: resource.MustParse("256Gi"), Pods: 110, Log: log}
		goRun(func() {
			if err := simulate.Run(ctx, loopback, opts); err != nil && ctx.Err() == nil {
				log.Error("simulated nodes stopped", "err", err)
			}
		})
		log.Info(fmt.Sprintf("starting %d simulated nodes", cfg.SimulatedNodes))
	}
	if cfg.DisableControllers {
		log.Info("controller manager disabled")
	} else {
		goRun(func() {
			opts := controller.Options{LeaderElect: true, NodeMonitorGracePeriod: cfg.NodeMonitorGracePeriod, Log: log.With("component", "controller-manager")}
			if err := controller.Run(ctx, loopback, opts); err != nil && ctx.Err() == nil {
				log.Error("controller manager stopped", "err", err)
			}
		})
		log.Info("controller manager started", "leader-election", "kube-system/kube-controller-manager")
	}
	if cfg.DisableScheduler {
		log.Info("scheduler disabled")
		return wg.Wait, nil
	}
	goRun(func() {
		opts := scheduler.Options{LeaderElect: true, Registerer: metrics, Logger: log.With("component", "scheduler")}
		if err := scheduler.Run(ctx, loopback, opts); err != nil && ctx.Err() == nil {
			log.Error("scheduler stopped", "err", err)
		}
	})
	log.Info("scheduler started", "leader-election", "kube-system/kube-scheduler")
	return wg.Wait, nil
}
