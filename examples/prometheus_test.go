package examples

import (
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestPrometheusConfig checks the scrape config and the rules with promtool.
func TestPrometheusConfig(t *testing.T) {
	promtool := needTool(t, "promtool")
	dir := "prometheus"
	runTool(t, dir, promtool, "check", "config", "prometheus.yml")
	runTool(t, dir, promtool, "check", "rules", "trunkd.rules.yml")
}

// TestPrometheusRules runs the rules' unit tests (trunkd.rules.test.yml).
func TestPrometheusRules(t *testing.T) {
	promtool := needTool(t, "promtool")
	out := runTool(t, "prometheus", promtool, "test", "rules", "trunkd.rules.test.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules did not report SUCCESS:\n%s", out)
	}
}

// TestPrometheusRulesCovered checks that every alert of the rules file is
// unit-tested both firing and not firing, and that the rules only use
// metric names the daemon exports.
func TestPrometheusRulesCovered(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join("prometheus", "trunkd.rules.yml")), &rules); err != nil {
		t.Fatalf("parse rules: %v", err)
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join("prometheus", "trunkd.rules.test.yml")), &tests); err != nil {
		t.Fatalf("parse rule tests: %v", err)
	}
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	known := knownMetrics(t)
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if !firing[r.Alert] || !quiet[r.Alert] {
				t.Errorf("alert %s: tested firing=%v, not firing=%v; both are required", r.Alert, firing[r.Alert], quiet[r.Alert])
			}
			checkMetricNames(t, "rule "+r.Alert, r.Expr, known)
		}
	}
	if n < 6 {
		t.Errorf("found %d alerts, want at least 6 (down, not registered, unreachable, invalid files, render, reload)", n)
	}
}
