package examples

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The Grafana dashboard linter (github.com/grafana/dashboard-linter) does
// not install from the module proxy here, so the rules of it that the
// dashboard relies on are written down and checked in this file:
//
//   - uneditable-dashboard-rule: "editable": false (a provisioned dashboard
//     is changed in git, not in the UI);
//   - template-job-rule, template-instance-rule: variables job and instance
//     exist, are queries on ${datasource}, labelled "Job"/"Instance", multi
//     select, with allValue ".+" (".*" would also match series without the
//     label);
//   - template-on-time-change-reload-rule: query variables refresh on time
//     range change (refresh: 2);
//   - target-job-rule, target-instance-rule: every metric selector of a
//     panel query has job=~"$job" and instance=~"$instance";
//   - target-rate-interval-rule: rate() and irate() use $__rate_interval.

// lintDashboard is the part of the dashboard the linter rules read.
type lintDashboard struct {
	Editable   *bool `json:"editable"`
	Templating struct {
		List []struct {
			Name       string         `json:"name"`
			Label      string         `json:"label"`
			Type       string         `json:"type"`
			Datasource *datasourceRef `json:"datasource"`
			Multi      bool           `json:"multi"`
			IncludeAll bool           `json:"includeAll"`
			AllValue   string         `json:"allValue"`
			Refresh    int            `json:"refresh"`
		} `json:"list"`
	} `json:"templating"`
}

func TestDashboardLinterRules(t *testing.T) {
	var d lintDashboard
	if err := json.Unmarshal(readFile(t, filepath.Join("grafana", "trunkd.json")), &d); err != nil {
		t.Fatal(err)
	}
	if d.Editable == nil || *d.Editable {
		t.Error(`uneditable-dashboard-rule: want "editable": false`)
	}
	found := map[string]bool{}
	for _, v := range d.Templating.List {
		if v.Type == "query" && v.Refresh != 2 {
			t.Errorf("template-on-time-change-reload-rule: variable %s has refresh %d, want 2", v.Name, v.Refresh)
		}
		if v.Name != "job" && v.Name != "instance" {
			continue
		}
		found[v.Name] = true
		label := strings.ToUpper(v.Name[:1]) + v.Name[1:]
		if v.Type != "query" || v.Datasource == nil || v.Datasource.UID != "${datasource}" || v.Label != label {
			t.Errorf("template-%s-rule: want a query on ${datasource} labelled %q, got type %q, datasource %+v, label %q", v.Name, label, v.Type, v.Datasource, v.Label)
		}
		if !v.Multi || !v.IncludeAll || v.AllValue != ".+" {
			t.Errorf("template-%s-rule: want multi, include all and allValue \".+\", got %v, %v, %q", v.Name, v.Multi, v.IncludeAll, v.AllValue)
		}
	}
	if !found["job"] || !found["instance"] {
		t.Errorf("template-job-rule/template-instance-rule: variables found %v, want job and instance", found)
	}
	for _, q := range dashboardQueries(t, loadDashboard(t)) {
		if q.variable {
			continue
		}
		checkTargetMatchers(t, q.where, q.expr)
	}
}

var (
	selector     = regexp.MustCompile(`\btrunkd_[a-z_]+(\{[^}]*\})?`)
	rateFunction = regexp.MustCompile(`\b(i?rate)\([^\[]*\[([^\]]*)\]`)
)

// checkTargetMatchers applies the target-job, target-instance and
// target-rate-interval rules to one panel query.
func checkTargetMatchers(t *testing.T, where, expr string) {
	t.Helper()
	for _, m := range selector.FindAllStringSubmatch(expr, -1) {
		if !strings.Contains(m[1], `job=~"$job"`) || !strings.Contains(m[1], `instance=~"$instance"`) {
			t.Errorf("target-job-rule/target-instance-rule: %s: %s lacks job=~\"$job\" or instance=~\"$instance\"", where, m[0])
		}
	}
	for _, m := range rateFunction.FindAllStringSubmatch(expr, -1) {
		if m[2] != "$__rate_interval" {
			t.Errorf("target-rate-interval-rule: %s: %s over [%s], want [$__rate_interval]", where, m[1], m[2])
		}
	}
}

// TestDashboardBindingsWithoutRegistration: the bindings column of the
// trunks table returns a row (0) for a trunk whose REGISTER never got a
// 200 (no trunkd_provider_bindings series), checked with promtool against
// test series.
func TestDashboardBindingsWithoutRegistration(t *testing.T) {
	promtool := needTool(t, "promtool")
	var expr string
	for _, q := range dashboardQueries(t, loadDashboard(t)) {
		if strings.Contains(q.where, `"Trunks"`) && strings.Contains(q.expr, "trunkd_provider_bindings") {
			expr = substituteVariables(q.expr)
		}
	}
	if expr == "" {
		t.Fatal("the Trunks table has no bindings query")
	}
	series := `trunkd_provider_registered{job="trunkd",instance="a:8080",code="ok"}: '1x5'
trunkd_provider_bindings{job="trunkd",instance="a:8080",code="ok"}: '2x5'
trunkd_provider_registered{job="trunkd",instance="a:8080",code="rejected"}: '0x5'`
	want := `{instance="a:8080",code="ok"}: 2
{instance="a:8080",code="rejected"}: 0`
	promqlTest(t, promtool, series, expr, want)
}

// promqlTest evaluates expr at 5m over the series ("selector: 'values'" per
// line, one sample a minute) with promtool test rules and fails unless the
// result is exactly want ("labels: value" per line).
func promqlTest(t *testing.T, promtool, series, expr, want string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n")
	for _, l := range strings.Split(series, "\n") {
		sel, values, _ := strings.Cut(l, ": ")
		fmt.Fprintf(&b, "      - series: %q\n        values: %s\n", sel, values)
	}
	e, _ := json.Marshal(expr)
	fmt.Fprintf(&b, "    promql_expr_test:\n      - expr: %s\n        eval_time: 5m\n        exp_samples:\n", e)
	for _, l := range strings.Split(want, "\n") {
		labels, value, _ := strings.Cut(l, ": ")
		fmt.Fprintf(&b, "          - labels: %q\n            value: %s\n", labels, value)
	}
	path := filepath.Join(t.TempDir(), "expr.test.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, filepath.Dir(path), promtool, "test", "rules", filepath.Base(path))
}
