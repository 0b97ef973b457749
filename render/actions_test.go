package render

import (
	"errors"
	"fmt"
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
// the file f.out/fail (one per line) fails; in f.out/hang hangs.
func (f *fixture) withActions(share float64) func(*TargetConfig) {
	script := fmt.Sprintf(`log=%q; fail=%q; hang=%q
if grep -q "^[0-9]*:$TRUNKD_TRUNK:" "$TRUNKD_OUTPUT"; then at=present; else at=absent; fi
echo "$TRUNKD_ACTION $TRUNKD_TRUNK $at $TRUNKD_VAR_PROFILE" >> "$log"
if [ -f "$hang" ] && grep -qx "$TRUNKD_TRUNK" "$hang"; then sleep 30; fi
if [ -f "$fail" ] && grep -qx "$TRUNKD_TRUNK" "$fail"; then echo "error: 500 - engine said no"; exit 0; fi
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
