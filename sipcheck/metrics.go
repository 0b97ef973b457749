package sipcheck

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the prober's Prometheus collectors (DESIGN.md §7). Per-trunk
// series carry the trunk's code and are deleted when the trunk stops.
type metrics struct {
	registered     *prometheus.GaugeVec     // {code}
	reachable      *prometheus.GaugeVec     // {code}
	bindings       *prometheus.GaugeVec     // {code}
	engineBindings *prometheus.GaugeVec     // {code}
	lastCode       *prometheus.GaugeVec     // {code, method}
	rtt            *prometheus.GaugeVec     // {code, method}
	sipRTT         *prometheus.HistogramVec // {method}
	requests       *prometheus.CounterVec   // {method, result}
	late           prometheus.Counter

	counters  sync.Map // method + "\x00" + result → prometheus.Counter
	observers sync.Map // method → prometheus.Observer
}

// count adds one request to trunkd_sip_requests_total (children cached:
// this runs for every ping).
func (m *metrics) count(method, result string) {
	key := method + "\x00" + result
	c, ok := m.counters.Load(key)
	if !ok {
		c, _ = m.counters.LoadOrStore(key, m.requests.WithLabelValues(method, result))
	}
	c.(prometheus.Counter).Inc()
}

// observe records a round trip in trunkd_sip_rtt_seconds.
func (m *metrics) observe(method string, d time.Duration) {
	o, ok := m.observers.Load(method)
	if !ok {
		o, _ = m.observers.LoadOrStore(method, m.sipRTT.WithLabelValues(method))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		registered: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trunkd_provider_registered",
			Help: "1 when the trunk's last registration check succeeded (query: credentials accepted; bind: binding held), 0 when it failed; absent for reg 0 and before the first check."}, []string{"code"}),
		reachable: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trunkd_provider_reachable",
			Help: "1 when the trunk answers its pings (or REGISTER when it has no measurable ping), 0 after probe.down_after failures; absent while unknown."}, []string{"code"}),
		bindings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trunkd_provider_bindings",
			Help: "Contacts the registrar listed in its last 200 to REGISTER for the trunk's address of record."}, []string{"code"}),
		engineBindings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trunkd_provider_engine_bindings",
			Help: "Contacts the registrar listed in its last 200 to REGISTER besides the prober's own: 0 while registered means the credentials work but the SIP engine holds no binding."}, []string{"code"}),
		lastCode: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trunkd_provider_last_status_code",
			Help: "Final status code of the trunk's last check per method (408 for no answer, 503 for a transport error, as RFC 3261 has the client assume)."}, []string{"code", "method"}),
		rtt: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trunkd_provider_rtt_seconds",
			Help: "Round-trip time of the trunk's last answered request per method (CRLF: keep-alive pong)."}, []string{"code", "method"}),
		sipRTT: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "trunkd_sip_rtt_seconds",
			Help:    "Round-trip times of answered prober requests (all trunks).",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}}, []string{"method"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trunkd_sip_requests_total",
			Help: "Prober requests by method and result: the final status code, timeout, transport_error, pong (CRLF answered) or sent (CRLF over UDP)."}, []string{"method", "result"}),
		late: prometheus.NewCounter(prometheus.CounterOpts{Name: "trunkd_sip_late_responses_total",
			Help: "Responses that arrived after their transaction ended (late or duplicate answers)."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.registered, m.reachable, m.bindings, m.engineBindings, m.lastCode, m.rtt, m.sipRTT, m.requests, m.late} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register probe metrics: %w", err)
		}
	}
	return m, nil
}

// methodCRLF is the method label of RFC 5626 keep-alives.
const methodCRLF = "CRLF"

// trunkMethods are the method label values of per-trunk series.
var trunkMethods = []string{"REGISTER", "OPTIONS", methodCRLF}

// deleteTrunk removes every series of a trunk. Exact deletes: a partial
// match scans every series, which is quadratic when 10,000 trunks stop.
func (m *metrics) deleteTrunk(code string) {
	m.registered.DeleteLabelValues(code)
	m.reachable.DeleteLabelValues(code)
	m.bindings.DeleteLabelValues(code)
	m.engineBindings.DeleteLabelValues(code)
	for _, method := range trunkMethods {
		m.lastCode.DeleteLabelValues(code, method)
		m.rtt.DeleteLabelValues(code, method)
	}
}

// unregister removes the collectors from reg (for tests and one-shot use).
func (m *metrics) unregister(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	for _, c := range []prometheus.Collector{m.registered, m.reachable, m.bindings, m.engineBindings, m.lastCode, m.rtt, m.sipRTT, m.requests, m.late} {
		reg.Unregister(c)
	}
}
