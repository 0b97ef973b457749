package render

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// withActions sets per-trunk action commands on a uacreg target that log
// "<action> <trunk> <present|absent>" (whether the trunk's row is in the
// live file when the action runs) to f.out/actions. A trunk listed in
// the file f.out/fail (one per line: "<trunk>" for every action,
// "<action> <trunk>" for one) fails; in f.out/hang hangs.
func (f *fixture) withActions(share float64) func(*TargetConfig) {
	script := fmt.Sprintf(`log=%q; fail=%q; hang=%q
if grep -q "^[0-9]*:$TRUNKD_TRUNK:" "$TRUNKD_OUTPUT"; then at=present; else at=absent; fi
echo "$TRUNKD_ACTION $TRUNKD_TRUNK $at $TRUNKD_VAR_PROFILE" >> "$log"
if [ -f "$hang" ] && grep -qx "$TRUNKD_TRUNK" "$hang"; then sleep 30; fi
if [ -f "$fail" ] && grep -qx -e "$TRUNKD_TRUNK" -e "$TRUNKD_ACTION $TRUNKD_TRUNK" "$fail"; then echo "error: 500 - engine said no"; exit 0; fi
echo ok`, filepath.Join(f.out, "actions"), filepath.Join(f.out, "fail"), filepath.Join(f.out, "hang"))
	return func(tc *TargetConfig) {
		tc.TrunkAddCmd, tc.TrunkChangeCmd, tc.TrunkRemoveCmd = script, script, script
		tc.TrunkActionsMaxShare = share
		tc.ReloadFailRegex = `^error`
		tc.Vars = map[string]string{"profile": "external"}
	}
}

// actions returns the action log's lines since the last call.
func (f *fixture) actions(t *testing.T, seen *int) []string {
	t.Helper()
	text := strings.TrimSpace(readFileOr(filepath.Join(f.out, "actions")))
	var lines []string
	if text != "" {
		lines = strings.Split(text, "\n")
	}
	got := lines[min(*seen, len(lines)):]
	*seen = len(lines)
	return got
}

// TestTrunkActionsReplaceTheReload: the first render reloads the whole
// file; a change to one trunk of five runs only that trunk's action (no
// reload); a removal un-registers while the row is still in the file; a
// change to more than the share reloads the whole file again.
func TestTrunkActionsReplaceTheReload(t *testing.T) {
	f := newFixture(t, "a1", "a2", "a3", "a4", "a5")
	tc := f.uacreg(f.withActions(0.2))
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	seen := 0
	apply := func() {
		t.Helper()
		if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
			t.Fatal(err)
		}
	}
	apply()
	if f.reloads() != 1 || len(f.actions(t, &seen)) != 0 {
		t.Fatalf("first start: %d reloads, want the whole-file path", f.reloads())
	}
	f.set(t, "a3", trunkYAML("a3", "new-pw", 300))
	apply()
	if got := f.actions(t, &seen); strings.Join(got, ";") != "change a3 present external" || f.reloads() != 1 {
		t.Fatalf("change: actions %q, %d reloads", got, f.reloads())
	}
	if !strings.Contains(readFile(t, tc.Output), ":new-pw:") {
		t.Fatal("the change is not in the live file")
	}
	f.set(t, "a6", trunkYAML("a6", "a6-pw", 300))
	apply()
	if got := f.actions(t, &seen); strings.Join(got, ";") != "add a6 present external" {
		t.Fatalf("add: actions %q", got)
	}
	f.set(t, "a6", "")
	apply()
	if got := f.actions(t, &seen); strings.Join(got, ";") != "remove a6 present external" {
		t.Fatalf("remove: actions %q (the trunk must still be in the file)", got)
	}
	if strings.Contains(readFile(t, tc.Output), ":a6:") {
		t.Fatal("the removed trunk is still in the live file")
	}
	f.set(t, "a1", trunkYAML("a1", "x1", 300))
	f.set(t, "a2", trunkYAML("a2", "x2", 300))
	apply()
	if got := f.actions(t, &seen); len(got) != 0 || f.reloads() != 2 {
		t.Fatalf("2 of 5 trunks: actions %q, %d reloads; want the whole-file path", got, f.reloads())
	}
	if st := targetStatus(t, r, "uacreg"); st.State != StateOK || len(st.TrunkActionErrors) != 0 {
		t.Errorf("status %+v", st)
	}
}

// TestTrunkActionsAfterRestartReloadOnce: a new renderer does not know the
// live file's trunk parts: its first change reloads, the next uses actions.
func TestTrunkActionsAfterRestartReloadOnce(t *testing.T) {
	f := newFixture(t, "a1", "a2", "a3", "a4", "a5")
	tc := f.uacreg(f.withActions(0.2))
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	f.set(t, "a3", trunkYAML("a3", "new-pw", 300))
	r2, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r2.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	seen := 0
	if got := f.actions(t, &seen); len(got) != 0 || f.reloads() != 2 {
		t.Fatalf("after a restart: actions %q, %d reloads", got, f.reloads())
	}
	f.set(t, "a4", trunkYAML("a4", "new-pw", 300))
	if err := r2.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if got := f.actions(t, &seen); strings.Join(got, ";") != "change a4 present external" || f.reloads() != 2 {
		t.Fatalf("second change: actions %q, %d reloads", got, f.reloads())
	}
}

// TestTrunkActionFailures: an action that fails (error output with exit
// 0), an engine that is down (every action fails) and an action that
// hangs past the timeout: the live file has every trunk's change, the
// other trunks' actions ran, the failure is listed per trunk in the
// status and the metric, and a later attempt retries only the failed
// trunks until they succeed.
func TestTrunkActionFailures(t *testing.T) {
	for _, tt := range []struct {
		name    string
		fail    string // trunks listed in f.out/fail
		hang    string // trunks listed in f.out/hang
		failing []string
		message string
	}{
		{name: "action fails", fail: "a2\n", failing: []string{"a2"}, message: "failure pattern"},
		{name: "engine down", fail: "a2\na4\n", failing: []string{"a2", "a4"}, message: "error: 500"},
		{name: "action times out", hang: "a4\n", failing: []string{"a4"}, message: "timed out"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "a1", "a2", "a3", "a4", "a5")
			tc := f.uacreg(f.withActions(0.5))
			if tt.hang != "" {
				// Short enough to time the hanging action out, long enough
				// for the others' shell scripts on a loaded machine; the
				// other cases keep the default, so they never time out.
				tc.Timeout = 2 * time.Second
			}
			r, _, prom := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
			if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(f.out, "fail"), tt.fail)
			writeFile(t, filepath.Join(f.out, "hang"), tt.hang)
			f.set(t, "a2", trunkYAML("a2", "new2", 300))
			f.set(t, "a4", trunkYAML("a4", "new4", 300))
			err := r.RenderOnce(t.Context(), f.reg.Snapshot())
			if !errors.Is(err, ErrTrunkActionFailed) || !strings.Contains(err.Error(), `trunk "`+tt.failing[0]+`"`) || strings.Contains(err.Error(), "new") {
				t.Fatalf("RenderOnce = %v, want ErrTrunkActionFailed for %s, without the password", err, tt.failing[0])
			}
			live := readFile(t, tc.Output)
			if !strings.Contains(live, ":new2:") || !strings.Contains(live, ":new4:") || !strings.Contains(live, ":a1-pw:") {
				t.Fatalf("live file lost a change or a trunk:\n%s", live)
			}
			seen := 0
			got := f.actions(t, &seen)
			if len(got) != 2 || f.reloads() != 1 {
				t.Fatalf("actions %q (want both trunks'), %d reloads", got, f.reloads())
			}
			st := targetStatus(t, r, "uacreg")
			if st.State != StateOK || st.NextRetry == nil || len(st.TrunkActionErrors) != len(tt.failing) {
				t.Fatalf("status %+v", st)
			}
			for i, code := range tt.failing {
				e := st.TrunkActionErrors[i]
				if e.Code != code || e.Action != ActionChange || !strings.Contains(e.Message+e.Output, tt.message) || strings.Contains(e.Message+e.Output, "new") {
					t.Errorf("trunk action error %+v, want %s change %q (and no password)", e, code, tt.message)
				}
			}
			if n, err := testutil.GatherAndCount(prom, "trunkd_render_trunk_action_failures_total"); err != nil || n != 3 {
				t.Errorf("trunkd_render_trunk_action_failures_total: %d series (want add, change, remove), %v", n, err)
			}
			if got := testutil.ToFloat64(r.m.actionFailures.WithLabelValues("uacreg", ActionChange)); int(got) != len(tt.failing) {
				t.Errorf("trunkd_render_trunk_action_failures_total{action=\"change\"} = %v, want %d", got, len(tt.failing))
			}
			// The engine is back: the retry runs the failed trunks only.
			writeFile(t, filepath.Join(f.out, "fail"), "")
			writeFile(t, filepath.Join(f.out, "hang"), "")
			if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
				t.Fatal(err)
			}
			got = f.actions(t, &seen)
			slices.Sort(got) // they run in parallel
			if len(got) != len(tt.failing) || !strings.HasPrefix(got[0], "change "+tt.failing[0]) {
				t.Errorf("retry ran %q, want the failed trunks %v", got, tt.failing)
			}
			if st := targetStatus(t, r, "uacreg"); len(st.TrunkActionErrors) != 0 || f.reloads() != 1 {
				t.Errorf("after the retry: %+v, %d reloads", st.TrunkActionErrors, f.reloads())
			}
		})
	}
}

// TestThrottleCountsFromReloads: MinInterval holds a target's next render
// back only after its reload_cmd ran. Changes applied trunk by trunk run
// at once, one after the other (no stall between single edits); after a
// whole-file reload the next change waits for the interval.
func TestThrottleCountsFromReloads(t *testing.T) {
	f := newFixture(t, "a1", "a2", "a3", "a4", "a5")
	tc := f.uacreg(f.withActions(0.2))
	r, err := New(Config{Targets: []TargetConfig{tc}}, Options{Logger: discardLogger(), MinInterval: time.Hour, RetryMin: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil { // first start: reload_cmd
		t.Fatal(err)
	}
	r.targets[0].lastReload = time.Time{} // as if the reload was an hour ago
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, subscribe(t, f.reg)) }()
	defer func() { cancel(); <-done }()
	seen := 0
	var got []string
	for _, c := range []string{"a1", "a2", "a3", "a4"} {
		f.set(t, c, trunkYAML(c, c+"-new", 300))
		waitFor(t, 10*time.Second, "the change of "+c, func() bool {
			got = append(got, f.actions(t, &seen)...)
			return slices.Contains(got, "change "+c+" present external")
		})
	}
	if f.reloads() != 1 {
		t.Fatalf("%d reloads, want only the first start's", f.reloads())
	}
	writeFile(t, filepath.Join(f.dir, "a1.yaml"), trunkYAML("a1", "x1", 300))
	f.set(t, "a2", trunkYAML("a2", "x2", 300)) // one snapshot with both
	waitFor(t, 10*time.Second, "the whole-file reload of a change to 2 of 5 trunks", func() bool { return f.reloads() == 2 })
	f.set(t, "a5", trunkYAML("a5", "a5-new", 300))
	waitFor(t, 10*time.Second, "the next change to wait for MinInterval", func() bool {
		next, ok := r.nextDue()
		return ok && time.Until(next) > 30*time.Minute
	})
	if got := f.actions(t, &seen); len(got) != 0 || f.reloads() != 2 {
		t.Errorf("within MinInterval of a reload: actions %q, %d reloads; want none", got, f.reloads())
	}
}

// TestFailedSwapUndoesRemovals: a removal's action runs before the new
// file is put in place; when that fails (here the journal cannot be
// written), the trunk is still in the live file, so its add action
// registers it again, the error is listed for that trunk, and the next
// attempt removes it again. When registering it again fails too, the
// error says the trunk is in the file but un-registered.
func TestFailedSwapUndoesRemovals(t *testing.T) {
	for _, tt := range []struct {
		name, fail, message string
		actions             []string
	}{
		{name: "registered again", message: "registered again",
			actions: []string{"remove a5 present external", "add a5 present external"}},
		{name: "register fails too", fail: "add a5\n", message: "registering it again failed",
			actions: []string{"remove a5 present external", "add a5 present external"}},
		{name: "un-register fails", fail: "remove a5\n", message: "failure pattern",
			actions: []string{"remove a5 present external"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "a1", "a2", "a3", "a4", "a5")
			tc := f.uacreg(f.withActions(0.2))
			r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
			if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
				t.Fatal(err)
			}
			// A directory where the journal keeps the previous file: the
			// journal cannot begin, so the candidate is not renamed.
			blocker := filepath.Join(filepath.Dir(tc.Output), ".uacreg.trunkd.prev")
			writeFile(t, filepath.Join(blocker, "x"), "")
			writeFile(t, filepath.Join(f.out, "fail"), tt.fail)
			f.set(t, "a5", "")
			err := r.RenderOnce(t.Context(), f.reg.Snapshot())
			if !errors.Is(err, ErrTrunkActionFailed) || !strings.Contains(err.Error(), `trunk "a5"`) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("RenderOnce = %v, want a5's removal failed with %q", err, tt.message)
			}
			seen := 0
			if got := f.actions(t, &seen); !slices.Equal(got, tt.actions) {
				t.Errorf("actions %q, want %q", got, tt.actions)
			}
			if !strings.Contains(readFile(t, tc.Output), ":a5:") {
				t.Fatal("a5 left the live file although the swap failed")
			}
			st := targetStatus(t, r, "uacreg")
			if st.State != StateFailed || st.LastError == nil || st.LastError.Stage != StageWrite ||
				len(st.TrunkActionErrors) != 1 || st.TrunkActionErrors[0].Code != "a5" || st.TrunkActionErrors[0].Action != ActionRemove ||
				!strings.Contains(st.TrunkActionErrors[0].Message, tt.message) {
				t.Fatalf("status %+v, trunk action errors %+v", st, st.TrunkActionErrors)
			}
			// The disk is fixed: the next attempt removes a5 again.
			if err := os.RemoveAll(blocker); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(f.out, "fail"), "")
			if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
				t.Fatal(err)
			}
			if got := f.actions(t, &seen); strings.Join(got, ";") != "remove a5 present external" || strings.Contains(readFile(t, tc.Output), ":a5:") {
				t.Errorf("retry: actions %q, a5 in the file: %v", got, strings.Contains(readFile(t, tc.Output), ":a5:"))
			}
			if st := targetStatus(t, r, "uacreg"); st.State != StateOK || len(st.TrunkActionErrors) != 0 || f.reloads() != 1 {
				t.Errorf("after the retry: %+v, %d reloads", st, f.reloads())
			}
		})
	}
}

// TestTrunkAddRemoveFailures: with the engine down, an added trunk's and
// a removed trunk's actions fail: the file takes both (the removed trunk
// leaves it: its un-register is retried on the engine's memory, which
// still holds it), both are listed, and the retry runs both once the
// engine is back.
func TestTrunkAddRemoveFailures(t *testing.T) {
	f := newFixture(t, "a1", "a2", "a3", "a4", "a5")
	tc := f.uacreg(f.withActions(0.5))
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(f.out, "fail"), "a5\na6\n")
	writeFile(t, filepath.Join(f.dir, "a6.yaml"), trunkYAML("a6", "a6-pw", 300))
	f.set(t, "a5", "")
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); !errors.Is(err, ErrTrunkActionFailed) {
		t.Fatalf("RenderOnce = %v, want ErrTrunkActionFailed", err)
	}
	live := readFile(t, tc.Output)
	if !strings.Contains(live, ":a6:") || strings.Contains(live, ":a5:") || !strings.Contains(live, ":a1:") {
		t.Fatalf("live file:\n%s", live)
	}
	st := targetStatus(t, r, "uacreg")
	if len(st.TrunkActionErrors) != 2 || st.TrunkActionErrors[0].Code != "a5" || st.TrunkActionErrors[0].Action != ActionRemove ||
		st.TrunkActionErrors[1].Code != "a6" || st.TrunkActionErrors[1].Action != ActionAdd {
		t.Fatalf("trunk action errors %+v", st.TrunkActionErrors)
	}
	writeFile(t, filepath.Join(f.out, "fail"), "")
	seen := 0
	f.actions(t, &seen)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	got := f.actions(t, &seen)
	slices.Sort(got)
	if strings.Join(got, ";") != "add a6 present external;remove a5 absent external" || f.reloads() != 1 {
		t.Errorf("retry ran %q (%d reloads)", got, f.reloads())
	}
}

// TestBurstOfSavesCoalesces: 15 saves to different trunks of 100, as
// fast as the test can write them, through the registry's watcher and
// Run: every trunk's action runs, in a few renders (the watcher waits
// for a quiet window once saves come close together; snapshots that
// arrive during a render collapse), without a whole-file reload.
func TestBurstOfSavesCoalesces(t *testing.T) {
	codes := make([]string, 100)
	for i := range codes {
		codes[i] = fmt.Sprintf("b%03d", i)
	}
	f := newFixture(t, codes...)
	tc := f.uacreg(f.withActions(0.2))
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	r.targets[0].lastReload = time.Time{} // as if the first start's reload was long ago
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 2)
	go func() { done <- f.reg.Watch(ctx) }()
	go func() { done <- r.Run(ctx, subscribe(t, f.reg)) }()
	defer func() { cancel(); <-done; <-done }()
	waitFor(t, 10*time.Second, "the renderer to take the first snapshot", func() bool {
		return targetStatus(t, r, "uacreg").Generation == f.reg.Snapshot().Generation()
	})
	start := time.Now()
	for _, c := range codes[:15] {
		tmp := filepath.Join(f.dir, "."+c+".tmp")
		writeFile(t, tmp, trunkYAML(c, c+"-new", 300))
		if err := os.Rename(tmp, filepath.Join(f.dir, c+".yaml")); err != nil {
			t.Fatal(err)
		}
	}
	wrote := time.Since(start)
	seen, ran := 0, map[string]bool{}
	waitFor(t, 20*time.Second, "every saved trunk's action", func() bool {
		for _, line := range f.actions(t, &seen) {
			ran[line] = true
		}
		return len(ran) == 15
	})
	renders := int(testutil.ToFloat64(r.m.changes.WithLabelValues("uacreg"))) - 1
	t.Logf("15 saves written in %v: %d renders, %d whole-file reloads after the first start (loaded machine)",
		wrote.Round(time.Millisecond), renders, f.reloads()-1)
	if renders > 5 || f.reloads() != 1 {
		t.Errorf("%d renders, %d reloads for a burst of 15 saves; want a few renders, no reload", renders, f.reloads()-1)
	}
}
