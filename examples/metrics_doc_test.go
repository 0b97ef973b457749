package examples

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// metricsDocExamples returns the PromQL examples of docs/metrics.md: in
// each ```promql block, a "# comment" line names the query that follows;
// indented lines continue it.
func metricsDocExamples(t *testing.T) map[string]string {
	t.Helper()
	text := string(readFile(t, filepath.Join(repoRoot, "docs", "metrics.md")))
	out := map[string]string{}
	for _, block := range strings.Split(text, "```promql\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		var name string
		for _, l := range strings.Split(strings.TrimSpace(block), "\n") {
			switch {
			case strings.HasPrefix(l, "#"):
				name = strings.TrimSpace(strings.TrimPrefix(l, "#"))
			case strings.HasPrefix(l, " "):
				out[name] += " " + strings.TrimSpace(l)
			default:
				out[name] = l
			}
		}
	}
	return out
}

// TestMetricsDocExamplesParse feeds every PromQL example of docs/metrics.md
// to `promtool check rules`.
func TestMetricsDocExamplesParse(t *testing.T) {
	promtool := needTool(t, "promtool")
	examples := metricsDocExamples(t)
	if len(examples) < 10 {
		t.Fatalf("found %d PromQL examples in docs/metrics.md, want at least 10", len(examples))
	}
	var b strings.Builder
	b.WriteString("groups:\n  - name: docs\n    rules:\n")
	n := 0
	for _, expr := range examples {
		n++
		e, _ := json.Marshal(expr)
		fmt.Fprintf(&b, "      - record: docs:example_%d\n        expr: %s\n", n, e)
	}
	path := filepath.Join(t.TempDir(), "docs.rules.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := runTool(t, ".", promtool, "check", "rules", path); !strings.Contains(out, fmt.Sprintf("%d rules found", n)) {
		t.Fatalf("promtool: want %d rules:\n%s", n, out)
	}
}

// TestMetricsDocExamplesEvaluate evaluates the examples that filter trunks
// against test series with promtool: each must return the trunks it
// promises, with the value it promises.
func TestMetricsDocExamplesEvaluate(t *testing.T) {
	promtool := needTool(t, "promtool")
	examples := metricsDocExamples(t)
	series := `trunkd_provider_reachable{instance="a:8080",code="up"}: '1x5'
trunkd_provider_reachable{instance="a:8080",code="down"}: '0x5'
trunkd_provider_last_status_code{instance="a:8080",code="up",method="OPTIONS"}: '200x5'
trunkd_provider_last_status_code{instance="a:8080",code="down",method="OPTIONS"}: '408x5'
trunkd_provider_last_status_code{instance="a:8080",code="down",method="REGISTER"}: '401x5'
trunkd_provider_registered{instance="a:8080",code="up"}: '1x5'
trunkd_provider_registered{instance="a:8080",code="down"}: '0x5'
trunkd_registry_invalid_files{instance="a:8080"}: '2x5'`
	for name, want := range map[string]string{
		"unreachable trunks with their last OPTIONS code (the value is the code)": `{__name__="trunkd_provider_last_status_code",instance="a:8080",code="down",method="OPTIONS"}: 408`,
		"trunks not registered for 5 minutes (alert rule: for: 5m)":               `{__name__="trunkd_provider_registered",instance="a:8080",code="down"}: 0`,
		"share of registered trunks":                                              `{}: 0.5`,
		"invalid files, per instance":                                             `{__name__="trunkd_registry_invalid_files",instance="a:8080"}: 2`,
	} {
		expr, ok := examples[name]
		if !ok {
			t.Errorf("docs/metrics.md has no example %q", name)
			continue
		}
		t.Run(name, func(t *testing.T) { promqlTest(t, promtool, series, expr, want) })
	}
}
