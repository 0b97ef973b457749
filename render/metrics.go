package render

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the renderer's Prometheus series (DESIGN.md §7 plus a few).
type metrics struct {
	lastSuccess *prometheus.GaugeVec
	failures    *prometheus.CounterVec
	changes     *prometheus.CounterVec
	held        *prometheus.GaugeVec
	trunks      *prometheus.GaugeVec
	trunkErrors *prometheus.GaugeVec
	// actionFailures counts failed per-trunk actions by kind.
	actionFailures *prometheus.CounterVec
	// fenced and fenceFailures: targets with fence_cmd (fence.go).
	fenced        *prometheus.GaugeVec
	fenceFailures *prometheus.CounterVec
}

// newMetrics makes the renderer's series for targets and registers them
// with reg (nil: none).
func newMetrics(reg prometheus.Registerer, targets []*target) (*metrics, error) {
	m := &metrics{
		lastSuccess: gauge("trunkd_render_last_success_timestamp_seconds",
			"When the target's live file was last confirmed to be the render of the latest snapshot.",
			"target"),
		failures: counter("trunkd_render_failures_total",
			"Failed render attempts by stage (template, write, check, reload).",
			"target", "stage"),
		changes: counter("trunkd_render_changes_total",
			"Times the target's live file was replaced and the engine reloaded successfully.",
			"target"),
		held: gauge("trunkd_render_drop_held",
			"1 while the drop guard holds a render of the target back.",
			"target"),
		trunks: gauge("trunkd_render_trunks",
			"Active trunks in the target's last successful render.",
			"target"),
		trunkErrors: gauge("trunkd_render_trunk_errors",
			"Trunks the target's last render failed for (each keeps its last good output or is left out; the others are applied).",
			"target"),
		actionFailures: counter("trunkd_render_trunk_action_failures_total",
			"Failed per-trunk actions (trunk_add_cmd, trunk_change_cmd, trunk_remove_cmd or an engine preset's) by action.",
			"target", "action"),
		fenced: gauge("trunkd_render_fenced",
			"1 while the target's engine may be fenced (fence_cmd ran, or a cluster node started) and no unfence_cmd succeeded since.",
			"target"),
		fenceFailures: counter("trunkd_render_fence_failures_total",
			"Failed fence_cmd and unfence_cmd runs by action (fence, unfence).",
			"target", "action"),
	}
	m.initLabels(targets)
	if err := m.register(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// gauge is a gauge vector with the given labels.
func gauge(name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
}

// counter is a counter vector with the given labels.
func counter(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// initLabels makes the counters of every target (and stage or action)
// exist at zero, so that rate() and alerts see them before a failure, and
// sets the fenced gauge of the targets that start fenced.
func (m *metrics) initLabels(targets []*target) {
	for _, t := range targets {
		n := t.cfg.Name
		for _, s := range stages {
			m.failures.WithLabelValues(n, s)
		}
		m.changes.WithLabelValues(n)
		m.held.WithLabelValues(n)
		m.trunkErrors.WithLabelValues(n)
		if t.actions.enabled() {
			for _, a := range actionKinds {
				m.actionFailures.WithLabelValues(n, a)
			}
		}
		if t.cfg.FenceCmd != "" {
			m.fenced.WithLabelValues(n).Set(boolGauge(t.fenced))
			m.fenceFailures.WithLabelValues(n, ActionFence)
			m.fenceFailures.WithLabelValues(n, ActionUnfence)
		}
	}
}

// boolGauge is a gauge's value for b.
func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// register registers every series with reg (nil: none).
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{m.lastSuccess, m.failures, m.changes, m.held, m.trunks, m.trunkErrors, m.actionFailures, m.fenced, m.fenceFailures} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return errors.New("render metrics are already registered (one renderer per registry)")
			}
			return err
		}
	}
	return nil
}
