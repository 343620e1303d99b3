package server

import (
	"context"
	"fmt"
	"log/slog"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff-project/skiff/internal/controller/nodeipam"
	"github.com/skiff-project/skiff/internal/kubelet/simulate"
)

// startComponents starts the in-process API clients of the control plane: node IPAM and, when
// asked, simulated nodes. They run until ctx ends.
func startComponents(ctx context.Context, cfg Config, loopback *rest.Config, log *slog.Logger) error {
	client, err := kubernetes.NewForConfig(loopback)
	if err != nil {
		return err
	}
	go func() {
		if err := nodeipam.Run(ctx, client, cfg.ClusterCIDR, cfg.NodeCIDRMaskSize); err != nil && ctx.Err() == nil {
			log.Error("node IPAM stopped", "err", err)
		}
	}()
	log.Info("node IPAM started", "cluster-cidr", cfg.ClusterCIDR, "node-cidr-mask-size", cfg.NodeCIDRMaskSize)
	if cfg.SimulatedNodes > 0 {
		opts := simulate.Options{Nodes: cfg.SimulatedNodes, NamePrefix: "sim-", CPU: resource.MustParse("32"),
			Memory: resource.MustParse("256Gi"), Pods: 110, Log: log}
		go func() {
			if err := simulate.Run(ctx, loopback, opts); err != nil && ctx.Err() == nil {
				log.Error("simulated nodes stopped", "err", err)
			}
		}()
		log.Info(fmt.Sprintf("starting %d simulated nodes", cfg.SimulatedNodes))
	}
	return nil
}
