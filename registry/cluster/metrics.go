package cluster

import "github.com/prometheus/client_golang/prometheus"

// metrics are the cluster's Prometheus collectors. The gauges read the
// current View when scraped.
type metrics struct {
	all               []prometheus.Collector
	keepAliveRTT      prometheus.Histogram
	keepAliveFailures prometheus.Counter
	fences            prometheus.Counter
}

func newMetrics(c *Cluster) *metrics {
	gauge := func(name, help string, f func(v *View) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return f(c.View()) })
	}
	m := &metrics{
		keepAliveRTT: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "trunkd_cluster_keepalive_rtt_seconds", Help: "Round trip of acknowledged etcd lease keep-alives.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		keepAliveFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkd_cluster_keepalive_failures_total", Help: "Lease grants and keep-alives that failed or timed out.",
		}),
		fences: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkd_cluster_fences_total", Help: "Times this node fenced (stopped registering) because it could not prove its lease alive.",
		}),
	}
	m.all = []prometheus.Collector{m.keepAliveRTT, m.keepAliveFailures, m.fences,
		gauge("trunkd_cluster_nodes", "Live nodes of this node's group, itself included once joined.",
			func(v *View) float64 { return float64(len(v.nodes)) }),
		gauge("trunkd_cluster_owned_trunks", "Trunks this node owns (registers).",
			func(v *View) float64 { return float64(len(v.owned)) }),
		gauge("trunkd_cluster_unowned_trunks", "Active trunks of the group without an owner in etcd, as this node sees them.",
			func(v *View) float64 { return float64(v.unowned) }),
		gauge("trunkd_cluster_fenced", "1 while this node is fenced: it owns nothing and refuses writes.",
			func(v *View) float64 { return b2f(v.fenced) }),
		gauge("trunkd_cluster_node_name_conflict", "1 while another process holds this node's cluster.node (its membership key): this node stays fenced.",
			func(v *View) float64 { return b2f(v.conflict != nil) }),
		gauge("trunkd_cluster_lease_seconds_left", "Seconds until this node fences unless a keep-alive is acknowledged; 0 when fenced.",
			func(v *View) float64 { return c.secondsLeft(v.fenced) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "trunkd_cluster_ownership_changes_total", Help: "Trunks this node gained or gave up.",
		}, func() float64 { return float64(c.View().changes) }),
	}
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *Cluster) secondsLeft(fenced bool) float64 {
	if fenced {
		return 0
	}
	return max(0, c.Lease().Deadline.Sub(c.clock.Now()).Seconds())
}

// Describe and Collect make the metrics one prometheus.Collector,
// registered and unregistered at once.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, col := range m.all {
		col.Describe(ch)
	}
}

// Collect collects every metric.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for _, col := range m.all {
		col.Collect(ch)
	}
}
