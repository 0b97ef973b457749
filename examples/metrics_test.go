package examples

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// designMetrics are the metric names fixed by DESIGN.md §7. The daemon may
// export more; those are found in the Go sources.
var designMetrics = []string{
	"trunkd_providers",
	"trunkd_registry_invalid_files",
	"trunkd_registry_last_reload_success_timestamp_seconds",
	"trunkd_render_last_success_timestamp_seconds",
	"trunkd_render_failures_total",
	"trunkd_provider_registered",
	"trunkd_provider_reachable",
	"trunkd_provider_last_status_code",
	"trunkd_provider_rtt_seconds",
	"trunkd_sip_rtt_seconds",
	"trunkd_sip_requests_total",
}

var (
	metricDefinition = regexp.MustCompile(`(?:Name:\s*|(?:gauge|counter)\(\s*)"(trunkd_[a-z0-9_]+)"`) // gauge( and counter(: helpers of registry/cluster and render
	metricToken      = regexp.MustCompile(`\btrunkd_[a-zA-Z0-9_:]+`)
)

// knownMetrics returns the metric names the daemon exports: DESIGN.md §7
// plus every `Name: "trunkd_…"` metric definition in the repository's
// non-test Go sources. The lead may later switch this to a scrape of a
// running daemon.
func knownMetrics(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	for _, m := range designMetrics {
		known[m] = true
	}
	for _, m := range sourceMetrics(t) {
		known[m] = true
	}
	return known
}

// sourceMetrics scans the repository's non-test Go files for metric
// definitions.
func sourceMetrics(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != repoRoot && (strings.HasPrefix(name, ".") || name == "out" || name == "bin" || name == "vendor" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range metricDefinition.FindAllSubmatch(data, -1) {
			seen[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scan Go sources for metrics: %v", err)
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// metricBase maps a series name to the metric that produces it: histogram
// and summary series (_bucket, _sum, _count) belong to their base metric.
func metricBase(name string, known map[string]bool) string {
	if known[name] {
		return name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && known[base] {
			return base
		}
	}
	return name
}

// checkMetricNames reports every trunkd_ name in a PromQL expression that
// the daemon does not export, and an expression that reads no trunkd
// metric at all (other than the scrape's own up series).
func checkMetricNames(t *testing.T, where, expr string, known map[string]bool) {
	t.Helper()
	names := metricToken.FindAllString(expr, -1)
	if len(names) == 0 && !strings.Contains(expr, "up{") {
		t.Errorf("%s: query reads no trunkd metric: %s", where, expr)
	}
	for _, n := range names {
		if !known[metricBase(n, known)] {
			t.Errorf("%s: metric %s is not exported by trunkd (query %s)", where, n, expr)
		}
	}
}

func TestMetricBase(t *testing.T) {
	known := map[string]bool{"trunkd_sip_rtt_seconds": true, "trunkd_x_total": true}
	for in, want := range map[string]string{
		"trunkd_sip_rtt_seconds_bucket": "trunkd_sip_rtt_seconds",
		"trunkd_sip_rtt_seconds_count":  "trunkd_sip_rtt_seconds",
		"trunkd_x_total":                "trunkd_x_total",
		"trunkd_x_total_bucket":         "trunkd_x_total",
		"trunkd_nope_bucket":            "trunkd_nope_bucket",
	} {
		if got := metricBase(in, known); got != want {
			t.Errorf("metricBase(%q) = %q, want %q", in, got, want)
		}
	}
}
