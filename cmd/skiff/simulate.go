package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-project/skiff/internal/kubelet/simulate"
	"github.com/skiff-project/skiff/internal/pki"
)

func newSimulateCommand() *cobra.Command {
	var (
		server, tokenFile, kubeconfig, caFile string
		cpu, memory, labels, taints           string
		opts                                  simulate.Options
		profiling                             string
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Run many simulated nodes (the real node agent on a fake runtime) in one process",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			var err error
			if opts.CPU, err = resource.ParseQuantity(cpu); err != nil {
				return fmt.Errorf("--cpu %q: %w", cpu, err)
			}
			if opts.Memory, err = resource.ParseQuantity(memory); err != nil {
				return fmt.Errorf("--memory %q: %w", memory, err)
			}
			if opts.Labels, err = parseLabels(labels); err != nil {
				return err
			}
			if opts.Taints, err = parseTaints(taints); err != nil {
				return err
			}
			cfg, err := simulateClientConfig(server, tokenFile, kubeconfig, caFile)
			if err != nil {
				return err
			}
			if profiling != "" {
				// For benchmarks: Go's profiles (net/http/pprof) at /debug/pprof/ on this
				// address, plain HTTP; meant for loopback.
				ln, err := net.Listen("tcp", profiling)
				if err != nil {
					return fmt.Errorf("--profiling-address: %w", err)
				}
				mux := http.NewServeMux()
				mux.HandleFunc("/debug/pprof/", pprof.Index)
				go func() { _ = http.Serve(ln, mux) }()
			}
			log.Info("connecting", "server", cfg.Host)
			opts.Log = log
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return simulate.Run(ctx, cfg, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "URL of the API server, e.g. https://HOST:6443")
	f.StringVar(&tokenFile, "token-file", "", "file holding the join token (the server's data-dir/token)")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig to use instead of --server and --token-file")
	f.StringVar(&caFile, "ca-file", "", "the server's CA certificate, checked against the token's CA hash (default: taken from the server's TLS handshake)")
	f.IntVar(&opts.Nodes, "nodes", 1, "number of simulated nodes")
	f.StringVar(&cpu, "cpu", "32", "CPU capacity of each node")
	f.StringVar(&memory, "memory", "256Gi", "memory capacity of each node")
	f.IntVar(&opts.Pods, "pods", 110, "pods capacity of each node")
	f.StringVar(&labels, "labels", "", "extra node labels, k=v,...")
	f.StringVar(&taints, "taints", "", "node taints, k=v:Effect,...")
	f.StringVar(&opts.NamePrefix, "name-prefix", "sim-", "node names are this prefix and a number")
	f.Float32Var(&opts.QPS, "qps", 0, "API requests per second of the shared client (default 50 + nodes/5)")
	f.IntVar(&opts.Workers, "workers", 32, "workers shared by all nodes")
	f.StringVar(&opts.ClusterCIDR, "run-nodeipam-cluster-cidr", "", "also allocate pod CIDRs from this cluster CIDR (for servers that don't yet)")
	f.IntVar(&opts.NodeCIDRMaskSize, "run-nodeipam-mask-size", 24, "prefix length of each node's pod CIDR, with --run-nodeipam-cluster-cidr")
	f.StringVar(&profiling, "profiling-address", "", "serve Go's profiles at /debug/pprof/ on this address (e.g. 127.0.0.1:6060), for benchmarks")
	_ = f.MarkHidden("profiling-address")
	_ = f.MarkHidden("run-nodeipam-cluster-cidr")
	_ = f.MarkHidden("run-nodeipam-mask-size")
	return cmd
}

// simulateClientConfig builds the client configuration: a kubeconfig, or the server URL with the
// join token as bearer token, trusting the CA whose hash the token carries.
func simulateClientConfig(server, tokenFile, kubeconfig, caFile string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags(server, kubeconfig)
	}
	if server == "" || tokenFile == "" {
		return nil, fmt.Errorf("need --server and --token-file, or --kubeconfig")
	}
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		return nil, err
	}
	tok, err := pki.ParseToken(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tokenFile, err)
	}
	var caPEM []byte
	if caFile != "" {
		if caPEM, err = os.ReadFile(caFile); err != nil {
			return nil, err
		}
		if pki.HashPEM(caPEM) != tok.CAHash {
			return nil, fmt.Errorf("%s does not match the CA hash in the token", caFile)
		}
	} else if caPEM, err = pki.ServerCA(context.Background(), server, tok); err != nil {
		return nil, fmt.Errorf("%w; pass its CA with --ca-file (data-dir/pki) or use --kubeconfig", err)
	}
	return &rest.Config{Host: server, BearerToken: tok.String(), TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}}, nil
}

func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--labels: %q is not k=v", kv)
		}
		out[k] = v
	}
	return out, nil
}

func parseTaints(s string) ([]corev1.Taint, error) {
	var out []corev1.Taint
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		kv, effect, ok := strings.Cut(t, ":")
		if !ok {
			return nil, fmt.Errorf("--taints: %q is not k=v:Effect", t)
		}
		switch corev1.TaintEffect(effect) {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			return nil, fmt.Errorf("--taints: %q: effect must be NoSchedule, PreferNoSchedule or NoExecute", t)
		}
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(effect)})
	}
	return out, nil
}
