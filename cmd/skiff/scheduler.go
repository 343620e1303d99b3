package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff-project/skiff/internal/scheduler"
)

// newSchedulerCommand runs skiff's scheduler against any API server, outside `skiff server`:
// for a scheduler of its own process, and for comparing it side by side with kube-scheduler.
func newSchedulerCommand() *cobra.Command {
	var kubeconfig string
	var leaderElect bool
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Run the scheduler alone against an API server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			log.Info("scheduler starting", "kubeconfig", kubeconfig, "leader-elect", leaderElect)
			return scheduler.Run(ctx, cfg, scheduler.Options{LeaderElect: leaderElect, Logger: log})
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server to schedule for")
	cmd.Flags().BoolVar(&leaderElect, "leader-elect", true, "take the kube-system/kube-scheduler Lease before scheduling")
	_ = cmd.MarkFlagRequired("kubeconfig")
	return cmd
}
