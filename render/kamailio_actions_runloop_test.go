package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// TestKamailioPresetRunLoop drives the kamailio preset as the daemon
// does: provider files saved into a watched directory, registry.Watch,
// Renderer.Run (default MinInterval), kamcmd, a real Kamailio, and a
// second Kamailio as the provider's digest registrar. Ten password
// changes to different trunks are saved 950 ms apart without waiting for
// each other (ten within ten seconds), each right after the registrar's
// subscriber table took the new password (it refuses the old one from
// then on); then two trunks are deleted. Each change must reach the
// registrar as a REGISTER it accepts and each deletion as an un-REGISTER
// (Expires: 0), with no whole-file reload, no REGISTER from an untouched
// trunk and none refused; the registrar's usrloc holds every trunk but
// the deleted ones. The bounds are generous
// (5 s from the save, against a rate-limited reload's stall of minutes):
// the machine is shared; the figures test prints the times.
func TestKamailioPresetRunLoop(t *testing.T) {
	const n, edits, deletes = 12, 10, 2
	rl := startRunLoopLab(t, n)
	res := rl.run(t, edits, deletes)
	res.log(t)
	if want := n - deletes; res.bindings != want || len(res.wrongBindings) != 0 || res.refused != 0 {
		t.Errorf("registrar holds %d AoRs, want %d; %v; %d REGISTERs refused (403), want none", res.bindings, want, res.wrongBindings, res.refused)
	}
	for _, e := range append(slices.Clone(res.edits), res.deletes...) {
		if d := e.seen.Sub(e.write); d > 5*time.Second {
			t.Errorf("%s: %v from the save to the registrar, want well under 5 s", e.code, d)
		}
	}
	if res.others != 0 || res.reloads != 0 || len(res.actionErrors) != 0 {
		t.Errorf("%d REGISTERs from untouched trunks, %d whole-file reloads, trunk action errors %+v; want none",
			res.others, res.reloads, res.actionErrors)
	}
}

// runLoopLab is a real Kamailio registering n trunks (t0000…, users
// u0000…, passwords pw0000…) at a Kamailio registrar, whose providers
// directory a registry watches; an edit changes trunk i's password to
// new0000….
type runLoopLab struct {
	*lab
	n         int
	reg       *registry.Registry
	registrar *kamRegistrar
	calls     string // the kamcmd wrapper's log: "<unix ns> start|end <args>"
}

func startRunLoopLab(t *testing.T, n int) *runLoopLab {
	t.Helper()
	kamailio, kamcmd := need(t, "kamailio"), need(t, "kamcmd")
	rl := &runLoopLab{lab: newLab(t, kamcmd), n: n}
	users := make([]credential, 0, n)
	for i := range n {
		users = append(users, credential{fmt.Sprintf("u%04d", i), fmt.Sprintf("pw%04d", i)})
	}
	rl.registrar = startKamRegistrar(t, kamailio, kamcmd, users)
	for i := range n {
		writeFile(t, filepath.Join(rl.providers, fmt.Sprintf("t%04d.yaml", i)), rl.provider(i, "u", "pw"))
	}
	var err error
	if rl.reg, err = registry.Open(registry.Options{Dir: rl.providers, Logger: discardLogger()}); err != nil {
		t.Fatal(err)
	}
	// No dispatcher destinations: pinging 1,000 of them every second
	// exhausts Kamailio's shared memory in this lab config.
	writeFile(t, rl.dslist, "")
	boot, _, _ := testRenderer(t, Config{Targets: rl.targets(false)[:2]}, -1)
	if err := boot.RenderOnce(t.Context(), rl.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	rl.startKamailio(t, kamailio)
	// Quiet before counting: the start's burst of REGISTERs times some
	// out (408) and uac retries them every reg_retry_interval (2 s); wait
	// until every user registered and neither log has grown for longer
	// than a retry plus fr_timer (3 s).
	quiet, last, since := 6*time.Second, "", time.Now()
	waitFor(t, 180*time.Second, "every trunk registered, then quiet", func() bool {
		lines := rl.registrar.registers()
		now := fmt.Sprint(len(lines), "/", strings.Count(readFileOr(filepath.Join(rl.dir, "log", "kamailio.log")), "while registering"))
		if now != last {
			last, since = now, time.Now()
		}
		return registeredUsers(lines) >= n && time.Since(since) > quiet
	})
	rl.calls = filepath.Join(rl.dir, "kamcmd-calls")
	wrapper := filepath.Join(rl.dir, "kamcmd-timed")
	writeFile(t, wrapper, fmt.Sprintf("#!/bin/sh\necho \"$(date +%%s%%N) start $*\" >> %q\n%q \"$@\"\nrc=$?\necho \"$(date +%%s%%N) end $*\" >> %q\nexit $rc\n",
		rl.calls, kamcmd, rl.calls))
	if err := os.Chmod(wrapper, 0o755); err != nil {
		t.Fatal(err)
	}
	rl.kamcmd = wrapper
	return rl
}

func (rl *runLoopLab) provider(i int, user, pw string) string {
	return fmt.Sprintf("code: t%04d\nusername: %s%04d\npwd: %s%04d\ndomain: %s\nproxyaddr: 127.0.0.1\nproxyport: %d\nexpires: 3600\n",
		i, user, i, pw, i, registrarRealm, rl.registrar.port)
}

// timedEdit is one save and when each step of it happened.
type timedEdit struct {
	code                          string
	write, snap, start, end, seen time.Time // save, snapshot built, kamcmd started and returned, registrar saw it
	user, pwd                     string    // the trunk's user and its new password ("" for a deletion)
	// seenBy matches the registrar's line that proves the change: an
	// accepted REGISTER (the registrar knows only the new password by
	// then), or the un-REGISTER (Expires: 0).
	seenBy func(registerLine) bool
}

// runLoopResult is what run measured.
type runLoopResult struct {
	edits, deletes []timedEdit
	others         int      // REGISTER requests from the trunks not edited or deleted (with or without credentials)
	bindings       int      // AoRs in the registrar's usrloc at the end
	wrongBindings  []string // an edited trunk's user not bound, a deleted trunk's user still bound
	refused        int      // REGISTER requests the registrar refused (403: old password)
	touched        int      // REGISTER requests with credentials from the edited and deleted trunks (one each is the ideal)
	reloads        int
	actionErrors   []TrunkActionError
	took           time.Duration // first to last edit's save
}

// run starts the watcher and the renderer, saves edits changed
// credentials (t0000…) and then deletes trunks from the end, each 950 ms
// after the previous one (not after its REGISTER: the saves fall on any
// phase of Kamailio's 1 s registration timer), and times each.
func (rl *runLoopLab) run(t *testing.T, edits, deletes int) runLoopResult {
	t.Helper()
	targets := rl.targets(false)[:2]
	targets[1].Engine = "kamailio"
	targets[1].Vars = map[string]string{"kamcmd": rl.kamcmd, "kamcmd_socket": "unix:" + rl.sock}
	targets[1].ReloadCmd = "echo reload >> " + filepath.Join(rl.dir, "reloads")
	r, _, _ := testRenderer(t, Config{Targets: targets}, -1)
	// As a running daemon: the live files are its last output.
	if err := r.RenderOnce(t.Context(), rl.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	watchDone, runDone := make(chan error, 1), make(chan error, 1)
	go func() { watchDone <- rl.reg.Watch(ctx) }()
	go func() { runDone <- r.Run(ctx, subscribe(t, rl.reg)) }()
	defer func() { cancel(); <-watchDone; <-runDone }()
	mark := len(rl.registrar.registers())

	var res runLoopResult
	for i := range edits {
		user := fmt.Sprintf("u%04d", i)
		res.edits = append(res.edits, timedEdit{code: fmt.Sprintf("t%04d", i), user: user, pwd: fmt.Sprintf("new%04d", i),
			seenBy: accepted(user, "")})
	}
	for i := range deletes {
		res.deletes = append(res.deletes, timedEdit{code: fmt.Sprintf("t%04d", rl.n-1-i),
			seenBy: accepted(fmt.Sprintf("u%04d", rl.n-1-i), "0")})
	}
	rl.drive(t, res.edits, mark, func(i int) { rl.save(t, i) })
	res.took = res.edits[len(res.edits)-1].write.Sub(res.edits[0].write)
	rl.drive(t, res.deletes, mark, func(i int) { rl.remove(t, rl.n-1-i) })
	rl.readCalls(t, res.edits, "uac.reg_refresh")
	rl.readCalls(t, res.deletes, "uac.reg_unregister")
	res.others, res.touched = rl.countAfter(mark, res)
	res.refused = count(rl.registrar.registers()[mark:], func(r registerLine) bool { return r.reply == 403 })
	res.bindings = rl.registrar.bindings(t)
	for _, e := range append(slices.Clone(res.edits), res.deletes...) {
		user := e.user
		if user == "" {
			user = "u" + strings.TrimPrefix(e.code, "t")
		}
		if got := rl.registrar.bound(t, user); got != (e.user != "") {
			res.wrongBindings = append(res.wrongBindings, fmt.Sprintf("%s bound %v", user, got))
		}
	}
	res.reloads = rl.reloads()
	res.actionErrors = targetStatus(t, r, "uacreg").TrunkActionErrors
	return res
}

// drive runs do(i) for each of list 950 ms apart and waits until the
// registry built a snapshot with it and the registrar logged it (after
// its line mark).
func (rl *runLoopLab) drive(t *testing.T, list []timedEdit, mark int, do func(i int)) {
	t.Helper()
	next, done := 0, 0
	deadline := time.Now().Add(time.Duration(len(list))*950*time.Millisecond + 20*time.Second)
	for done < len(list) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d changes reached the registrar (the next: %s)", done, len(list), list[done].code)
		}
		if next < len(list) && (next == 0 || time.Since(list[next-1].write) >= 950*time.Millisecond) {
			do(next)
			list[next].write = time.Now()
			next++
		}
		done = 0
		lines := rl.registrar.registers()[mark:]
		for i := range list[:next] {
			e := &list[i]
			if e.snap.IsZero() {
				snap := rl.reg.Snapshot()
				if p, ok := snap.ByCode(e.code); (e.user == "" && !ok) || (ok && e.pwd != "" && p.Pwd == e.pwd) {
					e.snap = snap.Built()
				}
			}
			if e.seen.IsZero() && count(lines, e.seenBy) > 0 {
				e.seen = time.Now()
			}
			if !e.seen.IsZero() && !e.snap.IsZero() {
				done++
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// countAfter counts the REGISTER requests the registrar received after
// line mark: from trunks run did not touch (any), and from the touched
// trunks' registering users (with credentials).
func (rl *runLoopLab) countAfter(mark int, res runLoopResult) (others, touched int) {
	users := map[string]bool{}
	for _, e := range res.edits {
		users[e.user] = true
	}
	for _, e := range res.deletes {
		users["u"+strings.TrimPrefix(e.code, "t")] = true
	}
	lines := rl.registrar.registers()[mark:]
	others = count(lines, func(r registerLine) bool { return !users[r.user] })
	touched = count(lines, func(r registerLine) bool { return users[r.user] && r.auth })
	return others, touched
}

// save changes trunk i's password at the registrar, then replaces the
// trunk's file (a temporary file renamed into place, as the API and most
// editors save) with it.
func (rl *runLoopLab) save(t *testing.T, i int) {
	rl.registrar.setPassword(t, fmt.Sprintf("u%04d", i), fmt.Sprintf("new%04d", i))
	tmp := filepath.Join(rl.providers, fmt.Sprintf(".t%04d.yaml.tmp", i))
	writeFile(t, tmp, rl.provider(i, "u", "new"))
	if err := os.Rename(tmp, filepath.Join(rl.providers, fmt.Sprintf("t%04d.yaml", i))); err != nil {
		t.Fatal(err)
	}
}

func (rl *runLoopLab) remove(t *testing.T, i int) {
	if err := os.Remove(filepath.Join(rl.providers, fmt.Sprintf("t%04d.yaml", i))); err != nil {
		t.Fatal(err)
	}
}

// readCalls fills in when the kamcmd call rpc for each trunk started and
// returned (the first such call after its save). The registrar may see a
// REGISTER before the wrapper logs that kamcmd returned: it waits for the
// log.
func (rl *runLoopLab) readCalls(t *testing.T, list []timedEdit, rpc string) {
	t.Helper()
	waitFor(t, 10*time.Second, "kamcmd "+rpc+" call log", func() bool {
		for i := range list {
			list[i].start, list[i].end = time.Time{}, time.Time{}
		}
		for _, line := range strings.Split(readFileOr(rl.calls), "\n") {
			if f := strings.Fields(line); len(f) > 2 && slices.Contains(f, rpc) {
				ns, _ := strconv.ParseInt(f[0], 10, 64)
				noteCall(list, f[1], f[len(f)-1], time.Unix(0, ns))
			}
		}
		return !slices.ContainsFunc(list, func(e timedEdit) bool { return e.end.IsZero() })
	})
}

// noteCall records a kamcmd call's start or end for trunk code in list.
func noteCall(list []timedEdit, what, code string, at time.Time) {
	for i := range list {
		e := &list[i]
		if e.code != code || at.Before(e.write) {
			continue
		}
		if what == "start" && e.start.IsZero() {
			e.start = at
		} else if what == "end" && e.end.IsZero() && !e.start.IsZero() {
			e.end = at
		}
	}
}

// log prints each step's p50, p90 and max.
func (res runLoopResult) log(t *testing.T) {
	t.Helper()
	for _, set := range []struct {
		what string
		list []timedEdit
	}{{"password change → REGISTER with the new credentials", res.edits}, {"delete → un-REGISTER", res.deletes}} {
		t.Logf("%s, %d saves 950 ms apart (p50 / p90 / max):", set.what, len(set.list))
		for _, step := range []struct {
			name     string
			from, to func(timedEdit) time.Time
		}{
			{"save → snapshot (watcher)", func(e timedEdit) time.Time { return e.write }, func(e timedEdit) time.Time { return e.snap }},
			{"snapshot → kamcmd starts (render, file)", func(e timedEdit) time.Time { return e.snap }, func(e timedEdit) time.Time { return e.start }},
			{"kamcmd", func(e timedEdit) time.Time { return e.start }, func(e timedEdit) time.Time { return e.end }},
			{"kamcmd returned → registrar (engine)", func(e timedEdit) time.Time { return e.end }, func(e timedEdit) time.Time { return e.seen }},
			{"save → registrar", func(e timedEdit) time.Time { return e.write }, func(e timedEdit) time.Time { return e.seen }},
		} {
			ds := make([]time.Duration, 0, len(set.list))
			for _, e := range set.list {
				ds = append(ds, step.to(e).Sub(step.from(e)))
			}
			t.Logf("  %-42s %8v %8v %8v", step.name, pct(ds, 50), pct(ds, 90), pct(ds, 100))
		}
	}
	t.Logf("  %d edits saved within %v; REGISTER requests at the registrar from untouched trunks: %d; with credentials from the %d touched trunks: %d, refused: %d; whole-file reloads: %d",
		len(res.edits), res.took.Round(time.Millisecond), res.others, len(res.edits)+len(res.deletes), res.touched, res.refused, res.reloads)
}
