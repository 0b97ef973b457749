package render

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestStopDuringReloadIsFinishedAtStart: a daemon stopped while reload_cmd
// runs leaves its journal next to the output (as a kill -9 at that point
// does: the journal is on disk before the rename). The next start undoes
// the apply when the engine rejects the file (the previous good file is
// put back and reloaded) and finishes it when the engine takes it.
func TestStopDuringReloadIsFinishedAtStart(t *testing.T) {
	for _, engineRejects := range []bool{true, false} {
		name := map[bool]string{true: "rejected", false: "accepted"}[engineRejects]
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, "alpha")
			hang, started, rejecting := filepath.Join(f.out, "hang"), filepath.Join(f.out, "started"), filepath.Join(f.out, "rejecting")
			tc := f.uacreg(func(tc *TargetConfig) {
				tc.ReloadCmd = `echo reload >> ` + filepath.Join(f.out, "reloads") +
					`; if [ -e ` + hang + ` ]; then touch ` + started + `; sleep 30; fi` +
					`; if [ -e ` + rejecting + ` ] && grep -q ':120:' "$TRUNKD_OUTPUT"; then echo rejected; exit 1; fi`
			})
			r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
			if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
				t.Fatal(err)
			}
			good := readFile(t, tc.Output)
			writeFile(t, hang, "")
			if engineRejects {
				writeFile(t, rejecting, "")
			}
			f.set(t, "alpha", trunkYAML("alpha", "alpha-pw", 120))
			ctx, stop := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- r.RenderOnce(ctx, f.reg.Snapshot()) }()
			waitFor(t, 10*time.Second, "the reload to start", func() bool { _, err := os.Stat(started); return err == nil })
			stop()
			<-done
			journal := newJournal(tc.Output)
			if !journal.pending() || !strings.Contains(readFile(t, tc.Output), ":120:") || readFile(t, journal.prev) != good {
				t.Fatal("no journal (with the previous file) after a stop during the reload")
			}

			os.Remove(hang)
			reloads := f.reloads()
			restarted, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
			err := restarted.RenderOnce(t.Context(), f.reg.Snapshot())
			if engineRejects {
				if err == nil || !strings.Contains(err.Error(), "previous file restored and reloaded") || readFile(t, tc.Output) != good {
					t.Fatalf("start after a stop: %v; file rolled back: %v", err, readFile(t, tc.Output) == good)
				}
			} else if err != nil || !strings.Contains(readFile(t, tc.Output), ":120:") || f.reloads() != reloads+1 {
				t.Fatalf("start after a stop: %v, %d reloads (want %d)", err, f.reloads(), reloads+1)
			}
			if journal.pending() {
				t.Error("journal left after the start finished the apply")
			}
			if _, err := os.Stat(journal.prev); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("previous file left: %v", err)
			}
		})
	}
}

// TestFailedRollbackIsRepaired: when the previous file cannot be put back
// (here the output directory is made immutable while the reload fails,
// which fails the write as a full disk does), the journal keeps the
// previous good bytes, and the next attempt after the fault is gone puts
// them back and reloads, instead of only reloading the rejected file.
func TestFailedRollbackIsRepaired(t *testing.T) {
	chattr, err := exec.LookPath("chattr")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and chattr to make a directory immutable")
	}
	f := newFixture(t, "alpha")
	dir := filepath.Join(f.out, "db")
	lock := filepath.Join(f.out, "lock-dir")
	tc := f.uacreg(func(tc *TargetConfig) {
		tc.ReloadCmd = `echo reload >> ` + filepath.Join(f.out, "reloads") +
			`; if grep -q ':120:' "$TRUNKD_OUTPUT"; then if [ -e ` + lock + ` ]; then rm ` + lock + `; ` + chattr + ` +i ` + dir + `; fi; echo rejected; exit 1; fi`
	})
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(chattr, "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("chattr +i not supported here: %v %s", err, out)
	}
	exec.Command(chattr, "-i", dir).Run()
	t.Cleanup(func() { exec.Command(chattr, "-i", dir).Run() })
	good := readFile(t, tc.Output)
	writeFile(t, lock, "")
	f.set(t, "alpha", trunkYAML("alpha", "alpha-pw", 120))
	err = r.RenderOnce(t.Context(), f.reg.Snapshot())
	if err == nil || !strings.Contains(err.Error(), "rollback failed") || readFile(t, tc.Output) == good {
		t.Fatalf("RenderOnce = %v (the rollback should fail)", err)
	}
	if out, err := exec.Command(chattr, "-i", dir).CombinedOutput(); err != nil {
		t.Fatalf("chattr -i: %v %s", err, out)
	}
	err = r.RenderOnce(t.Context(), f.reg.Snapshot())
	if err == nil || !strings.Contains(err.Error(), "previous file restored and reloaded") {
		t.Fatalf("retry after the fault: %v", err)
	}
	if readFile(t, tc.Output) != good || newJournal(tc.Output).pending() {
		t.Fatal("previous file not put back by the retry")
	}
}

// TestRetryConvergesWithFlakyEngine: an engine that fails every other
// reload still gets every change: the attempt after a failed reload tries
// the reload twice before rolling back.
func TestRetryConvergesWithFlakyEngine(t *testing.T) {
	f := newFixture(t, "alpha")
	count := filepath.Join(f.out, "count")
	tc := f.uacreg(func(tc *TargetConfig) {
		tc.ReloadCmd = `n=$(cat ` + count + ` 2>/dev/null || echo 0); n=$((n+1)); echo $n > ` + count + `; [ $((n % 2)) -eq 0 ] || { echo "odd reload fails"; exit 1; }`
	})
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	for i, expires := range []int{300, 120, 130, 140} {
		if i > 0 {
			f.set(t, "alpha", trunkYAML("alpha", "alpha-pw", expires))
		}
		attempts := 0
		for ; attempts < 3 && targetStatus(t, r, "uacreg").State != StateOK || attempts == 0; attempts++ {
			_ = r.RenderOnce(t.Context(), f.reg.Snapshot())
		}
		if st := targetStatus(t, r, "uacreg"); st.State != StateOK || attempts > 2 {
			t.Fatalf("expires %d: state %s after %d attempts", expires, st.State, attempts)
		}
		if rows := parseDBText(t, readFile(t, tc.Output)); rows[0][11] != strconv.Itoa(expires) {
			t.Fatalf("expires %s live, want %d", rows[0][11], expires)
		}
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestBackoffCountsTime: 30 failing renders within 15 s (a burst of
// edits) do not push the next retry out to RetryMax: the wait grows with
// the time the failure has lasted, not with the number of attempts.
func TestBackoffCountsTime(t *testing.T) {
	f := newFixture(t, "alpha")
	tc := f.uacreg(func(tc *TargetConfig) { tc.CheckCmd = "exit 1" })
	clock := &fakeClock{now: time.Now()}
	r, err := New(Config{Targets: []TargetConfig{tc}}, Options{Logger: discardLogger(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	first := clock.Now()
	for i := range 30 {
		f.set(t, "alpha", trunkYAML("alpha", "alpha-pw", 100+i))
		_ = r.RenderOnce(t.Context(), f.reg.Snapshot())
		clock.advance(500 * time.Millisecond)
	}
	st := targetStatus(t, r, "uacreg")
	last := st.LastError.Time
	if st.NextRetry == nil {
		t.Fatal("no retry scheduled")
	}
	wait := st.NextRetry.Sub(last)
	if lasted := last.Sub(first); wait < 5*time.Second || wait > max(lasted, 5*time.Second) {
		t.Fatalf("next retry in %s after failing for %s; want between RetryMin (5s) and the time it lasted", wait, lasted)
	}
	clock.advance(10 * time.Minute)
	_ = r.RenderOnce(t.Context(), f.reg.Snapshot())
	st = targetStatus(t, r, "uacreg")
	if wait := st.NextRetry.Sub(st.LastError.Time); wait != 5*time.Minute {
		t.Fatalf("after 10 minutes of failures the wait is %s, want RetryMax 5m", wait)
	}
}

// TestKillDuringReloadIsUndoneAtStart is TestStopDuringReloadIsFinishedAtStart
// with a real kill -9: a child process (this test binary) renders a change
// whose reload hangs, is killed while the reload runs, and a renderer
// started afterwards rolls the change back when the engine rejects it.
func TestKillDuringReloadIsUndoneAtStart(t *testing.T) {
	if os.Getenv("TRUNKD_RENDER_CHILD") != "" {
		renderChild(t)
		return
	}
	f := newFixture(t, "alpha")
	started, rejecting := filepath.Join(f.out, "started"), filepath.Join(f.out, "rejecting")
	tc := f.uacreg(func(tc *TargetConfig) {
		tc.ReloadCmd = `echo reload >> ` + filepath.Join(f.out, "reloads") +
			`; if grep -q ':120:' "$TRUNKD_OUTPUT"; then [ -e ` + rejecting + ` ] && { echo rejected; exit 1; }; echo $$ > ` + started + `; sleep 30; fi`
	})
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	if err := r.RenderOnce(t.Context(), f.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	good := readFile(t, tc.Output)
	f.set(t, "alpha", trunkYAML("alpha", "alpha-pw", 120))

	child := exec.Command(os.Args[0], "-test.run=^TestKillDuringReloadIsUndoneAtStart$")
	child.Env = append(os.Environ(), "TRUNKD_RENDER_CHILD=1", "TRUNKD_CHILD_PROVIDERS="+f.dir,
		"TRUNKD_CHILD_OUTPUT="+tc.Output, "TRUNKD_CHILD_RELOAD="+tc.ReloadCmd)
	var childOut strings.Builder
	child.Stdout, child.Stderr = &childOut, &childOut
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the child's reload to start", func() bool {
		data, _ := os.ReadFile(started)
		return strings.HasSuffix(string(data), "\n")
	})
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	// The killed daemon's reload (its own process group) outlives it, as
	// it would in production; stop it here.
	if pgid, err := strconv.Atoi(strings.TrimSpace(readFile(t, started))); err == nil {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	if !newJournal(tc.Output).pending() || !strings.Contains(readFile(t, tc.Output), ":120:") {
		t.Fatalf("after kill -9: no journal or not the new file; child output:\n%s", childOut.String())
	}

	writeFile(t, rejecting, "")
	restarted, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	err := restarted.RenderOnce(t.Context(), f.reg.Snapshot())
	if err == nil || !strings.Contains(err.Error(), "previous file restored and reloaded") || readFile(t, tc.Output) != good {
		t.Fatalf("start after kill -9: %v; rolled back: %v", err, readFile(t, tc.Output) == good)
	}
	if newJournal(tc.Output).pending() {
		t.Error("journal left after the rollback")
	}
}

// renderChild is the daemon that TestKillDuringReloadIsUndoneAtStart kills.
func renderChild(t *testing.T) {
	reg := openRegistry(t, os.Getenv("TRUNKD_CHILD_PROVIDERS"))
	tc := TargetConfig{Name: "uacreg", Template: "kamailio/uacreg", Output: os.Getenv("TRUNKD_CHILD_OUTPUT"),
		ReloadCmd: os.Getenv("TRUNKD_CHILD_RELOAD"), Timeout: time.Minute}
	r, _, _ := testRenderer(t, Config{Targets: []TargetConfig{tc}}, -1)
	_ = r.RenderOnce(context.Background(), reg.Snapshot())
	t.Fatal("the child should have been killed during the reload")
}
