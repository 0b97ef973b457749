package render

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// TestKamailioPresetFigures prints issue 13's figures against a real
// Kamailio registering 1,000 trunks at the SIPp registrar: 20 credential
// changes one after the other (so more than 10 within 10 s), each timed
// from the start of its render to the registrar seeing the trunk's
// REGISTER with the new credentials; REGISTERs from the 999 others during
// the edits; 5 deletions timed to the un-REGISTER. Times are wall-clock
// on a loaded machine, so the test asserts only that each change arrived
// (within 10 s) and that the others sent nothing; it prints p50 and p90.
// Run: make bench-actions (TRUNKD_FIGURES=1 go test -run TestKamailioPresetFigures -v ./render/)
func TestKamailioPresetFigures(t *testing.T) {
	if os.Getenv("TRUNKD_FIGURES") == "" {
		t.Skip("set TRUNKD_FIGURES=1 (make bench-actions): 1,000 registrations load the machine for about 30 s")
	}
	const n, edits, deletes = 1000, 20, 5
	kamailio, kamcmd, sipp := need(t, "kamailio"), need(t, "kamcmd"), need(t, "sipp")
	l := newLab(t, kamcmd)
	var users strings.Builder
	users.WriteString("SEQUENTIAL\n")
	for i := range n {
		fmt.Fprintf(&users, "u%04d;pw%04d\n", i, i)
		if i < edits {
			fmt.Fprintf(&users, "n%04d;new%04d\n", i, i)
		}
		writeFile(t, filepath.Join(l.providers, fmt.Sprintf("t%04d.yaml", i)), fmt.Sprintf(
			"code: t%04d\nusername: u%04d\npwd: pw%04d\ndomain: sipp.test\nproxyaddr: 127.0.0.1\nproxyport: %d\nexpires: 3600\n", i, i, i, l.sippPort))
	}
	writeFile(t, filepath.Join(l.dir, "registrar.xml"), readFile(t, filepath.Join("testdata", "kamailio", "registrar.xml")))
	writeFile(t, filepath.Join(l.dir, "users.csv"), users.String())
	l.startSIPpWith(t, sipp)
	reg, err := registry.Open(registry.Options{Dir: l.providers, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	// No dispatcher destinations: pinging 1,000 of them every second
	// exhausts Kamailio's shared memory in this lab config.
	writeFile(t, l.dslist, "")
	targets := l.targets(false)[:2]
	boot, _, _ := testRenderer(t, Config{Targets: targets}, -1)
	if err := boot.RenderOnce(t.Context(), reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	l.startKamailio(t, kamailio)
	// Quiet before counting: the start's burst of 1,000 REGISTERs times
	// some out (408) and uac retries them every reg_retry_interval (2 s);
	// wait until every user registered and neither log has grown for
	// longer than a retry plus fr_timer (3 s).
	quiet, last, since := 6*time.Second, "", time.Now()
	waitFor(t, 180*time.Second, "1,000 registrations, then quiet", func() bool {
		now := fmt.Sprint(l.sippCount("valid=true"), "/", strings.Count(readFileOr(filepath.Join(l.dir, "log", "kamailio.log")), "while registering"))
		if now != last {
			last, since = now, time.Now()
		}
		return distinctUsers(readFileOr(filepath.Join(l.dir, "log", "sipp_actions.log"))) >= n && time.Since(since) > quiet
	})
	targets[1].Engine = "kamailio"
	targets[1].Vars = map[string]string{"kamcmd": l.kamcmd, "kamcmd_socket": "unix:" + l.sock}
	targets[1].ReloadCmd = "echo reload >> " + filepath.Join(l.dir, "reloads")
	r, _, _ := testRenderer(t, Config{Targets: targets}, -1)
	if err := r.RenderOnce(t.Context(), reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	before := l.sippCount("REGISTER ")

	var changed []time.Duration
	first := time.Now()
	for i := range edits {
		writeFile(t, filepath.Join(l.providers, fmt.Sprintf("t%04d.yaml", i)), fmt.Sprintf(
			"code: t%04d\nusername: n%04d\npwd: new%04d\ndomain: sipp.test\nproxyaddr: 127.0.0.1\nproxyport: %d\nexpires: 3600\n", i, i, i, l.sippPort))
		start := apply(t.Context(), t, r, reg)
		waitFor(t, 10*time.Second, fmt.Sprintf("n%04d's REGISTER", i), func() bool { return l.sippCount(fmt.Sprintf("user=n%04d valid=true", i)) > 0 })
		changed = append(changed, time.Since(start))
	}
	editsTook := time.Since(first)
	// Each edit's trunk sends two REGISTERs (challenge, credentials).
	if extra := l.sippCount("REGISTER ") - before - edits; extra != 0 || l.reloads() != 0 {
		t.Errorf("%d REGISTERs beyond the edited trunks' own, %d whole-file reloads", extra, l.reloads())
	}
	var deleted []time.Duration
	for i := range deletes {
		code := fmt.Sprintf("t%04d", n-1-i)
		seen := l.sippCount(fmt.Sprintf("user=u%04d ", n-1-i))
		if err := os.Remove(filepath.Join(l.providers, code+".yaml")); err != nil {
			t.Fatal(err)
		}
		start := apply(t.Context(), t, r, reg)
		waitFor(t, 10*time.Second, code+"'s un-REGISTER", func() bool { return l.sippCount(fmt.Sprintf("user=u%04d ", n-1-i)) > seen })
		deleted = append(deleted, time.Since(start))
	}
	if st := targetStatus(t, r, "uacreg"); len(st.TrunkActionErrors) != 0 {
		t.Errorf("trunk action errors %+v", st.TrunkActionErrors)
	}
	t.Logf("Kamailio %d trunks, engine: kamailio, reg_timer_interval 1 s (loaded machine):", n)
	t.Logf("  password change → REGISTER with new credentials: p50 %v p90 %v max %v over %d edits (%v for all, one after the other)",
		pct(changed, 50), pct(changed, 90), pct(changed, 100), edits, editsTook.Round(time.Millisecond))
	t.Logf("  REGISTERs from the other %d trunks during the edits: %d", n-1, l.sippCount("REGISTER ")-before-edits-len(deleted))
	t.Logf("  delete → un-REGISTER: p50 %v p90 %v max %v over %d deletions", pct(deleted, 50), pct(deleted, 90), pct(deleted, 100), deletes)
}

// pct is the p-th percentile of ds (nearest rank).
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := max((p*len(s)+99)/100-1, 0)
	return s[i].Round(time.Millisecond)
}

// distinctUsers counts the users that registered successfully in a SIPp
// action log.
func distinctUsers(log string) int {
	seen := map[string]bool{}
	for _, line := range strings.Split(log, "\n") {
		if _, rest, ok := strings.Cut(line, "user="); ok && strings.Contains(rest, "valid=true") {
			seen[strings.Fields(rest)[0]] = true
		}
	}
	return len(seen)
}
