package main

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestDashboardAndAlertsUseLiveMetrics scrapes the `make run` daemon and
// checks that every trunkd metric the Grafana dashboard and the alert rules
// query is one the running daemon really exports, and that every metric
// name fixed by the design is among them. (examples/ checks the same names
// statically against the Go sources; this is the live check.)
func TestDashboardAndAlertsUseLiveMetrics(t *testing.T) {
	dashboard, err := os.ReadFile("../../examples/grafana/trunkd.json")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile("../../examples/prometheus/trunkd.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]string{}
	for _, expr := range dashboardExprs(t, dashboard) {
		for _, n := range metricNames(expr) {
			used[baseMetric(n)] = "dashboard"
		}
	}
	for _, n := range metricNames(string(rules)) {
		used[baseMetric(n)] = "alert rules"
	}
	if len(used) < 10 {
		t.Fatalf("found only %d metric names in the dashboard and rules", len(used))
	}
	for _, n := range []string{"trunkd_providers", "trunkd_registry_invalid_files",
		"trunkd_registry_last_reload_success_timestamp_seconds", "trunkd_render_last_success_timestamp_seconds",
		"trunkd_render_failures_total", "trunkd_provider_registered", "trunkd_provider_reachable",
		"trunkd_provider_last_status_code", "trunkd_provider_rtt_seconds", "trunkd_sip_rtt_seconds",
		"trunkd_sip_requests_total"} {
		used[n] = "design"
	}
	// Series that exist only under a config the demo does not use; the
	// named test checks them instead.
	for n, checkedBy := range map[string]string{
		// only for targets with per-trunk actions (render/actions_test.go)
		"trunkd_render_trunk_action_failures_total": "render's TestTrunkActionFailures",
		// only for targets with a fence action (render/fence_retry_test.go)
		"trunkd_render_fence_failures_total": "render's TestFenceRetried",
		"trunkd_render_fenced":               "render's TestOwnershipThroughRun",
		// only with a cluster: section (the cluster's end-to-end test)
		"trunkd_cluster_fenced":         "TestClusterEndToEnd",
		"trunkd_cluster_unowned_trunks": "TestClusterEndToEnd",
	} {
		if used[n] == "" {
			t.Errorf("%s is no longer used: drop its exception", n)
		}
		t.Logf("%s: exported only under a config the demo does not use, checked by %s", n, checkedBy)
		delete(used, n)
	}
	// The prober and the render targets export their series once they have
	// worked: poll until every name is there; the deadline only catches a
	// metric that never appears.
	d := startDemoRun(t)
	var missing []string
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		_, m := get(t, d.base+"/metrics")
		live := exportedMetrics(m)
		missing = missing[:0]
		for n := range used {
			if !live[n] {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 || time.Since(start) > waitTimeout {
			break
		}
	}
	sort.Strings(missing)
	for _, n := range missing {
		t.Errorf("%s (used by the %s) is not exported by the running daemon", n, used[n])
	}
}

// baseMetric maps a histogram's series to its family name.
func baseMetric(n string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := strings.CutSuffix(n, suffix); ok {
			return b
		}
	}
	return n
}

// exportedMetrics lists the metric families of a /metrics text.
func exportedMetrics(text string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = true
		}
	}
	return out
}

var metricName = regexp.MustCompile(`\btrunkd_[a-z_]+`)

func metricNames(text string) []string {
	names := metricName.FindAllString(text, -1)
	sort.Strings(names)
	return names
}

// dashboardExprs collects every "expr" of a Grafana dashboard.
func dashboardExprs(t *testing.T, data []byte) []string {
	t.Helper()
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "expr" {
					out = append(out, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	return out
}
