package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// TestKamailioPresetPerTrunk runs the kamailio preset against a real
// Kamailio registering three trunks at the SIPp registrar: one trunk's
// credentials change → that trunk alone REGISTERs with the new ones (no
// uac.reg_reload); a removed trunk un-REGISTERs before its row leaves the
// table; the other trunks send nothing.
func TestKamailioPresetPerTrunk(t *testing.T) {
	kamailio, kamcmd, sipp := need(t, "kamailio"), need(t, "kamcmd"), need(t, "sipp")
	l := newLab(t, kamcmd)
	users := "SEQUENTIAL\nalice;pw-old\ncarol;pw-new\nbob;pw-bob\ndave;pw-dave\n"
	writeFile(t, filepath.Join(l.dir, "registrar.xml"), readFile(t, filepath.Join("testdata", "kamailio", "registrar.xml")))
	writeFile(t, filepath.Join(l.dir, "users.csv"), users)
	l.startSIPpWith(t, sipp)
	provider := func(code, user, pwd string) {
		writeFile(t, filepath.Join(l.providers, code+".yaml"), fmt.Sprintf(
			"code: %s\nusername: %s\npwd: %s\ndomain: sipp.test\nproxyaddr: 127.0.0.1\nproxyport: %d\nexpires: 600\n", code, user, pwd, l.sippPort))
	}
	provider("acme", "alice", "pw-old")
	provider("bravo", "bob", "pw-bob")
	provider("delta", "dave", "pw-dave")
	reg, err := registry.Open(registry.Options{Dir: l.providers, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	targets := l.targets(false)
	boot, _, _ := testRenderer(t, Config{Targets: targets}, -1)
	if err := boot.RenderOnce(ctx, reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	l.startKamailio(t, kamailio)
	for _, u := range []string{"alice", "bob", "dave"} {
		l.waitSIPpSaw(t, "user="+u+" valid=true")
	}
	targets[1].Engine, targets[1].TrunkActionsMaxShare = "kamailio", 0.5
	targets[1].Vars = map[string]string{"kamcmd": l.kamcmd, "kamcmd_socket": "unix:" + l.sock}
	targets[1].ReloadCmd = "echo reload >> " + filepath.Join(l.dir, "reloads")
	r, _, _ := testRenderer(t, Config{Targets: targets}, -1)
	if err := r.RenderOnce(ctx, reg.Snapshot()); err != nil { // the live files are the render: nothing runs
		t.Fatal(err)
	}
	others := func() string { return fmt.Sprint(l.sippCount("user=bob "), l.sippCount("user=dave ")) }
	before := others()

	provider("acme", "carol", "pw-new")
	start := apply(ctx, t, r, reg)
	l.waitSIPpSaw(t, "user=carol valid=true")
	t.Logf("acme's REGISTER with the new credentials reached the registrar %v after the render began (loaded machine)", time.Since(start).Round(time.Millisecond))
	if l.reloads() != 0 {
		t.Errorf("%d whole-file reloads, want none", l.reloads())
	}
	if got := others(); got != before {
		t.Errorf("REGISTERs from bob, dave: %s before the change, %s after", before, got)
	}

	bobBefore := l.sippCount("user=bob ")
	daveBefore := l.sippCount("user=dave ")
	if err := os.Remove(filepath.Join(l.providers, "delta.yaml")); err != nil {
		t.Fatal(err)
	}
	start = apply(ctx, t, r, reg)
	waitFor(t, 10*time.Second, "dave's un-REGISTER at the registrar", func() bool { return l.sippCount("user=dave ") > daveBefore })
	t.Logf("delta's un-REGISTER reached the registrar %v after the render began (loaded machine)", time.Since(start).Round(time.Millisecond))
	if strings.Contains(readFile(t, filepath.Join(l.db, "uacreg")), ":delta:") {
		t.Error("delta is still in the uacreg table")
	}
	if st := targetStatus(t, r, "uacreg"); len(st.TrunkActionErrors) != 0 || l.reloads() != 0 || l.sippCount("user=bob ") != bobBefore {
		t.Errorf("trunk action errors %+v, %d reloads, bob REGISTERed %d times", st.TrunkActionErrors, l.reloads(), l.sippCount("user=bob ")-bobBefore)
	}
	// The un-registered record stays in Kamailio's memory; disabled, it
	// does not REGISTER again at its refresh.
	out, _ := l.kamErr("uac.reg_info", "l_uuid", "delta")
	if !strings.Contains(out, "flags: ") || !disabledFlag(out) {
		t.Errorf("delta's record is not disabled after the removal (flags line missing or bit 1 unset)")
	}

	// Added again with the same code: refreshed from the file, enabled.
	daveBefore = l.sippCount("user=dave valid=true")
	provider("delta", "dave", "pw-dave")
	apply(ctx, t, r, reg)
	waitFor(t, 10*time.Second, "dave to REGISTER again", func() bool { return l.sippCount("user=dave valid=true") > daveBefore })
}

// apply rescans the providers and renders once; it returns when it began.
func apply(ctx context.Context, t *testing.T, r *Renderer, reg *registry.Registry) time.Time {
	t.Helper()
	if err := reg.Reload(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := r.RenderOnce(ctx, reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	return start
}

// disabledFlag reports whether uac.reg_info output has the disabled bit
// (1) in its flags (the output holds the password: never logged).
func disabledFlag(info string) bool {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "flags: "); ok {
			n, err := strconv.Atoi(v)
			return err == nil && n&1 == 1
		}
	}
	return false
}
