package examples

import (
	"path/filepath"
	"regexp"
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

// TestPrometheusRulesOperable: every alert has a severity, a runbook_url
// whose section exists in docs/runbook.md, and no rule selects trunkd by
// its job name (a renamed scrape job would silence it).
func TestPrometheusRulesOperable(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join("prometheus", "trunkd.rules.yml")), &rules); err != nil {
		t.Fatalf("parse rules: %v", err)
	}
	runbook := string(readFile(t, filepath.Join(repoRoot, "docs", "runbook.md")))
	const base = "https://github.com/trunkd/trunkd/blob/main/docs/runbook.md#"
	jobMatcher := regexp.MustCompile(`\bjob\s*(=|!=|=~|!~)`)
	severities := map[string]int{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			sev := r.Labels["severity"]
			if sev != "critical" && sev != "warning" {
				t.Errorf("alert %s: severity %q, want critical or warning", r.Alert, sev)
			}
			severities[sev]++
			if url := r.Annotations["runbook_url"]; url != base+strings.ToLower(r.Alert) {
				t.Errorf("alert %s: runbook_url %q, want %s", r.Alert, url, base+strings.ToLower(r.Alert))
			}
			if !strings.Contains(runbook, "\n## "+r.Alert+"\n") {
				t.Errorf("alert %s: docs/runbook.md has no section %q", r.Alert, "## "+r.Alert)
			}
			if jobMatcher.MatchString(r.Expr) {
				t.Errorf("alert %s selects by job: %s", r.Alert, r.Expr)
			}
		}
	}
	if severities["critical"] == 0 || severities["warning"] == 0 {
		t.Errorf("severities %v: want both pages and warnings", severities)
	}
}
