package apiserver

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the API server's Prometheus metrics, named as upstream's where they correspond.
type metrics struct {
	registry    *prometheus.Registry
	handler     http.Handler
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	inflight    prometheus.Gauge
	watchers    *prometheus.GaugeVec
	watchEvents *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total", Help: "Counter of API requests by verb, group, version, resource, subresource and HTTP code.",
		}, []string{"verb", "group", "version", "resource", "subresource", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "apiserver_request_duration_seconds", Help: "Latency of API requests by verb and resource (watches, logs, exec, attach, port-forward and proxy excluded).",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"verb", "group", "resource", "subresource"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "apiserver_current_inflight_requests", Help: "Requests being served, watches included.",
		}),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_registered_watchers", Help: "Open watches by resource.",
		}, []string{"resource"}),
		watchEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_watch_events_total", Help: "Watch events sent, by resource.",
		}, []string{"resource"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.inflight, m.watchers, m.watchEvents,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return m
}

// Registerer lets other parts of the server (storage) add their metrics.
func (s *Server) Registerer() prometheus.Registerer { return s.metrics.registry }

func (m *metrics) observe(ri *RequestInfo, code int, d time.Duration) {
	verb := ri.Verb
	if verb == "" {
		verb = "GET"
	}
	m.requests.WithLabelValues(verb, ri.Group, ri.Version, ri.Resource, ri.Subresource, strconv.Itoa(code)).Inc()
	// Long-running requests, as upstream's check counts them, stay out of the latency histogram.
	if verb != "watch" && !connectSubresource(ri.Subresource) {
		m.latency.WithLabelValues(verb, ri.Group, ri.Resource, ri.Subresource).Observe(d.Seconds())
	}
}
