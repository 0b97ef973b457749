package render

import (
	"bytes"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/templates"
)

// blockCase is one built-in template with one set of vars, rendered trunk
// by trunk across a series of snapshots by one target.
type blockCase struct {
	name string
	vars map[string]string
	tg   *target
	prev []byte // a copy of the last output
}

// TestBlocksRenderWhatTheWholeTemplateRenders: every built-in template
// with trunks renders by blocks, and across a series of real snapshots
// (edits, a trunk that stops and starts registering, one added in front,
// a removal, a disabled trunk, a new password) the output built from the
// kept block outputs is byte for byte the whole template's output from
// scratch, only the changed trunks are executed again, and the drop
// guard's names taken from the block outputs are those a scan of the file
// finds.
func TestBlocksRenderWhatTheWholeTemplateRenders(t *testing.T) {
	dir := t.TempDir()
	benchProviders(t, dir, 200)
	reg := openRegistry(t, dir)
	cases := builtinBlockCases(t)
	byCode := func(code string) *registry.Provider {
		p, ok := reg.Snapshot().ByCode(code)
		if !ok {
			t.Fatalf("no provider %s", code)
		}
		return p
	}
	update := func(code string, change func(p *registry.Provider)) {
		if _, err := reg.Update(byCode(code).ID, func(p *registry.Provider) error { change(p); return nil }); err != nil {
			t.Fatalf("update %s: %v", code, err)
		}
	}
	steps := []struct {
		what    string
		change  func()
		changed int // trunk blocks executed again (all: -1)
	}{
		{"first render", func() {}, -1},
		{"nothing changed", func() {}, 0},
		{"expires and proxy port of one trunk", func() { update("trunk00100", func(p *registry.Provider) { p.Expires, p.ProxyPort = 77, 7070 }) }, 1},
		{"a trunk stops registering", func() { update("trunk00004", func(p *registry.Provider) { p.Reg = 0 }) }, 1},
		{"a trunk registers again", func() { update("trunk00004", func(p *registry.Provider) { p.Reg = 1 }) }, 1},
		{"a trunk added in front", func() {
			if _, err := reg.Create(provider("aaa-first")); err != nil {
				t.Fatal(err)
			}
		}, 1},
		{"a trunk removed", func() {
			if err := reg.Delete(byCode("trunk00050").ID, nil); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"a trunk disabled", func() { update("trunk00060", func(p *registry.Provider) { p.Enabled = 0 }) }, 0},
		{"a new password", func() { update("trunk00199", func(p *registry.Provider) { p.Pwd = `new:pa\ss;w<&>"` }) }, 1},
	}
	for _, step := range steps {
		step.change()
		set := cases[0].tg.outs.get(reg.Snapshot(), -1, nil)
		if len(set.failed) > 0 {
			t.Fatal(set.failed[0].err)
		}
		want := step.changed
		if want < 0 {
			want = len(set.trunks)
		}
		for _, c := range cases {
			c.check(t, step.what, set, want)
		}
	}
}

// builtinBlockCases prepares a target for every built-in template that
// renders by blocks (all but kamailio/version), with and without vars.
func builtinBlockCases(t *testing.T) []*blockCase {
	t.Helper()
	var cases []*blockCase
	outs := new(trunkOutputs) // shared, as the renderer's targets share it
	for _, name := range templates.Names() {
		for _, vars := range []map[string]string{nil, {"auth": "ha1", "setid": "3", "skip_dns": "0", "context": "c;x", "allow": "g722"}} {
			tg, err := newTarget(TargetConfig{Name: "t", Template: name, Output: "unused", Vars: vars})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tg.parsed.blocks(), name != "kamailio/version"; got != want {
				t.Fatalf("%s: renders by blocks: %v, want %v", name, got, want)
			}
			if tg.parsed.blocks() {
				tg.outs, tg.index = outs, len(cases)
				cases = append(cases, &blockCase{name: name, vars: vars, tg: tg})
			}
		}
	}
	return cases
}

// check renders set by blocks and compares with the whole template, the
// number of blocks executed, and the drop guard's names.
func (c *blockCase) check(t *testing.T, step string, set trunkSet, executed int) {
	t.Helper()
	out, err := renderStrict(c.tg, c.tg.parsed, newData("t", -1, c.vars, set))
	if err != nil {
		t.Fatalf("%s: %s: %v", step, c.name, err)
	}
	whole, err := execute(c.tg.parsed.whole, newData("t", -1, c.vars, set))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, whole) {
		t.Fatalf("%s: %s %v: the blocks render other bytes than the whole template", step, c.name, c.vars)
	}
	if got := c.tg.outs.targets[c.tg.index].executed; got != executed {
		t.Errorf("%s: %s: %d trunk blocks executed, want %d", step, c.name, got, executed)
	}
	names, ok := c.tg.outs.names(c.tg.index, c.tg.trunkRe, out)
	if !ok {
		t.Fatalf("%s: %s: the built-in blocks do not end at line ends", step, c.name)
	}
	if scanned := scanNames(c.tg.trunkRe, out); !maps.Equal(names, scanned) {
		t.Fatalf("%s: %s: block output names %v, file scan %v", step, c.name, sortedKeys(names), sortedKeys(scanned))
	}
	// The names remembered for earlier outputs
	// are those of the content asked about.
	for _, data := range [][]byte{out, c.prev, bytes.Clone(out)} {
		if data != nil && !maps.Equal(c.tg.trunkNames(data), scanNames(c.tg.trunkRe, data)) {
			t.Fatalf("%s: %s: remembered names do not match the content", step, c.name)
		}
	}
	c.prev = bytes.Clone(out)
}

func sortedKeys(m map[string]bool) []string {
	return slices.Sorted(maps.Keys(m))
}

// TestTemplateFileBlocks: an operator's template file with header, trunk
// and footer blocks is rendered by blocks once they rendered what the
// whole template renders; blocks that do not are never used for that text
// (the whole template's bytes are written and a warning logged), and an
// edited file is checked again.
func TestTemplateFileBlocks(t *testing.T) {
	f := newFixture(t, "alpha", "bravo")
	tmplPath := filepath.Join(t.TempDir(), "my.tmpl")
	const blocks = `{{define "header"}}# {{.Target}}{{"\n"}}{{end}}{{define "trunk"}}{{.Code}}={{.Domain}}{{"\n"}}{{end}}{{define "footer"}}# end{{"\n"}}{{end}}`
	writeFile(t, tmplPath, `{{template "header" .}}{{range .Trunks}}{{template "trunk" .}}{{end}}{{template "footer" .}}`+blocks)
	tc := f.uacreg(func(tc *TargetConfig) { tc.Template, tc.TrunkRegex = tmplPath, `^([a-z]+)=` })
	r, logs, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	tg, outs := r.targets[0], &r.outputs.targets[0]
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	want := "# uacreg\nalpha=sip.alpha.example\nbravo=sip.bravo.example\n# end\n"
	if got := readFile(t, tc.Output); got != want || tg.verified != tg.file.key || outs.executed != 2 {
		t.Fatalf("consistent blocks: file %q, verified %v, executed %d", got, tg.verified == tg.file.key, outs.executed)
	}
	f.set(t, "alpha", strings.Replace(trunkYAML("alpha", "alpha-pw", 300), "sip.alpha.example", "new.alpha.example", 1))
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	want = "# uacreg\nalpha=new.alpha.example\nbravo=sip.bravo.example\n# end\n"
	if got := readFile(t, tc.Output); got != want || outs.executed != 1 {
		t.Fatalf("one trunk changed: file %q, %d trunk blocks executed", got, outs.executed)
	}

	// The main body writes an x after each trunk: the blocks do not match it.
	writeFile(t, tmplPath, `{{template "header" .}}{{range .Trunks}}{{template "trunk" .}}x{{end}}{{template "footer" .}}`+blocks)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	want = "# uacreg\nalpha=new.alpha.example\nxbravo=sip.bravo.example\nx# end\n"
	if got := readFile(t, tc.Output); got != want || tg.mismatch != tg.file.key || outs.key != "" {
		t.Fatalf("mismatched blocks: file %q, mismatch %v", got, tg.mismatch == tg.file.key)
	}
	if !strings.Contains(logs.String(), "do not render what the whole template renders") {
		t.Error("no warning about the mismatched blocks")
	}
	f.set(t, "bravo", strings.Replace(trunkYAML("bravo", "bravo-pw", 300), "sip.bravo.example", "new.bravo.example", 1))
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	want = "# uacreg\nalpha=new.alpha.example\nxbravo=new.bravo.example\nx# end\n"
	if got := readFile(t, tc.Output); got != want || outs.key != "" {
		t.Fatalf("mismatched blocks, next render: file %q", got)
	}
}

// TestBlockErrorNamesTrunk: a trunk block that fails names the trunk (not
// its values), writes nothing, and the trunk is executed again on the
// next render rather than taken from a cache.
func TestBlockErrorNamesTrunk(t *testing.T) {
	f := newFixture(t, "alpha", "bravo")
	tmplPath := filepath.Join(t.TempDir(), "my.tmpl")
	writeFile(t, tmplPath, `{{template "header" .}}{{range .Trunks}}{{template "trunk" .}}{{end}}{{template "footer" .}}`+
		`{{define "header"}}{{end}}{{define "footer"}}{{end}}{{define "trunk"}}{{pjsip .Opts.Comment}}{{"\n"}}{{end}}`)
	tc := f.uacreg(func(tc *TargetConfig) { tc.Template = tmplPath })
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	good := readFile(t, tc.Output)
	// pjsip.conf cannot hold the leading space, which the registry allows in a comment
	f.set(t, "bravo", trunkYAML("bravo", "pw", 300)+"opts:\n  comment: \" bravo-secret\"\n")
	err := r.RenderOnce(t.Context(), f.reg.Snapshot())
	if err == nil || !strings.Contains(err.Error(), `trunk "bravo"`) || strings.Contains(err.Error(), "bravo-secret") {
		t.Fatalf("RenderOnce = %v", err)
	}
	if readFile(t, tc.Output) != good || f.reloads() != 1 {
		t.Fatal("a failed trunk block changed the file or reloaded")
	}
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err == nil || r.outputs.targets[0].executed != 1 {
		t.Fatalf("second render: %v, %d trunk blocks executed", err, r.outputs.targets[0].executed)
	}
}

// TestBlockOutputNamesNeedLineEnds: when a block does not end a line, the
// pieces cannot be scanned one by one, and the drop guard scans the file.
func TestBlockOutputNamesNeedLineEnds(t *testing.T) {
	reg := openRegistry(t, t.TempDir())
	for _, code := range []string{"alpha", "bravo", "charlie"} {
		if _, err := reg.Create(provider(code)); err != nil {
			t.Fatal(err)
		}
	}
	var outs trunkOutputs
	set := outs.get(reg.Snapshot(), -1, nil)
	for _, c := range []struct {
		trunk   string
		aligned bool
		want    string
	}{
		{`{{.Code}} `, false, "alpha"}, // one line: the pattern finds its first trunk only
		{`{{"\n"}}{{.Code}} `, false, "alpha,bravo,charlie"},
		{`{{.Code}} {{"\n"}}`, true, "alpha,bravo,charlie"},
	} {
		tmpl, err := parseTemplate("x", `{{define "header"}}H{{"\n"}}{{end}}{{define "footer"}}{{"\n"}}{{end}}{{define "trunk"}}`+c.trunk+`{{end}}`, nil)
		if err != nil {
			t.Fatal(err)
		}
		tg := &target{trunkRe: regexp.MustCompile(`([a-z]+) `), outs: &outs}
		prog := newProgram(tmpl, "test:"+c.trunk)
		out, err := renderStrict(tg, prog, newData("t", -1, nil, set))
		if err != nil {
			t.Fatal(err)
		}
		if outs.targets[0].aligned != c.aligned {
			t.Errorf("%q: aligned %v, want %v", c.trunk, outs.targets[0].aligned, c.aligned)
		}
		got := tg.trunkNames(out)
		if !maps.Equal(got, scanNames(tg.trunkRe, out)) || strings.Join(sortedKeys(got), ",") != c.want {
			t.Errorf("%q: names %v in %q, want %s", c.trunk, sortedKeys(got), out, c.want)
		}
	}
}

// TestTrunkOutputsKeepFailures: a provider whose values cannot be derived
// stays in the failed list on the next snapshot while it is unchanged; it
// is not forgotten (which would count as a removal). The registry's
// validation lets no such provider through today, so the test breaks a
// provider of the snapshot in place.
func TestTrunkOutputsKeepFailures(t *testing.T) {
	snap := openRegistry(t, filepath.Join("testdata", "providers")).Snapshot()
	p := snap.Providers()[0]
	p.AlternativeProxies = "tcp:no port here"
	var c trunkOutputs
	for i, own := range []Ownership{nil, owning(1, "alpha"), owning(2, "bravo")} { // a new set each time
		set := c.get(snap, -1, own)
		if len(set.failed) != 1 || set.failed[0].code != p.Code || set.failed[0].err == nil {
			t.Fatalf("pass %d: failed %+v, want %s alone", i, set.failed, p.Code)
		}
		for _, tr := range set.trunks {
			if tr.Code == p.Code {
				t.Fatalf("pass %d: the failed trunk %s is among the trunks", i, p.Code)
			}
		}
	}
}

// TestTrunkOutputsReuseTheirOutputBuffer: each render writes its output
// over the target's last one instead of allocating a new buffer (at
// 10,000 trunks a fresh pjsip.conf per render slowed the apply down,
// BenchmarkApplyOneChange10k), and going back to a snapshot renders its
// bytes again.
func TestTrunkOutputsReuseTheirOutputBuffer(t *testing.T) {
	dir := t.TempDir()
	benchProviders(t, dir, 300)
	reg := openRegistry(t, dir)
	first := reg.Snapshot()
	p, _ := first.ByCode("trunk00007")
	if _, err := reg.Update(p.ID, func(p *registry.Provider) error { p.ProxyPort = 7077; return nil }); err != nil {
		t.Fatal(err)
	}
	tg, err := newTarget(TargetConfig{Name: "t", Template: "asterisk/pjsip.conf", Output: "unused"})
	if err != nil {
		t.Fatal(err)
	}
	tg.outs = new(trunkOutputs)
	var copies [][]byte
	var buf *byte
	for i, s := range []*registry.Snapshot{first, reg.Snapshot(), first} {
		out, err := renderStrict(tg, tg.parsed, newData("t", -1, nil, tg.outs.get(s, -1, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && &out[0] != buf {
			t.Errorf("render %d did not write over the last output", i+1)
		}
		buf, copies = &out[0], append(copies, bytes.Clone(out))
	}
	if !bytes.Equal(copies[2], copies[0]) || bytes.Equal(copies[0], copies[1]) {
		t.Fatal("the third render (the first snapshot again) differs from the first")
	}
}

// TestEmptyOutputIsKept: a trunk whose block rendered nothing (uacreg
// writes nothing for a trunk without reg: 1) and then fails keeps that
// empty output as its last good one, and says so.
func TestEmptyOutputIsKept(t *testing.T) {
	reg := openRegistry(t, t.TempDir())
	p := provider("alpha")
	p.Reg = 0
	if _, err := reg.Create(p); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Create(provider("bravo")); err != nil {
		t.Fatal(err)
	}
	tmpl, err := parseTemplate("x", `{{define "header"}}{{end}}{{define "footer"}}{{end}}`+
		`{{define "trunk"}}{{if .Registers}}{{.Code}}{{"\n"}}{{end}}{{if eq .Domain "fail.example"}}{{index .Proxies 9}}{{end}}{{end}}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	tg, prog := &target{outs: new(trunkOutputs)}, newProgram(tmpl, "test")
	for i, domain := range []string{"sip.alpha.example", "fail.example"} {
		alpha, _ := reg.Snapshot().ByCode("alpha")
		if _, err := reg.Update(alpha.ID, func(p *registry.Provider) error { p.Domain = domain; return nil }); err != nil {
			t.Fatal(err)
		}
		out, _, failed, err := tg.render(prog, newData("t", -1, nil, tg.outs.get(reg.Snapshot(), -1, nil)))
		if err != nil || string(out) != "bravo\n" {
			t.Fatalf("render %d: %q, %v", i+1, out, err)
		}
		if want := i == 1; len(failed) == 1 != want || want && (failed[0].code != "alpha" || !failed[0].kept) {
			t.Fatalf("render %d: failed %+v", i+1, failed)
		}
	}
}
