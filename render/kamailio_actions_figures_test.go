package render

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestKamailioPresetFigures prints issue 13's figures: TestKamailioPresetRunLoop
// at 1,000 registering trunks with 20 password changes (the registrar
// refusing the old password from just before each save) and 5 deletions,
// each step timed (save → snapshot → kamcmd → registrar, a second
// Kamailio checking the digest against its subscriber table). Times are
// wall-clock on a loaded machine, so it asserts only that each change
// arrived, that the other trunks sent nothing and that the registrar's
// bindings (usrloc) are what the changes leave.
// Run: make bench-actions (TRUNKD_FIGURES=1 go test -run TestKamailioPresetFigures -v ./render/)
func TestKamailioPresetFigures(t *testing.T) {
	if os.Getenv("TRUNKD_FIGURES") == "" {
		t.Skip("set TRUNKD_FIGURES=1 (make bench-actions): 1,000 registrations load the machine for about a minute")
	}
	const n, edits, deletes = 1000, 20, 5
	rl := startRunLoopLab(t, n)
	res := rl.run(t, edits, deletes)
	if v, err := exec.Command(need(t, "kamailio"), "-v").Output(); err == nil {
		t.Logf("%s, %d trunks, engine: kamailio, reg_timer_interval 1 s (loaded machine)", strings.SplitN(string(v), "\n", 2)[0], n)
	}
	res.log(t)
	if want := n - deletes; res.bindings != want || len(res.wrongBindings) != 0 || res.refused != 0 {
		t.Errorf("registrar holds %d AoRs, want %d; %v; %d REGISTERs refused (403), want none", res.bindings, want, res.wrongBindings, res.refused)
	}
	if res.others != 0 || res.reloads != 0 || len(res.actionErrors) != 0 {
		t.Errorf("%d REGISTERs from untouched trunks, %d whole-file reloads, trunk action errors %+v; want none",
			res.others, res.reloads, res.actionErrors)
	}
}

// pct is the p-th percentile of ds (nearest rank).
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := max((p*len(s)+99)/100-1, 0)
	return s[i].Round(time.Millisecond)
}
