package render

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestRedactorMemoryIsBounded: 30 snapshots that each give a provider a
// new 300 kB password keep only the passwords in force (and those a live
// file may still hold) in memory, not every password ever seen.
func TestRedactorMemoryIsBounded(t *testing.T) {
	f := newFixture(t, "alpha", "bravo")
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{f.uacreg(nil)}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	for i := range 30 {
		pwd := fmt.Sprintf("%02d", i) + strings.Repeat("x", 300<<10)
		f.set(t, "alpha", trunkYAML("alpha", pwd, 300))
		if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
			t.Fatal(err)
		}
		if got := r.red.apply("reload said " + pwd); got != "reload said ***" {
			t.Fatalf("password in force not masked: %.40q", got)
		}
	}
	if n := len(r.red.inForce) + len(r.red.retired); n > 10 {
		t.Errorf("redactor holds %d secrets for 2 providers (5 forms each at most)", n)
	}
	after := heap()
	t.Logf("live heap %d MB → %d MB over 30 passwords of 300 kB", before>>20, after>>20)
	if after > before+16<<20 {
		t.Errorf("live heap grew by %d MB", (after-before)>>20)
	}
}

// TestMaskingKeepsTextReadable: short passwords are masked as whole
// values only, so words that contain their letters stay readable and a
// mask shows no position inside a word; long ones are masked everywhere.
func TestMaskingKeepsTextReadable(t *testing.T) {
	f := newFixture(t)
	for _, p := range []struct{ code, pwd string }{{"alpha", "a"}, {"bravo", "b"}, {"charlie", "c"}, {"delta", "long-password-1"}} {
		writeFile(t, filepath.Join(f.dir, p.code+".yaml"), trunkYAML(p.code, p.pwd, 300))
	}
	f.reg = openRegistry(t, f.dir)
	var rd redactor
	rd.learn(f.reg.Snapshot())
	for in, want := range map[string]string{
		"template: kamailio/uacreg":             "template: kamailio/uacreg",
		"auth_password: a":                      "auth_password: ***",
		"1:alpha:alpha:b:c\\:x:a":               "1:alpha:alpha:***:c\\:x:***",
		`password="c" realm=x`:                  `password="***" realm=x`,
		"secretlong-password-1tail, and b":      "secret***tail, and ***",
		"no password here, only abc and a.b.c.": "no password here, only abc and a.b.c.",
	} {
		if got := rd.apply(in); got != want {
			t.Errorf("apply(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOneCharacterPasswordOnStatus: a password ">" does not show where it
// occurs in a template error on /status.
func TestOneCharacterPasswordOnStatus(t *testing.T) {
	f := newFixture(t)
	writeFile(t, filepath.Join(f.dir, "alpha.yaml"), trunkYAML("alpha", ">", 300))
	f.reg = openRegistry(t, f.dir)
	tmplPath := filepath.Join(t.TempDir(), "t.tmpl")
	writeFile(t, tmplPath, `{{range .Trunks}}{{index .Proxies 3}}{{end}}`)
	r, logs, _ := testRenderer(t, Config{Targets: []TargetConfig{f.uacreg(func(tc *TargetConfig) { tc.Template = tmplPath })}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err == nil {
		t.Fatal("template error not reported")
	}
	st := targetStatus(t, r, "uacreg")
	if st.LastError == nil || !strings.Contains(st.LastError.Message, "<index .Proxies 3>") || strings.Contains(st.LastError.Message, mask) {
		t.Fatalf("status message %+v", st.LastError)
	}
	if strings.Contains(logs.String(), mask) {
		t.Errorf("log masks inside the text:\n%s", logs)
	}
}
