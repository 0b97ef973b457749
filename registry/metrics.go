package registry

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the registry's Prometheus collectors (DESIGN.md §7).
type metrics struct {
	providers   *prometheus.GaugeVec
	invalid     prometheus.Gauge
	lastReload  prometheus.Gauge
	reloads     *prometheus.CounterVec
	watchErrors *prometheus.CounterVec
	generation  prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		providers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trunkd_providers", Help: "Valid providers in the current snapshot, by state.",
		}, []string{"state"}),
		invalid: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trunkd_registry_invalid_files", Help: "Provider files that fail to parse or validate.",
		}),
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trunkd_registry_last_reload_success_timestamp_seconds", Help: "When the providers directory was last read successfully.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkd_registry_reloads_total", Help: "Rescans of the providers directory, by result.",
		}, []string{"result"}),
		watchErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkd_registry_watch_errors_total", Help: "File watcher errors, by kind (overflow, watch, other).",
		}, []string{"kind"}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trunkd_registry_snapshot_generation", Help: "Generation number of the current snapshot.",
		}),
	}
	for _, s := range []string{"enabled", "disabled"} {
		m.providers.WithLabelValues(s)
	}
	for _, s := range []string{"success", "failure"} {
		m.reloads.WithLabelValues(s)
	}
	for _, s := range []string{"overflow", "watch", "other"} {
		m.watchErrors.WithLabelValues(s)
	}
	return m
}

// register registers the collectors with reg (nil: none). On a failure,
// for example a second registry on the same registerer, it unregisters
// what it registered and returns the error instead of panicking.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	all := []prometheus.Collector{m.providers, m.invalid, m.lastReload, m.reloads, m.watchErrors, m.generation}
	for i, c := range all {
		if err := reg.Register(c); err != nil {
			for _, done := range all[:i] {
				reg.Unregister(done)
			}
			return fmt.Errorf("register registry metrics: %w", err)
		}
	}
	return nil
}

func (m *metrics) observe(s *Snapshot) {
	m.providers.WithLabelValues("enabled").Set(float64(s.enabled))
	m.providers.WithLabelValues("disabled").Set(float64(s.Len() - s.enabled))
	m.invalid.Set(float64(len(s.Invalid())))
	m.generation.Set(float64(s.Generation()))
}
