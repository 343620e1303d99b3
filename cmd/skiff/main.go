// Command skiff is the single binary of skiff: `skiff server` runs a control plane (and a node
// on the same machine), `skiff agent` runs a node that joins it, `skiff image` manages the
// node's image store, `skiff version` prints versions. See DESIGN.md §1 for the command-line
// contract.
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

	"github.com/skiff-project/skiff/internal/kubelet/eviction"
	"github.com/skiff-project/skiff/internal/server"
	"github.com/skiff-project/skiff/internal/version"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "skiff",
		Short:         "skiff runs Kubernetes workloads from one binary",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.AddCommand(newServerCommand(), newAgentCommand(), newVersionCommand(), newSecretsEncryptCommand(), newSimulateCommand(), newImageCommand(), newSchedulerCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the versions of skiff and of the Kubernetes API it serves",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			info := version.Info()
			fmt.Fprintf(cmd.OutOrStdout(), "skiff %s\nKubernetes API %s\ngo %s %s\n", version.Skiff, info.GitVersion, info.GoVersion, info.Platform)
		},
	}
}

func newServerCommand() *cobra.Command {
	cfg := server.DefaultConfig()
	var evictionHard string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a control plane (embedded etcd, API server, scheduler and controllers) and a node on this machine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			klog.SetSlogLogger(log.With("source", "client-go"))
			var err error
			if cfg.AgentEvictionHard, err = eviction.ParseThresholds(evictionHard); err != nil {
				return fmt.Errorf("--eviction-hard: %w", err)
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return server.Run(ctx, cfg, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for etcd data, certificates, the admin kubeconfig and the join token")
	f.StringVar(&cfg.BindAddress, "bind-address", cfg.BindAddress, "address the API server listens on")
	f.StringVar(&cfg.AdvertiseAddress, "advertise-address", cfg.AdvertiseAddress, "address other nodes and pods reach the API server at (default: the first non-loopback address)")
	f.IntVar(&cfg.Port, "port", cfg.Port, "HTTPS port of the API server")
	f.StringSliceVar(&cfg.TLSSANs, "tls-san", nil, "extra name or IP for the serving certificate (repeatable)")
	f.StringVar(&cfg.NodeName, "node-name", cfg.NodeName, "name of this machine's node (default: the hostname)")
	f.BoolVar(&cfg.DisableAgent, "disable-agent", cfg.DisableAgent, "do not run a node agent on this machine")
	f.StringVar(&cfg.AgentDataDir, "agent-data-dir", "", "data dir of the local node agent (default <data-dir>/agent)")
	f.StringVar(&cfg.NodeIP, "node-ip", "", "InternalIP of the local node (default: --advertise-address, else the address of the interface with the default route)")
	f.StringVar(&cfg.ResolvConf, "resolv-conf", "", "resolver configuration the local node's pods get a copy of (default /etc/resolv.conf)")
	f.StringVar(&cfg.NetworkBackend, "network-backend", "vxlan", "how the local node's pods reach other nodes' pods: vxlan, host-gw (nodes on one L2 segment) or none")
	f.StringSliceVar(&cfg.EtcdServers, "etcd-servers", nil, "external etcd endpoints (default: embedded etcd)")
	f.StringVar(&cfg.ClusterCIDR, "cluster-cidr", cfg.ClusterCIDR, "pod network CIDR")
	f.IntVar(&cfg.NodeCIDRMaskSize, "node-cidr-mask-size", cfg.NodeCIDRMaskSize, "prefix length of each node's pod CIDR")
	f.StringVar(&cfg.ServiceCIDR, "service-cidr", cfg.ServiceCIDR, "service cluster IP range")
	f.StringVar(&cfg.ClusterDomain, "cluster-domain", cfg.ClusterDomain, "cluster DNS domain")
	f.StringVar(&cfg.ClusterDNS, "cluster-dns", "", "the cluster DNS Service's IP (default: the 10th address of --service-cidr)")
	f.DurationVar(&cfg.NodeMonitorGracePeriod, "node-monitor-grace-period", cfg.NodeMonitorGracePeriod, "how long a node may miss heartbeats before it is NotReady")
	f.StringVar(&cfg.AuditLogPath, "audit-log-path", "", "audit log file (default <data-dir>/audit.log)")
	f.StringVar(&cfg.AuditPolicyFile, "audit-policy-file", "", "Kubernetes audit Policy file (default: Metadata level for every request)")
	f.IntVar(&cfg.AuditMaxAge, "audit-log-maxage", cfg.AuditMaxAge, "days to keep rotated audit logs")
	f.IntVar(&cfg.AuditMaxBackup, "audit-log-maxbackup", cfg.AuditMaxBackup, "rotated audit logs to keep")
	f.IntVar(&cfg.AuditMaxSize, "audit-log-maxsize", cfg.AuditMaxSize, "size in megabytes at which the audit log rotates")
	f.BoolVar(&cfg.DisableScheduler, "disable-scheduler", false, "do not run the scheduler")
	f.BoolVar(&cfg.DisableControllers, "disable-controller-manager", false, "do not run the controller manager")
	f.IntVar(&cfg.SimulatedNodes, "simulated-nodes", 0, "run this many simulated nodes (fake runtime) in the server, for a demo cluster")
	f.StringVar(&cfg.PodSecurityEnforce, "pod-security-enforce", cfg.PodSecurityEnforce, "Pod Security Standard enforced in namespaces without a pod-security.kubernetes.io/enforce label: privileged, baseline or restricted (warn and audit are baseline)")
	f.StringVar(&cfg.TokenAuthFile, "token-auth-file", "", "CSV file of static bearer tokens: token,user,uid,\"group1,group2\"")
	f.BoolVar(&cfg.Profiling, "profiling", false, "serve /debug/pprof/ (to users allowed to get it)")
	f.BoolVar(&cfg.UnsafeNoFsync, "unsafe-no-fsync", false, "run embedded etcd without fsync (tests and benchmarks only: data may be lost on a crash)")
	f.StringVar(&evictionHard, "eviction-hard", eviction.DefaultEvictionHard, "the local node's hard eviction thresholds (see skiff agent --eviction-hard)")
	f.DurationVar(&cfg.AgentEvictionPressureTransitionPeriod, "eviction-pressure-transition-period", eviction.DefaultPressureTransitionPeriod, "the local node's eviction pressure transition period")
	return cmd
}
