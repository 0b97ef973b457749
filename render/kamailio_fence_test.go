package render

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trunkd/trunkd/registry"
)

// TestKamailioFence runs the kamailio preset's fence against a real
// Kamailio that refreshes a registration every few seconds at the SIPp
// registrar: after Fence returns, no REGISTER reaches the registrar for
// several refresh intervals (counted at times the test read), Kamailio
// keeps the record; an ownership given after the fence unfences, and the
// REGISTERs resume.
func TestKamailioFence(t *testing.T) {
	kamailio, kamcmd, sipp := need(t, "kamailio"), need(t, "kamcmd"), need(t, "sipp")
	l := newLab(t, kamcmd)
	l.startSIPp(t, sipp)
	writeRefusedAcme(t, l)
	reg, targets := bootKamailio(t, l, kamailio)

	targets[1].Engine = "kamailio"
	targets[1].Vars = map[string]string{"kamcmd": l.kamcmd, "kamcmd_socket": "unix:" + l.sock}
	logs := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("renderer log:\n%s", logs.String())
			t.Logf("registrar log tail:\n%s", tail(readFileOr(filepath.Join(l.dir, "log", "sipp_actions.log")), 2000))
		}
	})
	r, owns := runOwned(t, reg, targets, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})

	owns <- owning(1, "acme")
	waitFor(t, 10*time.Second, "the first ownership to be applied and unfenced", func() bool {
		st := targetStatus(t, r, "uacreg")
		return appliedOwnership(r) == 1 && st.Fence != nil && !st.Fence.Fenced
	})
	t.Logf("unfence answer of Kamailio 5.6 (uac.reg_active 1): %q", targetStatus(t, r, "uacreg").Fence.Output)
	interval := refreshInterval(t, l)

	// An RPC error: kamcmd exits 0 and prints "error: ..."; the preset's
	// failure pattern catches it.
	out, err := exec.Command(l.kamcmd, "-s", "unix:"+l.sock, "uac.reg_active").CombinedOutput()
	t.Logf("uac.reg_active without its argument: exit %v, %q", err, out)
	if re := regexp.MustCompile(presets["kamailio"].failRegex); err != nil || !re.Match(out) {
		t.Errorf("want exit 0 and output matching %s", re)
	}

	before := l.sippCount("user=alice ")
	if err := r.Fence(t.Context()); err != nil {
		t.Fatal(err)
	}
	fenced := l.sippCount("user=alice ")
	st := targetStatus(t, r, "uacreg")
	t.Logf("fence answer (uac.reg_active 0): %q; refresh interval before it %v", st.Fence.Output, interval.Round(time.Millisecond))
	if !st.Fence.Fenced || st.Fence.Error != "" || !strings.Contains(st.Fence.Output, "nmode: 0") {
		t.Fatalf("fence status %+v", st.Fence)
	}
	// One REGISTER may have been on its way when Fence returned (its
	// digest answer): let it land (one interval), then count, and expect
	// none over several refresh intervals.
	time.Sleep(max(interval, time.Second))
	settled := l.sippCount("user=alice ")
	window := max(3*interval, 4*time.Second)
	time.Sleep(window)
	after := l.sippCount("user=alice ")
	if after != settled || settled > fenced+1 {
		t.Fatalf("REGISTERs after the fence: %d when Fence returned, %d an interval later, %d after %v more", fenced, settled, after, window)
	}
	t.Logf("REGISTERs at the registrar: %d when Fence was called, %d when it returned, %d an interval later, %d after %v more (loaded machine)",
		before, fenced, settled, after, window)
	if info := l.regInfo(); info["l_uuid"] != "acme" {
		t.Fatalf("the record left Kamailio with the fence: %v", info)
	}

	resumed := l.sippCount("user=alice ")
	owns <- owning(2, "acme")
	waitFor(t, 15*time.Second, "REGISTERs to resume after the unfence", func() bool { return l.sippCount("user=alice ") > resumed+1 })
	if st := targetStatus(t, r, "uacreg"); st.Fence.Fenced || st.Fence.Action != ActionUnfence {
		t.Fatalf("fence status after the unfence %+v", st.Fence)
	}
}

// TestKamailioFenceFailure: a fence that cannot reach Kamailio (a wrong
// socket) fails and says so; Fence reports it per target.
func TestKamailioFenceFailure(t *testing.T) {
	kamcmd := need(t, "kamcmd")
	dir := t.TempDir()
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{{Name: "uacreg", Template: "kamailio/uacreg",
		Output: filepath.Join(dir, "uacreg"), Engine: "kamailio",
		Vars: map[string]string{"kamcmd": kamcmd, "kamcmd_socket": "unix:" + filepath.Join(dir, "no-such-socket")}}}}, -1)
	err := r.Fence(t.Context())
	if err == nil || !strings.Contains(err.Error(), "uacreg: fence_cmd") {
		t.Fatalf("Fence without Kamailio: %v", err)
	}
	if st := targetStatus(t, r, "uacreg"); !st.Fence.Fenced || st.Fence.Error == "" {
		t.Fatalf("fence status %+v", st.Fence)
	}
	if n := testutil.ToFloat64(r.m.fenceFailures.WithLabelValues("uacreg", ActionFence)); n < 1 { // and its retries
		t.Fatalf("trunkd_render_fence_failures_total{action=fence} = %v", n)
	}
}

// refreshInterval waits for two refresh REGISTERs of alice and returns
// the time between them as the test saw it.
func refreshInterval(t *testing.T, l *lab) time.Duration {
	t.Helper()
	n := l.sippCount("user=alice ")
	waitFor(t, 20*time.Second, "a refresh REGISTER", func() bool { return l.sippCount("user=alice ") > n })
	first, n := time.Now(), l.sippCount("user=alice ")
	waitFor(t, 20*time.Second, "the next refresh REGISTER", func() bool { return l.sippCount("user=alice ") > n })
	return time.Since(first)
}

// TestKamailioOwnershipHandover: with the kamailio preset, a trunk this
// node loses un-REGISTERs at the registrar (Expires: 0) and leaves the
// table; regained, it REGISTERs again; the other trunk sends nothing.
func TestKamailioOwnershipHandover(t *testing.T) {
	kamailio, kamcmd, sipp := need(t, "kamailio"), need(t, "kamcmd"), need(t, "sipp")
	l := newLab(t, kamcmd)
	writeFile(t, filepath.Join(l.dir, "registrar.xml"), readFile(t, filepath.Join("testdata", "kamailio", "registrar.xml")))
	writeFile(t, filepath.Join(l.dir, "users.csv"), "SEQUENTIAL\nalice;pw-alice\nbob;pw-bob\n")
	l.startSIPpWith(t, sipp)
	for code, user := range map[string]string{"acme": "alice", "bravo": "bob"} {
		writeFile(t, filepath.Join(l.providers, code+".yaml"), fmt.Sprintf(
			"code: %s\nusername: %s\npwd: pw-%s\ndomain: sipp.test\nproxyaddr: 127.0.0.1\nproxyport: %d\nexpires: 600\n", code, user, user, l.sippPort))
	}
	reg, targets := bootKamailio(t, l, kamailio)
	l.waitSIPpSaw(t, "user=alice valid=true expires=600")
	l.waitSIPpSaw(t, "user=bob valid=true expires=600")

	targets[1].Engine, targets[1].TrunkActionsMaxShare = "kamailio", 1
	targets[1].Vars = map[string]string{"kamcmd": l.kamcmd, "kamcmd_socket": "unix:" + l.sock}
	r, owns := runOwned(t, reg, targets, Options{Logger: discardLogger(), RetryMin: time.Hour})
	give := func(own *staticOwnership) time.Time {
		t.Helper()
		start := time.Now()
		owns <- own
		waitFor(t, 10*time.Second, "the ownership to be applied", func() bool { return appliedOwnership(r) == own.gen })
		return start
	}
	give(owning(1, "acme", "bravo"))
	bob := l.sippCount("user=bob ")

	start := give(owning(2, "bravo"))
	applied := time.Since(start)
	l.waitSIPpSaw(t, "user=alice valid=true expires=0")
	t.Logf("acme lost: applied %v after the ownership was given, its un-REGISTER at the registrar %v after (loaded machine)",
		applied.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if strings.Contains(readFile(t, filepath.Join(l.db, "uacreg")), ":acme:") {
		t.Error("acme is still in the uacreg table")
	}
	if out, _ := l.kamErr("uac.reg_info", "l_uuid", "acme"); !disabledFlag(out) {
		t.Error("acme's record is not disabled: it would REGISTER again at its refresh")
	}

	registered := l.sippCount("user=alice valid=true expires=600")
	give(owning(3, "acme", "bravo"))
	waitFor(t, 15*time.Second, "acme to REGISTER again", func() bool { return l.sippCount("user=alice valid=true expires=600") > registered })
	if got := l.sippCount("user=bob "); got != bob {
		t.Errorf("bob REGISTERed %d times while only acme moved", got-bob)
	}
	if st := targetStatus(t, r, "uacreg"); len(st.TrunkActionErrors) != 0 || st.OwnershipGeneration != 3 {
		t.Errorf("trunk action errors %+v, ownership generation %d", st.TrunkActionErrors, st.OwnershipGeneration)
	}
}

// TestKamailioStartsFenced: a cluster node's Kamailio with
// modparam("uac", "reg_active", 0) starts fenced, so that an engine that
// (re)starts with an old table never registers trunks another node took
// over: it sends no REGISTER until trunkd, given its first ownership,
// has rendered it and runs the unfence.
func TestKamailioStartsFenced(t *testing.T) {
	kamailio, kamcmd, sipp := need(t, "kamailio"), need(t, "kamcmd"), need(t, "sipp")
	l := newLab(t, kamcmd)
	l.cfgModules = "modparam(\"uac\", \"reg_active\", 0)\n"
	l.startSIPp(t, sipp)
	// Refused credentials: an active Kamailio would REGISTER every retry.
	writeRefusedAcme(t, l)
	reg, targets := bootKamailio(t, l, kamailio)
	// reg_timer_interval is 1 s and reg_retry_interval 2 s: an active
	// record would have sent several REGISTERs in this window.
	time.Sleep(4 * time.Second)
	if n := l.sippCount("user=alice "); n != 0 {
		t.Fatalf("%d REGISTERs from a Kamailio that started fenced", n)
	}

	targets[1].Engine = "kamailio"
	targets[1].Vars = map[string]string{"kamcmd": l.kamcmd, "kamcmd_socket": "unix:" + l.sock}
	r, owns := runOwned(t, reg, targets, Options{Logger: discardLogger(), RetryMin: time.Hour})
	owns <- owning(1, "acme")
	waitFor(t, 15*time.Second, "REGISTERs after the first ownership's unfence", func() bool { return l.sippCount("user=alice ") > 0 })
	if st := targetStatus(t, r, "uacreg"); st.Fence == nil || st.Fence.Fenced || !strings.Contains(st.Fence.Output, "omode: 0") {
		t.Fatalf("fence status %+v, want an unfence that found reg_active 0", st.Fence)
	}
}

// writeRefusedAcme writes trunk acme, whose password the SIPp registrar
// refuses: Kamailio then sends a REGISTER every reg_retry_interval (2 s),
// a steady stream for a fence to stop (a granted registration refreshes
// only every minute: expires is at least 60).
func writeRefusedAcme(t *testing.T, l *lab) {
	t.Helper()
	writeFile(t, filepath.Join(l.providers, "acme.yaml"), fmt.Sprintf(
		"code: acme\nusername: alice\npwd: refused\ndomain: sipp.test\nproxyaddr: 127.0.0.1\nproxyport: %d\nexpires: 60\n", l.sippPort))
}

// runOwned runs a renderer of targets (with opts' logger and retry
// interval) on reg's snapshot until the test ends; the returned channel
// gives it ownerships.
func runOwned(t *testing.T, reg *registry.Registry, targets []TargetConfig, opts Options) (*Renderer, chan<- Ownership) {
	t.Helper()
	owns := make(chan Ownership, 1)
	opts.ServerIndex, opts.Ownership, opts.Registerer = -1, owns, prometheus.NewRegistry()
	r, err := New(Config{Targets: targets}, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done, snaps := make(chan error, 1), make(chan *registry.Snapshot, 1)
	snaps <- reg.Snapshot()
	go func() { done <- r.Run(ctx, snaps) }()
	t.Cleanup(func() { cancel(); <-done })
	return r, owns
}

// bootKamailio opens the lab's providers, renders the engine files once
// (the tables Kamailio reads at start) and starts Kamailio on them; it
// returns the registry and the lab's targets for the renderer under test.
func bootKamailio(t *testing.T, l *lab, kamailio string) (*registry.Registry, []TargetConfig) {
	t.Helper()
	reg, err := registry.Open(registry.Options{Dir: l.providers, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	targets := l.targets(false)
	boot, _, _ := testRenderer(t, Config{Targets: targets}, -1)
	if err := boot.RenderOnce(t.Context(), reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	l.startKamailio(t, kamailio)
	return reg, targets
}
