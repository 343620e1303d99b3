package proxy

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the service proxy's, named as kube-proxy's where it has one.
type metrics struct {
	syncDuration *prometheus.HistogramVec
	rules        prometheus.Gauge
	staleFlows   prometheus.Counter
}

// newMetrics creates the metrics and registers them on r when not nil.
func newMetrics(r prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kubeproxy_sync_proxy_rules_duration_seconds",
			Help:    "Time one sync of the service proxy's rules took, by kind (full or partial).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"kind"}),
		rules: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kubeproxy_sync_proxy_rules_nftables_total",
			Help: "Rules in the service proxy's nftables table after the last sync.",
		}),
		staleFlows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubeproxy_stale_udp_conntrack_entries_deleted_total",
			Help: "UDP conntrack entries deleted because their endpoint went away.",
		}),
	}
	if r != nil {
		for _, c := range []prometheus.Collector{m.syncDuration, m.rules, m.staleFlows} {
			if err := r.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func syncKind(full bool) string {
	if full {
		return "full"
	}
	return "partial"
}
