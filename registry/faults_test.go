package registry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// replaceWithFIFO swaps a provider file for a FIFO of the same name, as a
// careless `mkfifo` or a broken sync tool would.
func replaceWithFIFO(t *testing.T, path string) {
	t.Helper()
	must(t, os.Remove(path))
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}

// onlyProblem returns the single invalid file of the snapshot.
func onlyProblem(t *testing.T, r *Registry) FileProblems {
	t.Helper()
	inv := r.Snapshot().Invalid()
	if len(inv) != 1 || len(inv[0].Problems) != 1 {
		t.Fatalf("invalid files: %+v, want exactly one problem", inv)
	}
	return inv[0]
}

// within runs fn and fails the test when it has not returned in d (the
// symptom of an open that blocks on a FIFO).
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s still blocked after %v", what, d)
	}
}

// TestFIFOInPlaceOfProviderFile: a FIFO named a.yaml is never opened for a
// blocking read: the rescan keeps the last good version and says why, an
// update of that provider fails at once instead of hanging under the
// registry lock, and the registry stays healthy.
func TestFIFOInPlaceOfProviderFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yaml")
	writeFile(t, path, fmt.Sprintf(providerA, 600))
	r := openDir(t, dir)
	a, _ := r.Snapshot().ByCode("a")
	replaceWithFIFO(t, path)
	within(t, 10*time.Second, "a rescan of a FIFO", func() { _ = r.Reload() })
	inv := onlyProblem(t, r)
	if !inv.KeptLast || inv.File != "a.yaml" || !strings.Contains(inv.Problems[0].Msg, "not a regular file") {
		t.Errorf("invalid: %+v", inv)
	}
	if expiresOf(r, "a") != 600 {
		t.Error("last good version not kept")
	}
	var err error
	within(t, 10*time.Second, "an update of a provider whose file is a FIFO", func() {
		_, err = r.Update(a.ID, func(p *Provider) error { p.Expires = 120; return nil })
	})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("update: %v, want a conflict naming a non-regular file", err)
	}
	if err := r.Healthy(); err != nil {
		t.Errorf("Healthy: %v", err)
	}
	_, err = ReadFile(path)
	if !errors.Is(err, ErrNotRegular) {
		t.Errorf("ReadFile of a FIFO: %v", err)
	}
}

// TestFIFOSeenByWatcher: the same swap seen through the watcher.
func TestFIFOSeenByWatcher(t *testing.T) {
	r, dir := watched(t)
	replaceWithFIFO(t, filepath.Join(dir, "a.yaml"))
	waitFor(t, "the FIFO to be reported", 10*time.Second, func() bool { return len(r.Snapshot().Invalid()) == 1 })
	if expiresOf(r, "a") != 600 {
		t.Error("last good version not kept")
	}
}

// fakeClock is a settable Clock.
type fakeClock struct{ t atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock { c := &fakeClock{}; c.set(t); return c }
func (c *fakeClock) Now() time.Time       { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) set(t time.Time)      { c.t.Store(t.UnixNano()) }

// TestHealthyReportsStuck: a lock held beyond StuckAfter (as by an open
// that blocks on a hung file system) makes Healthy fail; released, it
// recovers.
func TestHealthyReportsStuck(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	r, err := Open(Options{Dir: t.TempDir(), Logger: quietLogger(), Clock: clk, StuckAfter: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	clk.set(clk.Now().Add(29 * time.Second))
	if err := r.Healthy(); err != nil {
		t.Errorf("held 29 s of 30: %v", err)
	}
	clk.set(clk.Now().Add(2 * time.Second))
	err = r.Healthy()
	r.mu.Unlock()
	if !errors.Is(err, ErrStuck) || !strings.Contains(err.Error(), "31s") {
		t.Errorf("held 31 s: %v, want ErrStuck after 31s", err)
	}
	if err := r.Healthy(); err != nil {
		t.Errorf("released: %v", err)
	}
}

// TestUnusableNameKeepsLastGood: a dangling symlink, a symlink loop and a
// file without read permission in place of a good file all keep the last
// good version and show the reason; removing the name removes the provider.
func TestUnusableNameKeepsLastGood(t *testing.T) {
	cases := []struct {
		name, want string
		make       func(t *testing.T, path string)
	}{
		{"dangling symlink", "symlink target does not exist", func(t *testing.T, path string) {
			must(t, os.Symlink(filepath.Join(filepath.Dir(path), "gone.yaml"), path))
		}},
		{"symlink loop", "too many levels of symbolic links", func(t *testing.T, path string) {
			must(t, os.Symlink(filepath.Base(path), path))
		}},
		{"mode 000", "permission denied", func(t *testing.T, path string) {
			if os.Geteuid() == 0 {
				t.Skip("root reads mode 000 files")
			}
			writeFile(t, path, fmt.Sprintf(providerA, 120))
			must(t, os.Chmod(path, 0))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "a.yaml")
			writeFile(t, path, fmt.Sprintf(providerA, 600))
			r := openDir(t, dir)
			must(t, os.Remove(path))
			c.make(t, path)
			_ = r.Reload()
			inv := onlyProblem(t, r)
			if !inv.KeptLast || !strings.Contains(inv.Problems[0].Msg, c.want) || expiresOf(r, "a") != 600 {
				t.Errorf("invalid %+v, expires %d: want the last good version kept and %q", inv, expiresOf(r, "a"), c.want)
			}
			if strings.Count(inv.Problems[0].Error(), dir) > 1 {
				t.Errorf("the path is repeated: %s", inv.Problems[0].Error())
			}
			must(t, os.Remove(path))
			_ = r.Reload()
			if r.Snapshot().Len() != 0 || len(r.Snapshot().Invalid()) != 0 {
				t.Error("a removed name must remove the provider and its problem")
			}
		})
	}
}

// TestStaleTempRemovedWhileRunning: a temporary file left by a kill -9 is
// removed by the running daemon's backstop rescan once it is older than a
// minute; a fresh one (a write in progress) is left alone.
func TestStaleTempRemovedWhileRunning(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, ".a.yaml"+tempMarker+"111")
	fresh := filepath.Join(dir, ".b.yaml"+tempMarker+"222")
	r, err := Open(Options{Dir: dir, Logger: quietLogger(), Resync: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	startWatch(t, r)
	writeFile(t, stale, "code: a\n")
	writeFile(t, fresh, "code: b\n")
	old := time.Now().Add(-2 * staleTempAge)
	must(t, os.Chtimes(stale, old, old))
	waitFor(t, "the stale temporary file to be removed", 10*time.Second, func() bool {
		_, err := os.Lstat(stale)
		return errors.Is(err, os.ErrNotExist)
	})
	if _, err := os.Lstat(fresh); err != nil {
		t.Errorf("a fresh temporary file was removed: %v", err)
	}
}

// TestFutureMtimeClamped: a file without ext whose mtime lies in the year
// 2400 (beyond int64 nanoseconds) gets ext times of now, not 1815.
func TestFutureMtimeClamped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yaml")
	writeFile(t, path, fmt.Sprintf(providerA, 600))
	// os.Chtimes goes through int64 nanoseconds and cannot set 2400 (as
	// `touch -d 2400-01-01` can): set the seconds directly.
	future := time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	must(t, syscall.UtimesNano(path, []syscall.Timespec{{Sec: future}, {Sec: future}}))
	if fp, err := statFingerprint(path); err != nil || fp.mtime().Year() != 2400 {
		t.Fatalf("mtime not set to 2400: %v %v", fp.mtime(), err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r, err := Open(Options{Dir: dir, Logger: quietLogger(), Clock: newFakeClock(now)})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := r.Snapshot().ByCode("a")
	if !a.Ext.CT.Equal(now) || !a.Ext.LWT.Equal(now) {
		t.Errorf("ext %v / %v, want both clamped to %v", a.Ext.CT, a.Ext.LWT, now)
	}
}

// TestTouchUpdatesExt: touching a file without ext (new mtime, same bytes)
// moves its derived ext at once, through the watcher, without a restart; a
// file with ext written in it keeps it.
func TestTouchUpdatesExt(t *testing.T) {
	r, dir := watched(t)
	path := filepath.Join(dir, "b.yaml")
	writeFile(t, path, "code: b\ndomain: sip.example.net\next:\n  ct: 2020-01-01T00:00:00.00Z\n  lwt: 2020-01-02T00:00:00.00Z\n")
	waitFor(t, "b", 10*time.Second, func() bool { _, ok := r.Snapshot().ByCode("b"); return ok })
	for i, when := range []time.Time{time.Now().Add(-time.Hour), time.Now().Add(-10 * time.Minute)} {
		when = when.Truncate(10 * time.Millisecond)
		must(t, os.Chtimes(filepath.Join(dir, "a.yaml"), when, when))
		must(t, os.Chtimes(path, when, when))
		waitFor(t, fmt.Sprintf("touch %d to reach ext", i), 10*time.Second, func() bool {
			a, _ := r.Snapshot().ByCode("a")
			return a.Ext.LWT.Equal(when) && a.Ext.CT.Equal(when)
		})
	}
	if b, _ := r.Snapshot().ByCode("b"); b.Ext.LWT.String() != "2020-01-02T00:00:00.00Z" {
		t.Errorf("written ext changed by a touch: %v", b.Ext.LWT)
	}
}
