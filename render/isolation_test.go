package render

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// failingBlock fails for a trunk whose username is "boom" (index out of
// range at execution), and writes "code expires" otherwise.
const failingBlock = `{{if eq .Username "boom"}}{{index .Proxies 3}}{{end}}{{.Code}} {{.Expires}}{{"\n"}}`

// TestOneFailingTrunkKeepsItsOutput: a block template that fails for one
// trunk applies every other change, keeps the failing trunk's last good
// output, leaves a new failing trunk out, and reports both in the status,
// the metric and RenderOnce's error; the fix brings them back.
func TestOneFailingTrunkKeepsItsOutput(t *testing.T) {
	f := newFixture(t, "alpha", "bravo", "charlie")
	tmplPath := filepath.Join(t.TempDir(), "blocks.tmpl")
	writeFile(t, tmplPath, `{{template "header" .}}{{range .Trunks}}{{template "trunk" .}}{{end}}{{template "footer" .}}`+
		`{{define "header"}}# head{{"\n"}}{{end}}{{define "footer"}}{{end}}{{define "trunk"}}`+failingBlock+`{{end}}`)
	tc := f.uacreg(func(tc *TargetConfig) { tc.Template = tmplPath })
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	f.set(t, "bravo", strings.Replace(trunkYAML("bravo", "bravo-pw", 400), "username: bravo", "username: boom", 1))
	f.set(t, "charlie", trunkYAML("charlie", "charlie-pw", 500))
	f.set(t, "delta", strings.Replace(trunkYAML("delta", "delta-pw", 300), "username: delta", "username: boom", 1))
	err := r.RenderOnce(t.Context(), f.reg.Snapshot())
	if !errors.Is(err, ErrTrunkFailed) || !strings.Contains(err.Error(), `"bravo"`) || !strings.Contains(err.Error(), `"delta"`) {
		t.Fatalf("RenderOnce = %v, want trunk errors for bravo and delta", err)
	}
	if got, want := readFile(t, tc.Output), "# head\nalpha 300\nbravo 300\ncharlie 500\n"; got != want || f.reloads() != 2 {
		t.Fatalf("file %q (want %q), %d reloads", got, want, f.reloads())
	}
	st := targetStatus(t, r, "uacreg")
	if st.State != StateOK || len(st.TrunkErrors) != 2 || st.NextRetry == nil ||
		st.TrunkErrors[0].Code != "bravo" || !st.TrunkErrors[0].Kept || st.TrunkErrors[1].Code != "delta" || st.TrunkErrors[1].Kept ||
		!strings.Contains(st.TrunkErrors[0].Reason, "index") {
		t.Fatalf("status %+v", st)
	}
	if v := testutil.ToFloat64(r.m.trunkErrors.WithLabelValues("uacreg")); v != 2 {
		t.Errorf("trunkd_render_trunk_errors = %v", v)
	}
	// Another change to a good trunk still goes through; bravo stays.
	f.set(t, "alpha", trunkYAML("alpha", "alpha-pw", 600))
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); !errors.Is(err, ErrTrunkFailed) {
		t.Fatal(err)
	}
	if got, want := readFile(t, tc.Output), "# head\nalpha 600\nbravo 300\ncharlie 500\n"; got != want {
		t.Fatalf("file %q, want %q", got, want)
	}
	f.set(t, "bravo", trunkYAML("bravo", "bravo-pw", 400))
	f.set(t, "delta", trunkYAML("delta", "delta-pw", 300))
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, tc.Output), "# head\nalpha 600\nbravo 400\ncharlie 500\ndelta 300\n"; got != want {
		t.Fatalf("fixed: file %q, want %q", got, want)
	}
	if st := targetStatus(t, r, "uacreg"); len(st.TrunkErrors) != 0 || st.NextRetry != nil || testutil.ToFloat64(r.m.trunkErrors.WithLabelValues("uacreg")) != 0 {
		t.Fatalf("trunk errors stay after the fix: %+v", st)
	}
}

// TestFailingTrunkIsNoDrop: a whole template (no blocks) that fails for
// one trunk leaves it out; the drop guard does not count it as a removal
// to confirm, even above max_drop_ratio. A template that fails for every
// trunk is a failure of the whole template: the live file stays.
func TestFailingTrunkIsNoDrop(t *testing.T) {
	f := newFixture(t, "alpha", "bravo", "charlie")
	tmplPath := filepath.Join(t.TempDir(), "whole.tmpl")
	writeFile(t, tmplPath, `{{range .Trunks}}`+failingBlock+`{{end}}`)
	tc := f.uacreg(func(tc *TargetConfig) { tc.Template = tmplPath; tc.TrunkRegex = `^(\w+) ` })
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}, MaxDropRatio: 0.2}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	f.set(t, "bravo", strings.Replace(trunkYAML("bravo", "bravo-pw", 300), "username: bravo", "username: boom", 1))
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); !errors.Is(err, ErrTrunkFailed) || errors.Is(err, ErrHeldBack) {
		t.Fatalf("RenderOnce = %v", err)
	}
	if got := readFile(t, tc.Output); got != "alpha 300\ncharlie 300\n" || f.reloads() != 2 {
		t.Fatalf("file %q, %d reloads", got, f.reloads())
	}
	if st := targetStatus(t, r, "uacreg"); st.HeldBack != nil || len(st.TrunkErrors) != 1 || st.TrunkErrors[0].Kept {
		t.Fatalf("status %+v", st)
	}
	for _, c := range []string{"alpha", "charlie"} {
		f.set(t, c, strings.Replace(trunkYAML(c, "pw", 300), "username: "+c, "username: boom", 1))
	}
	err := r.RenderOnce(t.Context(), f.reg.Snapshot())
	if err == nil || errors.Is(err, ErrTrunkFailed) || !strings.Contains(err.Error(), "template") {
		t.Fatalf("every trunk failing: RenderOnce = %v", err)
	}
	if got := readFile(t, tc.Output); got != "alpha 300\ncharlie 300\n" || f.reloads() != 2 {
		t.Fatalf("every trunk failing changed the file: %q, %d reloads", got, f.reloads())
	}
}

// TestEditedTemplateFailingForOneTrunk: a new template text that fails for
// one trunk is verified over the others, and the failing trunk keeps its
// output of the text before.
func TestEditedTemplateFailingForOneTrunk(t *testing.T) {
	f := newFixture(t, "alpha", "bravo")
	f.set(t, "bravo", strings.Replace(trunkYAML("bravo", "bravo-pw", 300), "username: bravo", "username: boom", 1))
	tmplPath := filepath.Join(t.TempDir(), "blocks.tmpl")
	text := func(block string) string {
		return `{{template "header" .}}{{range .Trunks}}{{template "trunk" .}}{{end}}{{template "footer" .}}` +
			`{{define "header"}}{{end}}{{define "footer"}}{{end}}{{define "trunk"}}` + block + `{{end}}`
	}
	writeFile(t, tmplPath, text(`{{.Code}} {{.Expires}}{{"\n"}}`))
	tc := f.uacreg(func(tc *TargetConfig) { tc.Template = tmplPath })
	r, logs, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	writeFile(t, tmplPath, text(`v2 `+failingBlock))
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); !errors.Is(err, ErrTrunkFailed) {
		t.Fatalf("RenderOnce = %v", err)
	}
	if got, want := readFile(t, tc.Output), "v2 alpha 300\nbravo 300\n"; got != want {
		t.Fatalf("file %q, want %q", got, want)
	}
	if strings.Contains(logs.String(), "do not render what the whole template renders") || r.targets[0].verified == "" {
		t.Fatalf("blocks not verified: %s", logs)
	}
}
