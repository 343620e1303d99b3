// Package scheduler places pods on nodes with kube-scheduler's rules. It is an ordinary API
// client: it watches pods with an empty spec.nodeName and schedulerName default-scheduler
// (and no scheduling gates), decides with the plugins under plugins/, and POSTs pods/binding.
//
// One cycle: Pop the highest-priority pod from the queue; bring the snapshot up to date from
// the cache (copying only nodes that changed); run PreFilter, then Filter on nodes in parallel
// until enough feasible nodes are found (percentageOfNodesToScore); PreScore and Score them in
// parallel; pick the best; assume the pod in the cache; and bind in a goroutine, so the next
// cycle starts at once. A pod that fits nowhere goes to PostFilter (preemption), then back to
// the queue, with a FailedScheduling event and a PodScheduled=False condition.
package scheduler

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"

	"github.com/skiff-project/skiff/internal/scheduler/cache"
	"github.com/skiff-project/skiff/internal/scheduler/framework"
	"github.com/skiff-project/skiff/internal/scheduler/plugins/defaultpreemption"
	"github.com/skiff-project/skiff/internal/scheduler/plugins/imagelocality"
	"github.com/skiff-project/skiff/internal/scheduler/plugins/interpodaffinity"
	"github.com/skiff-project/skiff/internal/scheduler/plugins/nodeaffinity"
	"github.com/skiff-project/skiff/internal/scheduler/plugins/nodename"
	"github.com/skiff-project/skiff/internal/scheduler/plugins/nodeports"
	"github.com/skiff-project/skiff/internal/scheduler/plugins/noderesources"
	"github.com/skiff-project/skiff/internal/scheduler/plugins/nodeunschedulable"
	"github.com/skiff-project/skiff/internal/scheduler/plugins/podtopologyspread"
	"github.com/skiff-project/skiff/internal/scheduler/plugins/tainttoleration"
	"github.com/skiff-project/skiff/internal/scheduler/queue"
)

// DefaultSchedulerName is the schedulerName this scheduler serves.
const DefaultSchedulerName = v1.DefaultSchedulerName

// Config tunes the scheduler. The zero value is upstream's defaults.
type Config struct {
	// SchedulerName is the spec.schedulerName served; "" is default-scheduler.
	SchedulerName string
	// PercentageOfNodesToScore; 0 is adaptive (50% - nodes/125, at least 5%, at least 100 nodes).
	PercentageOfNodesToScore int32
	// Parallelism is the number of goroutines filtering and scoring; 0 is 16.
	Parallelism int
	// MaxConcurrentBinds bounds the binding goroutines; 0 is 256.
	MaxConcurrentBinds int
	// InitialBackoff and MaxBackoff; 0 is 1 s and 10 s.
	InitialBackoff, MaxBackoff time.Duration
	// AssumedPodTTL expires assumed pods whose binding succeeded but never came back; 0 is 30 s.
	AssumedPodTTL time.Duration
	// LeaderElect runs the scheduler only while holding the Lease LeaseNamespace/LeaseName
	// (kube-system/kube-scheduler by default) as Identity (default: hostname plus a UUID).
	LeaderElect                               bool
	LeaseNamespace, LeaseName, Identity       string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Registerer receives the metrics; nil registers none.
	Registerer prometheus.Registerer
	// Clock and Seed make time and tie-breaking deterministic in tests.
	Clock clock.WithTicker
	Seed  uint64
	// Logger; nil discards.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.SchedulerName == "" {
		c.SchedulerName = DefaultSchedulerName
	}
	if c.Parallelism <= 0 {
		c.Parallelism = framework.Parallelism
	}
	if c.MaxConcurrentBinds <= 0 {
		c.MaxConcurrentBinds = 256
	}
	if c.AssumedPodTTL == 0 {
		c.AssumedPodTTL = 30 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.LeaseNamespace == "" {
		c.LeaseNamespace = "kube-system"
	}
	if c.LeaseName == "" {
		c.LeaseName = "kube-scheduler"
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = 15 * time.Second
	}
	if c.RenewDeadline == 0 {
		c.RenewDeadline = 10 * time.Second
	}
	if c.RetryPeriod == 0 {
		c.RetryPeriod = 2 * time.Second
	}
}

// Binder writes a binding. The API one POSTs pods/binding; tests and benchmarks fake it.
type Binder interface {
	Bind(ctx context.Context, pod *v1.Pod, node string) error
}

// Reporter carries outcomes to users: events, the PodScheduled condition, nominations and
// preemption's evictions. Calls run on binding goroutines, never in a cycle.
type Reporter interface {
	Scheduled(ctx context.Context, pod *v1.Pod, node string)
	// Failed reports an unschedulable pod; nominated is nil to leave status.nominatedNodeName
	// alone, else its new value.
	Failed(ctx context.Context, pod *v1.Pod, message string, nominated *string)
	// Preempt evicts victims from node for preemptor.
	Preempt(ctx context.Context, preemptor *v1.Pod, victims []*v1.Pod, node string)
}

// Scheduler is one scheduler instance.
type Scheduler struct {
	cfg       Config
	log       *slog.Logger
	clock     clock.WithTicker
	rand      *rand.Rand
	cache     *cache.Cache
	queue     *queue.Queue
	snapshot  *framework.Snapshot
	nominator *framework.Nominator
	fw        *framework.Framework
	binder    Binder
	reporter  Reporter
	metrics   *metrics

	statusBuf          []*framework.Status
	nextStartNodeIndex int

	sideEffects chan struct{}
	wg          sync.WaitGroup

	// leaderElect runs f while leading (set by New).
	leaderElect func(ctx context.Context, f func(context.Context) error) error
	// start runs informers and waits for their sync (set by New; nil in-process).
	start func(ctx context.Context) error
}

// Plugins configures the plugins' access to the cluster beyond the snapshot.
type Plugins struct {
	NamespaceLabels framework.NamespaceLabels
	DefaultSelector func(*v1.Pod) labels.Selector
	PDBs            func() []*policyv1.PodDisruptionBudget
}

// newScheduler wires a scheduler from its parts; New adds the API edges.
func newScheduler(cfg Config, binder Binder, reporter Reporter, pl Plugins) *Scheduler {
	cfg.setDefaults()
	s := &Scheduler{
		cfg:         cfg,
		log:         cfg.Logger,
		clock:       cfg.Clock,
		rand:        rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5c4ed)),
		cache:       cache.New(cfg.AssumedPodTTL),
		queue:       queue.New(cfg.Clock, cfg.InitialBackoff, cfg.MaxBackoff),
		snapshot:    framework.NewEmptySnapshot(),
		nominator:   framework.NewNominator(),
		binder:      binder,
		reporter:    reporter,
		metrics:     newMetrics(cfg.Registerer),
		sideEffects: make(chan struct{}, cfg.MaxConcurrentBinds),
	}
	s.fw = DefaultFramework(pl, s.nominator)
	var offsetMu sync.Mutex
	s.fw.PostFilter = []framework.PostFilterPlugin{&defaultpreemption.DefaultPreemption{
		Handle:   s.fw,
		Snapshot: func() *framework.Snapshot { return s.snapshot },
		PDBs:     pl.PDBs,
		Offset: func(n int) int {
			offsetMu.Lock()
			defer offsetMu.Unlock()
			return s.rand.IntN(n)
		},
	}}
	return s
}

// DefaultFramework returns upstream's default plugin set with its score weights (TaintToleration
// 3, NodeAffinity 2, PodTopologySpread 2, InterPodAffinity 2, the others 1), without
// PostFilter.
func DefaultFramework(pl Plugins, nom *framework.Nominator) *framework.Framework {
	ipa := &interpodaffinity.InterPodAffinity{NamespaceLabels: pl.NamespaceLabels}
	pts := &podtopologyspread.PodTopologySpread{DefaultSelector: pl.DefaultSelector}
	fit := noderesources.Fit{}
	return &framework.Framework{
		PreFilter: []framework.PreFilterPlugin{fit, nodeports.NodePorts{}, nodeaffinity.NodeAffinity{}, pts, ipa},
		Filter: []framework.FilterPlugin{
			nodeunschedulable.NodeUnschedulable{}, nodename.NodeName{}, tainttoleration.TaintToleration{},
			nodeaffinity.NodeAffinity{}, nodeports.NodePorts{}, fit, pts, ipa,
		},
		PreScore: []framework.PreScorePlugin{tainttoleration.TaintToleration{}, nodeaffinity.NodeAffinity{}, pts, ipa,
			noderesources.BalancedAllocation{}, imagelocality.ImageLocality{}},
		Score: []framework.ScorePlugin{tainttoleration.TaintToleration{}, nodeaffinity.NodeAffinity{}, fit, pts, ipa,
			noderesources.BalancedAllocation{}, imagelocality.ImageLocality{}},
		Weights: map[string]int64{
			tainttoleration.Name: 3, nodeaffinity.Name: 2, podtopologyspread.Name: 2, interpodaffinity.Name: 2,
			noderesources.FitName: 1, noderesources.BalancedAllocationName: 1, imagelocality.Name: 1,
		},
		Nominator: nom,
	}
}

// Run schedules until ctx ends, under leader election when configured.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.cfg.LeaderElect && s.leaderElect != nil {
		return s.leaderElect(ctx, s.run)
	}
	return s.run(ctx)
}

func (s *Scheduler) run(ctx context.Context) error {
	if s.start != nil {
		if err := s.start(ctx); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var loops sync.WaitGroup
	loops.Add(2)
	go func() { defer loops.Done(); s.queue.Run(ctx) }()
	go func() { defer loops.Done(); s.cleanupLoop(ctx) }()
	s.log.Info("scheduler started", "schedulerName", s.cfg.SchedulerName)
	for s.scheduleOne(ctx) {
	}
	cancel()
	loops.Wait()
	s.wg.Wait()
	return nil
}

func (s *Scheduler) cleanupLoop(ctx context.Context) {
	t := s.clock.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			for _, p := range s.cache.CleanupExpiredAssumedPods(s.clock.Now()) {
				s.log.Warn("assumed pod expired: its binding never arrived", "pod", p.Namespace+"/"+p.Name, "node", p.Spec.NodeName)
				s.queue.MoveAllToActiveOrBackoff(nil)
			}
		}
	}
}

// async runs f on a side-effect goroutine, at most MaxConcurrentBinds at once.
func (s *Scheduler) async(f func()) {
	s.sideEffects <- struct{}{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.sideEffects }()
		f()
	}()
}

// bindAsync binds in the background; on failure the assumption is dropped and the pod retried.
func (s *Scheduler) bindAsync(ctx context.Context, qp *queue.QueuedPodInfo, cycle int64, assumed *v1.Pod, node string, start time.Time) {
	s.async(func() {
		if err := s.binder.Bind(ctx, assumed, node); err != nil {
			s.cache.ForgetPod(assumed)
			s.queue.AddUnschedulableIfNotPresent(qp, cycle, false)
			s.metrics.bindFailures.Inc()
			if ctx.Err() == nil {
				s.log.Warn("binding failed", "pod", assumed.Namespace+"/"+assumed.Name, "node", node, "err", err)
				s.reporter.Failed(ctx, qp.Pod, "Binding rejected: "+err.Error(), nil)
			}
			return
		}
		s.cache.FinishBinding(assumed, s.clock.Now())
		s.queue.Done(assumed.UID)
		s.metrics.e2e.Observe(s.clock.Since(start).Seconds())
		s.reporter.Scheduled(ctx, assumed, node)
	})
}

func (s *Scheduler) reportFailure(ctx context.Context, pod *v1.Pod, msg string, nominated *string) {
	s.async(func() { s.reporter.Failed(ctx, pod, msg, nominated) })
}

func (s *Scheduler) preempt(ctx context.Context, pod *v1.Pod, victims []*v1.Pod, node string) {
	s.metrics.preemptionVictims.Observe(float64(len(victims)))
	s.async(func() { s.reporter.Preempt(ctx, pod, victims, node) })
}
