package controller

import (
	"context"

	"github.com/skiff-project/skiff/internal/controller/certificates"
	"github.com/skiff-project/skiff/internal/controller/cronjob"
	"github.com/skiff-project/skiff/internal/controller/daemonset"
	"github.com/skiff-project/skiff/internal/controller/deployment"
	"github.com/skiff-project/skiff/internal/controller/disruption"
	"github.com/skiff-project/skiff/internal/controller/endpoints"
	"github.com/skiff-project/skiff/internal/controller/endpointslice"
	"github.com/skiff-project/skiff/internal/controller/garbagecollector"
	"github.com/skiff-project/skiff/internal/controller/job"
	"github.com/skiff-project/skiff/internal/controller/namespace"
	"github.com/skiff-project/skiff/internal/controller/nodelifecycle"
	"github.com/skiff-project/skiff/internal/controller/podgc"
	"github.com/skiff-project/skiff/internal/controller/replicaset"
	"github.com/skiff-project/skiff/internal/controller/resourcequota"
	"github.com/skiff-project/skiff/internal/controller/serviceaccount"
	"github.com/skiff-project/skiff/internal/controller/servicelb"
	"github.com/skiff-project/skiff/internal/controller/statefulset"
	"github.com/skiff-project/skiff/internal/controller/ttlafterfinished"
)

// controllers are every controller the manager can run, in start order.
var controllers = []namedStarter{
	{"replicaset", func(c *Context) (func(context.Context), error) {
		rc, err := replicaset.NewReplicaSets(c.Client("replicaset-controller"), c.Informers, c.Recorder("replicaset-controller"), c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { rc.Run(ctx, c.Options.Workers) }, nil
	}},
	{"replicationcontroller", func(c *Context) (func(context.Context), error) {
		rc, err := replicaset.NewReplicationControllers(c.Client("replication-controller"), c.Informers, c.Recorder("replication-controller"), c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { rc.Run(ctx, c.Options.Workers) }, nil
	}},
	{"deployment", func(c *Context) (func(context.Context), error) {
		dc, err := deployment.New(c.Client("deployment-controller"), c.Informers, c.Recorder("deployment-controller"), c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { dc.Run(ctx, c.Options.Workers) }, nil
	}},
	{"statefulset", func(c *Context) (func(context.Context), error) {
		sc, err := statefulset.New(c.Client(statefulset.Name), c.Informers, c.Recorder(statefulset.Name), c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { sc.Run(ctx, c.Options.Workers) }, nil
	}},
	{"daemonset", func(c *Context) (func(context.Context), error) {
		dc, err := daemonset.New(c.Client(daemonset.Name), c.Informers, c.Recorder(daemonset.Name), c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { dc.Run(ctx, c.Options.Workers) }, nil
	}},
	{"garbagecollector", func(c *Context) (func(context.Context), error) {
		gc := garbagecollector.New(c.Metadata("generic-garbage-collector"), c.Discovery("generic-garbage-collector"), c.Log)
		gc.Source = c.Options.MetadataSource
		return func(ctx context.Context) { gc.Run(ctx, 20) }, nil
	}},
	{"nodelifecycle", func(c *Context) (func(context.Context), error) {
		o := c.Options
		nc, err := nodelifecycle.New(c.Client("node-controller"), c.Informers, c.Recorder("node-controller"), c.Log,
			nodelifecycle.Options{GracePeriod: o.NodeMonitorGracePeriod, MonitorPeriod: o.NodeMonitorPeriod, EvictionRate: o.NodeEvictionRate})
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { nc.Run(ctx, o.Workers) }, nil
	}},
	{"serviceaccount", func(c *Context) (func(context.Context), error) {
		sc, err := serviceaccount.NewServiceAccounts(c.Client("service-account-controller"), c.Informers, c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { sc.Run(ctx, 1) }, nil
	}},
	{"root-ca-certificate-publisher", func(c *Context) (func(context.Context), error) {
		if len(c.Options.RootCA) == 0 {
			c.Log.Info("root CA publisher off: no CA bundle")
			return func(context.Context) {}, nil
		}
		pc, err := serviceaccount.NewRootCAPublisher(c.Client("root-ca-cert-publisher"), c.Informers, c.Options.RootCA, c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { pc.Run(ctx, 1) }, nil
	}},
	{"endpointslice", func(c *Context) (func(context.Context), error) {
		ec, err := endpointslice.New(c.Client(endpointslice.Name), c.Informers, c.Recorder(endpointslice.Name), c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { ec.Run(ctx, c.Options.Workers) }, nil
	}},
	{"endpoint", func(c *Context) (func(context.Context), error) {
		ec, err := endpoints.New(c.Client(endpoints.Name), c.Informers, c.Recorder(endpoints.Name), c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { ec.Run(ctx, c.Options.Workers) }, nil
	}},
	{"job", func(c *Context) (func(context.Context), error) {
		jc, err := job.New(c.Client(job.Name), c.Informers, c.Recorder(job.Name), c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { jc.Run(ctx, c.Options.Workers) }, nil
	}},
	{"cronjob", func(c *Context) (func(context.Context), error) {
		cc, err := cronjob.New(c.Client(cronjob.Name), c.Informers, c.Recorder(cronjob.Name), c.Options.Clock, c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { cc.Run(ctx, c.Options.Workers) }, nil
	}},
	{"resourcequota", func(c *Context) (func(context.Context), error) {
		rq, err := resourcequota.New(c.Client(resourcequota.Name), c.Metadata(resourcequota.Name), c.Informers, c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { rq.Run(ctx, c.Options.Workers) }, nil
	}},
	{"csrapproving", func(c *Context) (func(context.Context), error) {
		a, err := certificates.NewApprover(c.Client("certificate-controller"), c.Informers, c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { a.Run(ctx, 2) }, nil
	}},
	{"csrsigning", func(c *Context) (func(context.Context), error) {
		if c.Options.Signer == nil {
			c.Log.Info("certificate signer off: no CA key")
			return func(context.Context) {}, nil
		}
		s, err := certificates.NewSigner(c.Client("certificate-controller"), c.Options.Signer, c.Informers, c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { s.Run(ctx, 2) }, nil
	}},
	{"disruption", func(c *Context) (func(context.Context), error) {
		dc, err := disruption.New(c.Client(disruption.Name), c.Informers, c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { dc.Run(ctx, c.Options.Workers) }, nil
	}},
	{"namespace", func(c *Context) (func(context.Context), error) {
		nc, err := namespace.New(c.Client(namespace.Name), c.Metadata(namespace.Name), c.Discovery(namespace.Name), c.Informers, c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { nc.Run(ctx, 2) }, nil
	}},
	{"podgc", func(c *Context) (func(context.Context), error) {
		gc := podgc.New(c.Client(podgc.Name), c.Informers, c.Log)
		return gc.Run, nil
	}},
	{"service-lb", func(c *Context) (func(context.Context), error) {
		lb, err := servicelb.New(c.Client(servicelb.Name), c.Informers, c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { lb.Run(ctx, c.Options.Workers) }, nil
	}},
	{"ttl-after-finished", func(c *Context) (func(context.Context), error) {
		tc, err := ttlafterfinished.New(c.Client(ttlafterfinished.Name), c.Informers, c.Log)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) { tc.Run(ctx, c.Options.Workers) }, nil
	}},
}
