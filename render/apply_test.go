package render

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trunkd/trunkd/registry"
)

// fixture is a providers directory with a registry and an output dir.
type fixture struct {
	dir, out string
	reg      *registry.Registry
}

func newFixture(t *testing.T, codes ...string) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), out: t.TempDir()}
	for _, c := range codes {
		writeFile(t, filepath.Join(f.dir, c+".yaml"), trunkYAML(c, c+"-pw", 300))
	}
	f.reg = openRegistry(t, f.dir)
	return f
}

// set writes (or with text "" removes) a provider file and rescans.
func (f *fixture) set(t *testing.T, code, text string) {
	t.Helper()
	path := filepath.Join(f.dir, code+".yaml")
	if text == "" {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	} else {
		writeFile(t, path, text)
	}
	if err := f.reg.Reload(); err != nil {
		t.Fatal(err)
	}
}

// uacreg returns a kamailio/uacreg target on f.out with a reload command
// that appends a line to f.out/reloads.
func (f *fixture) uacreg(mod func(*TargetConfig)) TargetConfig {
	tc := TargetConfig{
		Name: "uacreg", Template: "kamailio/uacreg", Output: filepath.Join(f.out, "db", "uacreg"),
		ReloadCmd: `echo "$TRUNKD_TARGET $TRUNKD_OUTPUT" >> ` + filepath.Join(f.out, "reloads"),
	}
	if mod != nil {
		mod(&tc)
	}
	return tc
}

func (f *fixture) reloads() int { return lineCount(filepath.Join(f.out, "reloads")) }

func statIno(t *testing.T, path string) (uint64, time.Time) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino, fi.ModTime()
}

// TestUnchangedRenderWritesAndReloadsNothing: the same snapshot, and a
// snapshot whose change does not reach the output, leave the file (inode,
// mtime) alone and run no reload.
func TestUnchangedRenderWritesAndReloadsNothing(t *testing.T) {
	f := newFixture(t, "alpha", "bravo")
	tc := f.uacreg(nil)
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(f.out, "reloads")); got != "uacreg "+tc.Output+"\n" {
		t.Fatalf("reload log %q", got)
	}
	ino, mtime := statIno(t, tc.Output)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	// A title is not in the uacreg table; a disabled trunk is not rendered.
	f.set(t, "alpha", trunkYAML("alpha", "alpha-pw", 300)+"opts:\n  title: new title\n")
	f.set(t, "charlie", trunkYAML("charlie", "charlie-pw", 300)+"enabled: 0\n")
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	ino2, mtime2 := statIno(t, tc.Output)
	if ino2 != ino || !mtime2.Equal(mtime) || f.reloads() != 1 {
		t.Errorf("unchanged render touched the file (inode %d→%d, mtime %v→%v) or reloaded (%d reloads)", ino, ino2, mtime, mtime2, f.reloads())
	}
	if st := targetStatus(t, r, "uacreg"); st.State != StateOK || st.Trunks != 2 || st.LastSuccess == nil || st.Generation != f.reg.Snapshot().Generation() {
		t.Errorf("status %+v", st)
	}
}

// TestNewFileMtimeIsStrictlyNewer: db_text ignores a table rewritten in the
// same second, so each new file's mtime is past the old one in seconds.
func TestNewFileMtimeIsStrictlyNewer(t *testing.T) {
	f := newFixture(t, "alpha")
	tc := f.uacreg(nil)
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	var last int64
	for i := range 4 {
		f.set(t, "alpha", trunkYAML("alpha", "alpha-pw", 300+i))
		if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
			t.Fatal(err)
		}
		_, mtime := statIno(t, tc.Output)
		if mtime.Unix() <= last {
			t.Fatalf("render %d: mtime %d not after %d", i, mtime.Unix(), last)
		}
		last = mtime.Unix()
	}
	if f.reloads() != 4 {
		t.Errorf("%d reloads, want 4", f.reloads())
	}
	if got := mtimeAfter(time.Unix(100, 5), time.Unix(100, 900)); got.Unix() != 101 {
		t.Errorf("mtimeAfter same second = %v", got.Unix())
	}
	if got := mtimeAfter(time.Unix(100, 0), time.Unix(250, 7)); !got.Equal(time.Unix(250, 0)) {
		t.Errorf("mtimeAfter later = %v", got)
	}
}

// TestDropGuard: removing more than max_drop_ratio of the live file's
// trunks is held back (file and engine untouched) until confirmed.
func TestDropGuard(t *testing.T) {
	f := newFixture(t, "alpha", "bravo", "charlie", "delta")
	tc := f.uacreg(nil)
	r, logs, prom := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	// Half may go at once (0.5 is not more than 0.5).
	f.set(t, "alpha", "")
	f.set(t, "bravo", "")
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatalf("removing 2 of 4: %v", err)
	}
	// Both remaining ones (and then some new one) is more than half.
	f.set(t, "charlie", "")
	f.set(t, "delta", "")
	f.set(t, "echo", trunkYAML("echo", "echo-pw", 300))
	before := readFile(t, tc.Output)
	err := r.RenderOnce(t.Context(), f.reg.Snapshot())
	if !errors.Is(err, ErrHeldBack) {
		t.Fatalf("RenderOnce = %v, want ErrHeldBack", err)
	}
	if readFile(t, tc.Output) != before || f.reloads() != 2 {
		t.Fatalf("held-back render changed the file or reloaded (%d reloads)", f.reloads())
	}
	if left, _ := filepath.Glob(candidatePattern(tc.Output)); len(left) != 0 {
		t.Fatalf("held-back render left candidates %v", left)
	}
	st := targetStatus(t, r, "uacreg")
	if st.State != StateHeldBack || st.HeldBack == nil || st.HeldBack.LiveTrunks != 2 || st.HeldBack.Removed != 2 ||
		strings.Join(st.HeldBack.RemovedList, ",") != "charlie,delta" || st.HeldBack.NewTrunks != 1 {
		t.Fatalf("status %+v held %+v", st, st.HeldBack)
	}
	if v := testutil.ToFloat64(r.m.held.WithLabelValues("uacreg")); v != 1 {
		t.Errorf("trunkd_render_drop_held = %v", v)
	}
	if !strings.Contains(logs.String(), "held back") {
		t.Error("no log line for the held-back render")
	}
	err = r.ConfirmDrop("nope")
	if !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("ConfirmDrop(nope) = %v, want ErrUnknownTarget", err)
	}
	if err := r.ConfirmDrop("uacreg"); err != nil {
		t.Fatal(err)
	}
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatalf("after confirmation: %v", err)
	}
	if rows := parseDBText(t, readFile(t, tc.Output)); len(rows) != 1 || rows[0][1] != "echo" || f.reloads() != 3 {
		t.Fatalf("confirmed drop not applied: %q, %d reloads", rows, f.reloads())
	}
	if err := r.ConfirmDrop("uacreg"); !errors.Is(err, ErrNotHeld) {
		t.Errorf("ConfirmDrop with nothing held = %v", err)
	}
	if v := testutil.ToFloat64(r.m.held.WithLabelValues("uacreg")); v != 0 {
		t.Errorf("trunkd_render_drop_held = %v after the drop", v)
	}
	if v := testutil.ToFloat64(r.m.changes.WithLabelValues("uacreg")); v != 3 {
		t.Errorf("trunkd_render_changes_total = %v, want 3", v)
	}
	if n, err := testutil.GatherAndCount(prom, "trunkd_render_last_success_timestamp_seconds", "trunkd_render_failures_total"); err != nil || n != 5 {
		t.Errorf("gathered %d series (%v), want 1 timestamp + 4 failure stages", n, err)
	}
}

// TestDropGuardConfigFlagAndEmptiedDirectory: an emptied providers
// directory (a wrong mount) at startup is held back against the live file
// written by an earlier run; confirm_drop: true lets it through.
func TestDropGuardConfigFlagAndEmptiedDirectory(t *testing.T) {
	f := newFixture(t, "alpha", "bravo", "charlie")
	tc := f.uacreg(nil)
	first, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := first.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	empty := openRegistry(t, t.TempDir())
	restarted, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := restarted.RenderOnce(t.Context(), empty.Snapshot()); !errors.Is(err, ErrHeldBack) {
		t.Fatalf("emptied directory after restart: %v, want ErrHeldBack", err)
	}
	if rows := parseDBText(t, readFile(t, tc.Output)); len(rows) != 3 {
		t.Fatalf("live file lost trunks: %d rows", len(rows))
	}
	flagged, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}, ConfirmDrop: true}, -1)
	if err := flagged.RenderOnce(t.Context(), empty.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if rows := parseDBText(t, readFile(t, tc.Output)); len(rows) != 0 {
		t.Fatalf("confirm_drop: %d rows left", len(rows))
	}
	// max_drop_ratio 1 turns the guard off.
	f.set(t, "alpha", "")
	if _, err := New(Config{Targets: []TargetConfig{tc}, MaxDropRatio: 1.5}, Options{}); err == nil {
		t.Error("max_drop_ratio 1.5 accepted")
	}
}

// TestTemplateErrorKeepsLiveFile: a template that fails to execute leaves
// the live file alone, runs no command and reports stage "template"; a
// fixed template file is picked up on the next render without a restart.
func TestTemplateErrorKeepsLiveFile(t *testing.T) {
	f := newFixture(t, "alpha")
	tmplPath := filepath.Join(t.TempDir(), "my.tmpl")
	writeFile(t, tmplPath, "{{range .Trunks}}{{.Code}}\n{{end}}")
	tc := f.uacreg(func(tc *TargetConfig) {
		tc.Template = tmplPath
		tc.CheckCmd = "echo checked >> " + filepath.Join(f.out, "checks")
	})
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	writeFile(t, tmplPath, "{{range .Trunks}}{{.Code}} {{.NoSuchField}}\n{{end}}")
	f.set(t, "bravo", trunkYAML("bravo", "bravo-pw", 300))
	err := r.RenderOnce(t.Context(), f.reg.Snapshot())
	if err == nil || !strings.Contains(err.Error(), "template") || !strings.Contains(err.Error(), "NoSuchField") {
		t.Fatalf("RenderOnce = %v", err)
	}
	if got := readFile(t, tc.Output); got != "alpha\n" || f.reloads() != 1 || lineCount(filepath.Join(f.out, "checks")) != 1 {
		t.Fatalf("template error changed the file (%q) or ran commands", got)
	}
	st := targetStatus(t, r, "uacreg")
	if st.State != StateFailed || st.LastError == nil || st.LastError.Stage != StageTemplate || st.NextRetry == nil {
		t.Fatalf("status %+v", st)
	}
	if v := testutil.ToFloat64(r.m.failures.WithLabelValues("uacreg", StageTemplate)); v != 1 {
		t.Errorf("failures{stage=template} = %v", v)
	}
	writeFile(t, tmplPath, "{{range .Trunks}}{{.Code}};{{end}}\n")
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, tc.Output); got != "alpha;bravo;\n" {
		t.Errorf("fixed template not picked up: %q", got)
	}
	if _, err := New(Config{Targets: []TargetConfig{f.uacreg(func(tc *TargetConfig) { tc.Template = "kamailio/nope" })}}, Options{}); err == nil {
		t.Error("unknown template accepted")
	}
}

// TestCheckFailureKeepsLiveFile: check_cmd sees the candidate as $1 and
// TRUNKD_CANDIDATE next to the output; a rejection keeps the live file,
// removes the candidate, reloads nothing and reports the output tail
// without the passwords the check printed.
func TestCheckFailureKeepsLiveFile(t *testing.T) {
	f := newFixture(t, "alpha")
	seen := filepath.Join(f.out, "seen")
	tc := f.uacreg(func(tc *TargetConfig) {
		tc.CheckCmd = `test "$1" = "$TRUNKD_CANDIDATE" || exit 9; cp "$1" ` + seen + `; cat "$1"; grep -q bravo "$1" && { echo "rejected: bravo"; exit 3; }; exit 0`
	})
	r, logs, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	good := readFile(t, tc.Output)
	if readFile(t, seen) != good {
		t.Fatal("the check saw another file than the one installed")
	}
	f.set(t, "bravo", trunkYAML("bravo", "bravo:se\\cret", 300))
	err := r.RenderOnce(t.Context(), f.reg.Snapshot())
	if err == nil || !strings.Contains(err.Error(), "check") {
		t.Fatalf("RenderOnce = %v", err)
	}
	if readFile(t, tc.Output) != good || f.reloads() != 1 {
		t.Fatal("rejected candidate replaced the live file or reloaded")
	}
	if !strings.Contains(readFile(t, seen), "bravo") {
		t.Fatal("the check did not see the new render")
	}
	entries, _ := os.ReadDir(filepath.Dir(tc.Output))
	if len(entries) != 1 {
		t.Errorf("candidate left behind: %v", entries)
	}
	st := targetStatus(t, r, "uacreg")
	if st.LastError == nil || st.LastError.Stage != StageCheck || !strings.Contains(st.LastError.Output, "rejected: bravo") ||
		!strings.Contains(st.LastError.Message, "exit status 3") {
		t.Fatalf("status %+v", st.LastError)
	}
	assertNoSecrets(t, r, logs, true, "alpha-pw", "bravo:se\\cret", `bravo\:se\\cret`)
}

// assertNoSecrets fails when a password shows in /status JSON or the log.
// With wantMasked, something must have been masked (the test made a
// command print a password).
func assertNoSecrets(t *testing.T, r *Renderer, logs *logBuffer, wantMasked bool, secrets ...string) {
	t.Helper()
	js, err := json.Marshal(r.Status())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(js), s) {
			t.Errorf("status shows the password %q: %s", s, js)
		}
		if strings.Contains(logs.String(), s) {
			t.Errorf("log shows the password %q", s)
		}
	}
	if wantMasked && !strings.Contains(string(js)+logs.String(), mask) {
		t.Error("nothing was masked: the test printed no password")
	}
}

// TestReloadFailureRollsBack: a reload that prints an error (exit 0, as
// kamcmd does) restores the previous file with a newer mtime and reloads
// again; the failure is reported with the output.
func TestReloadFailureRollsBack(t *testing.T) {
	f := newFixture(t, "alpha")
	flag := filepath.Join(f.out, "fail-next-reload")
	tc := f.uacreg(func(tc *TargetConfig) {
		tc.ReloadCmd = `echo reload >> ` + filepath.Join(f.out, "reloads") + `; cp "$TRUNKD_OUTPUT" ` + filepath.Join(f.out, "loaded") +
			`; if [ -e ` + flag + ` ]; then rm ` + flag + `; echo "error: 500 - Failed to reload records"; fi`
		tc.ReloadFailRegex = `(?m)^error`
	})
	r, logs, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	good := readFile(t, tc.Output)
	_, goodMtime := statIno(t, tc.Output)
	writeFile(t, flag, "")
	f.set(t, "alpha", trunkYAML("alpha", "alpha-pw", 120))
	err := r.RenderOnce(t.Context(), f.reg.Snapshot())
	if err == nil || !strings.Contains(err.Error(), "restored") {
		t.Fatalf("RenderOnce = %v", err)
	}
	if readFile(t, tc.Output) != good {
		t.Fatal("live file not rolled back")
	}
	if readFile(t, filepath.Join(f.out, "loaded")) != good || f.reloads() != 3 {
		t.Fatalf("rollback not reloaded: %d reloads", f.reloads())
	}
	_, mtime := statIno(t, tc.Output)
	if mtime.Unix() <= goodMtime.Unix()+1 {
		t.Errorf("restored file mtime %d not after the rejected one (> %d)", mtime.Unix(), goodMtime.Unix()+1)
	}
	st := targetStatus(t, r, "uacreg")
	if st.LastError == nil || st.LastError.Stage != StageReload || !strings.Contains(st.LastError.Output, "Failed to reload records") {
		t.Fatalf("status %+v", st.LastError)
	}
	if v := testutil.ToFloat64(r.m.failures.WithLabelValues("uacreg", StageReload)); v != 1 {
		t.Errorf("failures{stage=reload} = %v", v)
	}
	if !strings.Contains(logs.String(), "Failed to reload records") {
		t.Error("reload output not in the log")
	}
	// The next render (reload healthy again) applies the change.
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if rows := parseDBText(t, readFile(t, tc.Output)); rows[0][11] != "120" {
		t.Errorf("expires %s after the retry", rows[0][11])
	}
}

// TestFirstFileStaysWhenReloadFails: with no previous file (say the engine
// is not running yet) a failed reload keeps the new file, and the reload
// is retried on the next render although the bytes are unchanged (twice:
// the attempt before failed at reload).
func TestFirstFileStaysWhenReloadFails(t *testing.T) {
	f := newFixture(t, "alpha")
	up := filepath.Join(f.out, "engine-up")
	tc := f.uacreg(func(tc *TargetConfig) {
		tc.ReloadCmd = `echo reload >> ` + filepath.Join(f.out, "reloads") + `; test -e ` + up + ` || { echo "engine down"; exit 4; }`
	})
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	err := r.RenderOnce(t.Context(), f.reg.Snapshot())
	if err == nil || !strings.Contains(err.Error(), "exit status 4") || !strings.Contains(err.Error(), "no previous file") {
		t.Fatalf("RenderOnce = %v", err)
	}
	if rows := parseDBText(t, readFile(t, tc.Output)); len(rows) != 1 {
		t.Fatalf("new file not kept: %d rows", len(rows))
	}
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err == nil || !strings.Contains(err.Error(), "no previous file") {
		t.Fatalf("unchanged render with a pending reload: %v", err)
	}
	writeFile(t, up, "")
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if n := f.reloads(); n != 4 {
		t.Errorf("%d reloads, want 4 (failed, failed again twice, succeeded; none once loaded)", n)
	}
	if st := targetStatus(t, r, "uacreg"); st.State != StateOK || st.LastChange == nil {
		t.Errorf("status %+v", st)
	}
}

// TestReloadTimeoutKillsProcessGroup: a reload that hangs is killed with
// its children after the timeout, and the file is rolled back.
func TestReloadTimeoutKillsProcessGroup(t *testing.T) {
	f := newFixture(t, "alpha")
	pidFile := filepath.Join(f.out, "child.pid")
	tc := f.uacreg(nil)
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	good := readFile(t, tc.Output)
	hang := f.uacreg(func(tc *TargetConfig) {
		tc.ReloadCmd = `if [ ! -e ` + pidFile + ` ]; then sleep 60 & echo $! > ` + pidFile + `; wait; fi`
		tc.Timeout = 300 * time.Millisecond
	})
	r, _, _ = testRenderer(t, Config{Targets: []TargetConfig{hang}}, -1)
	f.set(t, "alpha", trunkYAML("alpha", "alpha-pw", 900))
	start := time.Now()
	err := r.RenderOnce(t.Context(), f.reg.Snapshot())
	if err == nil || !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Fatalf("RenderOnce = %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("timeout took %s", took)
	}
	if readFile(t, tc.Output) != good {
		t.Error("file not rolled back after the reload timeout")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the reload's child process to die", func() bool { return !processAlive(pid) })
}

// processAlive reports whether pid runs (a zombie counts as dead).
func processAlive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// TestRunRendersBurstOnceAndRetries: while a reload runs, a burst of
// snapshots piles up and renders once with the latest; a failed reload is
// retried without a new snapshot; ConfirmDrop wakes the loop.
func TestRunRendersBurstOnceAndRetries(t *testing.T) {
	f := newFixture(t, "alpha", "bravo", "charlie")
	release := filepath.Join(f.out, "release")
	failOnce := filepath.Join(f.out, "fail-once")
	tc := f.uacreg(func(tc *TargetConfig) {
		tc.ReloadCmd = `echo reload >> ` + filepath.Join(f.out, "reloads") +
			`; while [ ! -e ` + release + ` ]; do sleep 0.01; done` +
			`; if [ -e ` + failOnce + ` ]; then rm ` + failOnce + `; exit 1; fi`
	})
	r, err := New(Config{Targets: []TargetConfig{tc}}, Options{
		Logger: discardLogger(), RetryMin: 50 * time.Millisecond, RetryMax: 100 * time.Millisecond, MinInterval: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, subscribe(t, f.reg)) }()
	defer func() { cancel(); <-done }()

	waitFor(t, 5*time.Second, "the first reload to start", func() bool { return f.reloads() == 1 })
	for i := range 10 {
		f.set(t, "alpha", trunkYAML("alpha", "alpha-pw", 100+i))
	}
	last := f.reg.Snapshot().Generation()
	writeFile(t, release, "")
	waitFor(t, 5*time.Second, "the latest snapshot to be applied", func() bool {
		st := targetStatus(t, r, "uacreg")
		return st.Generation == last && st.State == StateOK
	})
	if n := f.reloads(); n != 2 {
		t.Errorf("%d reloads for a burst, want 2 (the first, then the latest)", n)
	}
	if rows := parseDBText(t, readFile(t, tc.Output)); rows[0][11] != "109" {
		t.Errorf("expires %s, want the latest 109", rows[0][11])
	}

	// A failed reload is retried after RetryMin without a new snapshot.
	writeFile(t, failOnce, "")
	f.set(t, "bravo", trunkYAML("bravo", "bravo-pw", 777))
	waitFor(t, 5*time.Second, "the retry to apply the change", func() bool {
		rows := parseDBText(t, readFile(t, tc.Output))
		failed := testutil.ToFloat64(r.m.failures.WithLabelValues("uacreg", StageReload)) == 1
		return failed && len(rows) == 3 && rows[1][11] == "777" && targetStatus(t, r, "uacreg").State == StateOK
	})
	if n := f.reloads(); n != 5 {
		t.Errorf("%d reloads, want 5 (failed, rollback, retry)", n)
	}

	// A held-back drop is released by ConfirmDrop through the loop.
	for _, c := range []string{"alpha", "bravo"} {
		if err := os.Remove(filepath.Join(f.dir, c+".yaml")); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.reg.Reload(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the drop to be held back", func() bool {
		return targetStatus(t, r, "uacreg").State == StateHeldBack
	})
	if err := r.ConfirmDrop("uacreg"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the confirmed drop to be applied", func() bool {
		return len(parseDBText(t, readFile(t, tc.Output))) == 1 && targetStatus(t, r, "uacreg").State == StateOK
	})
}

// TestStaleCandidatesRemoved: candidates a crashed run left next to the
// output are deleted at start; other hidden files are not.
func TestStaleCandidatesRemoved(t *testing.T) {
	f := newFixture(t, "alpha")
	tc := f.uacreg(nil)
	stale := filepath.Join(filepath.Dir(tc.Output), ".uacreg.trunkd-12345")
	other := filepath.Join(filepath.Dir(tc.Output), ".uacreg.swp")
	writeFile(t, stale, "half a file")
	writeFile(t, other, "not ours")
	_, logs, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale candidate kept: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("unrelated file removed: %v", err)
	}
	if !strings.Contains(logs.String(), "left by an earlier run") {
		t.Error("removal not logged")
	}
}
