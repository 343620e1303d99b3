package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/skiff-project/skiff/internal/agent"
	"github.com/skiff-project/skiff/internal/kubelet/eviction"
)

func newAgentCommand() *cobra.Command {
	var (
		cfg                      agent.Config
		labels                   string
		clusterCIDR, serviceCIDR string
		evictionHard             string
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a node: join a cluster with its join token and run the pods bound to it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			klog.SetSlogLogger(log.With("source", "client-go"))
			var err error
			if cfg.Labels, err = parseLabels(labels); err != nil {
				return err
			}
			if cfg.EvictionHard, err = eviction.ParseThresholds(evictionHard); err != nil {
				return fmt.Errorf("--eviction-hard: %w", err)
			}
			if cfg.Server == "" || cfg.TokenFile == "" {
				return fmt.Errorf("need --server and --token-file")
			}
			cfg.ClusterCIDRs, cfg.ServiceCIDRs = []string{clusterCIDR}, []string{serviceCIDR}
			cfg.Log = log
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return agent.Run(ctx, cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Server, "server", "", "URL of the API server, e.g. https://HOST:6443")
	f.StringVar(&cfg.TokenFile, "token-file", "", "file holding the join token (the server's data-dir/token)")
	f.StringVar(&cfg.DataDir, "data-dir", agent.DefaultDataDir, "directory for the node's certificates, images, containers, logs and volumes")
	f.StringVar(&cfg.NodeName, "node-name", "", "name of the node (default: the hostname)")
	f.StringVar(&cfg.NodeIP, "node-ip", "", "the node's InternalIP (default: the address of the interface with the default route)")
	f.StringVar(&cfg.ResolvConf, "resolv-conf", "", "resolver configuration pods get a copy of (default /etc/resolv.conf)")
	f.StringVar(&clusterCIDR, "cluster-cidr", agent.DefaultClusterCIDR, "the cluster's pod CIDR (the server's --cluster-cidr): pods reach it without masquerade")
	f.StringVar(&serviceCIDR, "service-cidr", agent.DefaultServiceCIDR, "the cluster's service CIDR (the server's --service-cidr)")
	f.StringVar(&cfg.ClusterDNS, "cluster-dns", "", "the cluster DNS Service's IP (the server's --cluster-dns; default: the 10th address of --service-cidr)")
	f.StringVar(&cfg.ClusterDomain, "cluster-domain", agent.DefaultClusterDomain, "the cluster's DNS domain (the server's --cluster-domain)")
	f.StringVar(&cfg.NetworkBackend, "network-backend", "vxlan", "how pods reach other nodes' pods: vxlan, host-gw (nodes on one L2 segment) or none")
	f.StringVar(&labels, "node-labels", "", "extra node labels, k=v,...")
	f.IntVar(&cfg.MaxPods, "max-pods", 110, "how many pods the node runs at most")
	f.StringVar(&evictionHard, "eviction-hard", eviction.DefaultEvictionHard, "hard eviction thresholds, signal<quantity or signal<percentage%,... (signals: memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree, pid.available; 0% or 100% switches a signal off; empty: none)")
	f.DurationVar(&cfg.EvictionPressureTransitionPeriod, "eviction-pressure-transition-period", eviction.DefaultPressureTransitionPeriod, "how long a pressure condition stays True after its eviction threshold was last met")
	return cmd
}
