package render

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trunkd/trunkd/templates"
)

// TestEditReachesEveryEngineBesideFailingTrunk is issue 9's "Done when":
// with a trunk the Asterisk target cannot render (an operator's copy of
// the built-in template that fails for bravo), an edit of another trunk
// reaches every engine's file and its reload, through a running renderer;
// only the Asterisk target reports bravo, left out of its file.
func TestEditReachesEveryEngineBesideFailingTrunk(t *testing.T) {
	f := newFixture(t, "alpha", "bravo", "charlie")
	text, ok := templates.Lookup("asterisk/pjsip.conf")
	if !ok {
		t.Fatal("no built-in asterisk/pjsip.conf")
	}
	failing := regexp.MustCompile(`\{\{-? ?define "trunk" ?-?\}\}`).ReplaceAllString(text,
		`$0{{if eq .Code "bravo"}}{{index .Proxies 9}}{{end}}`)
	if failing == text {
		t.Fatal("the pjsip template has no trunk block to make fail")
	}
	tmplPath := filepath.Join(t.TempDir(), "pjsip-failing.tmpl")
	writeFile(t, tmplPath, failing)
	reloads := filepath.Join(f.out, "reloads")
	target := func(name, template, output string) TargetConfig {
		return TargetConfig{Name: name, Template: template, Output: filepath.Join(f.out, output),
			ReloadCmd: `echo "$TRUNKD_TARGET" >> ` + reloads}
	}
	targets := []TargetConfig{
		target("uacreg", "kamailio/uacreg", "uacreg"),
		target("dispatcher", "kamailio/dispatcher.list", "dispatcher.list"),
		target("asterisk", tmplPath, "pjsip_trunks.conf"),
		target("freeswitch", "freeswitch/gateways.xml", "gateways.xml"),
	}
	r, logs, _ := testRenderer(t, Config{Targets: targets}, -1)
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, subscribe(t, f.reg)) }()
	defer func() { cancel(); <-done }()

	// applied: the target reloaded n times and recorded the last one.
	applied := func(name string, n int) bool {
		return strings.Count(readFileOr(reloads), name+"\n") == n && targetStatus(t, r, name).State == StateOK
	}
	waitFor(t, time.Minute, "the first render of every target", func() bool {
		for _, tc := range targets {
			if !applied(tc.Name, 1) {
				return false
			}
		}
		return true
	})
	checkBravo := func() {
		t.Helper()
		for _, tc := range targets {
			st := targetStatus(t, r, tc.Name)
			out := readFile(t, tc.Output)
			if tc.Name == "asterisk" {
				if len(st.TrunkErrors) != 1 || st.TrunkErrors[0].Code != "bravo" || st.TrunkErrors[0].Kept || strings.Contains(out, "bravo") {
					t.Fatalf("asterisk: trunk errors %+v; want bravo left out of the file:\n%s", st.TrunkErrors, out)
				}
				if js, _ := json.Marshal(st); !strings.Contains(string(js), `"trunk_errors":[{"code":"bravo","reason":`) {
					t.Fatalf("/status form of the asterisk target: %s", js)
				}
				continue
			}
			if st.State != StateOK || len(st.TrunkErrors) != 0 || !strings.Contains(out, "bravo") {
				t.Fatalf("%s: state %s, trunk errors %+v, bravo in the file: %v\n%s", tc.Name, st.State, st.TrunkErrors, strings.Contains(out, "bravo"), logs)
			}
		}
	}
	checkBravo()

	start := time.Now()
	f.set(t, "alpha", strings.Replace(trunkYAML("alpha", "alpha-pw", 300), "proxyport: 5090", "proxyport: 5077", 1))
	for _, tc := range targets {
		waitFor(t, time.Minute, tc.Name+": alpha's new port in the file and a second reload", func() bool {
			return strings.Contains(readFileOr(tc.Output), "5077") && applied(tc.Name, 2)
		})
	}
	t.Logf("alpha's edit reached the four engine files and their reloads %v after the write (loaded machine)", time.Since(start).Round(time.Millisecond))
	checkBravo()
}

// readFileOr is the file's text, or "" when it cannot be read (yet).
func readFileOr(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

// TestWholeTemplateFailureKeepsLiveFile: with per-trunk isolation, a block
// template whose header or footer fails, or whose text no longer parses,
// is still a failure of the whole template (issue 9, item 2): the live
// file stays, nothing is reloaded, no trunk is blamed.
func TestWholeTemplateFailureKeepsLiveFile(t *testing.T) {
	blocks := func(header, trunk, footer string) string {
		return `{{template "header" .}}{{range .Trunks}}{{template "trunk" .}}{{end}}{{template "footer" .}}` +
			`{{define "header"}}` + header + `{{end}}{{define "trunk"}}` + trunk + `{{end}}{{define "footer"}}` + footer + `{{end}}`
	}
	const good = `{{.Code}} {{.Expires}}{{"\n"}}`
	cases := map[string]string{
		"header fails": blocks(`{{index .Trunks 99}}`, good, ``),
		"footer fails": blocks(`# head{{"\n"}}`, good, `{{index .Trunks 99}}`),
		"syntax error": blocks(`# head{{"\n"}}`, `{{.Code`, ``),
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, "alpha", "bravo")
			tmplPath := filepath.Join(t.TempDir(), "blocks.tmpl")
			writeFile(t, tmplPath, blocks(`# head{{"\n"}}`, good, ``))
			tc := f.uacreg(func(tc *TargetConfig) { tc.Template = tmplPath })
			r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
			if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
				t.Fatal(err)
			}
			live := readFile(t, tc.Output)
			writeFile(t, tmplPath, text)
			f.set(t, "alpha", trunkYAML("alpha", "alpha-pw", 600))
			err := r.RenderOnce(t.Context(), f.reg.Snapshot())
			if err == nil || errors.Is(err, ErrTrunkFailed) {
				t.Fatalf("RenderOnce = %v, want a failure of the whole template", err)
			}
			if got := readFile(t, tc.Output); got != live || f.reloads() != 1 {
				t.Fatalf("file %q (live was %q), %d reloads", got, live, f.reloads())
			}
			if st := targetStatus(t, r, "uacreg"); st.State != StateFailed || st.LastError == nil || len(st.TrunkErrors) != 0 {
				t.Fatalf("status %+v", st)
			}
		})
	}
}
