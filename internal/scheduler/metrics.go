package scheduler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	resultScheduled     = "scheduled"
	resultUnschedulable = "unschedulable"
	resultError         = "error"
)

type metrics struct {
	attempts          *prometheus.CounterVec
	duration          *prometheus.HistogramVec
	e2e               prometheus.Histogram
	bindFailures      prometheus.Counter
	preemptionVictims prometheus.Histogram
}

// newMetrics creates the metrics (upstream's names) and registers them on r when not nil.
func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scheduler_schedule_attempts_total",
			Help: "Number of attempts to schedule pods, by the result.",
		}, []string{"result", "profile"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scheduler_scheduling_attempt_duration_seconds",
			Help:    "Scheduling attempt latency in seconds (scheduling algorithm + binding decision).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 20),
		}, []string{"result", "profile"}),
		e2e: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scheduler_pod_binding_duration_seconds",
			Help:    "Time from the start of a successful scheduling attempt to the binding being written.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 20),
		}),
		bindFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scheduler_binding_failures_total",
			Help: "Number of bindings the API server rejected.",
		}),
		preemptionVictims: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scheduler_preemption_victims",
			Help:    "Number of selected preemption victims.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 7),
		}),
	}
	if r != nil {
		r.MustRegister(m.attempts, m.duration, m.e2e, m.bindFailures, m.preemptionVictims)
	}
	return m
}

func (m *metrics) observe(result string, d time.Duration) {
	m.attempts.WithLabelValues(result, DefaultSchedulerName).Inc()
	m.duration.WithLabelValues(result, DefaultSchedulerName).Observe(d.Seconds())
}
