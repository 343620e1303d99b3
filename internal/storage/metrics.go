package storage

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// EtcdLatency is the latency of etcd requests by operation and resource, named as upstream's.
// Register it with the server's metrics registry.
var EtcdLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "etcd_request_duration_seconds",
	Help:    "Etcd request latency in seconds for each operation and resource.",
	Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
}, []string{"operation", "type"})

// observe records the latency of an etcd request that started at start.
func (s *Store) observe(op string, start time.Time) {
	EtcdLatency.WithLabelValues(op, s.cfg.Resource.String()).Observe(time.Since(start).Seconds())
}
