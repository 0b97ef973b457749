package registry

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const providerA = "# trunk a\ncode: a\ndomain: sip.example.net\nexpires: %d\n"

// watched opens a registry on a fresh directory holding a.yaml (expires
// 600) and runs its watcher for the test.
func watched(t *testing.T) (*Registry, string) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), fmt.Sprintf(providerA, 600))
	r := openDir(t, dir)
	startWatch(t, r)
	return r, dir
}

func expiresOf(r *Registry, code string) int {
	if p, ok := r.Snapshot().ByCode(code); ok {
		return p.Expires
	}
	return -1
}

func waitExpires(t *testing.T, r *Registry, code string, want int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s to have expires %d", code, want), 10*time.Second, func() bool { return expiresOf(r, code) == want })
}

func TestWatchInPlaceWrite(t *testing.T) {
	r, dir := watched(t)
	gen := r.Snapshot().Generation()
	f, err := os.OpenFile(filepath.Join(dir, "a.yaml"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, providerA, 120)
	f.Close()
	waitExpires(t, r, "a", 120)
	if d := r.Snapshot().Generation() - gen; d != 1 {
		t.Errorf("%d snapshots for one write, want 1", d)
	}
}

func TestWatchAtomicRenameSave(t *testing.T) {
	r, dir := watched(t)
	gen := r.Snapshot().Generation()
	tmp := filepath.Join(dir, ".a.yaml.tmp")
	writeFile(t, tmp, fmt.Sprintf(providerA, 180))
	if err := os.Rename(tmp, filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	waitExpires(t, r, "a", 180)
	s := r.Snapshot()
	if d := s.Generation() - gen; d != 1 || s.Len() != 1 || len(s.Invalid()) != 0 {
		t.Errorf("snapshots %d, providers %d, invalid %v", d, s.Len(), s.Invalid())
	}
}

// TestWatchVimSave: rename to a backup, write anew, drop the backup. The
// provider is never absent: the burst gives one snapshot that holds it.
func TestWatchVimSave(t *testing.T) {
	r, dir := watched(t)
	gen := r.Snapshot().Generation()
	path := filepath.Join(dir, "a.yaml")
	if err := os.Rename(path, path+"~"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, fmt.Sprintf(providerA, 240))
	if err := os.Remove(path + "~"); err != nil {
		t.Fatal(err)
	}
	waitExpires(t, r, "a", 240)
	if d := r.Snapshot().Generation() - gen; d != 1 {
		t.Errorf("%d snapshots, want exactly 1 (an intermediate one would lack the provider)", d)
	}
}

// TestWatchChmodOnly: chmod noise causes no new snapshot. (A chmod of a
// provider file costs a stat and a read of that file only, since the same
// event is how a touch reaches a file's derived ext.)
func TestWatchChmodOnly(t *testing.T) {
	r, dir := watched(t)
	gen := r.Snapshot().Generation()
	reloads := testutil.ToFloat64(r.m.reloads.WithLabelValues("success"))
	if err := os.Chmod(filepath.Join(dir, "a.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the chmod to be looked at", 10*time.Second, func() bool {
		return testutil.ToFloat64(r.m.reloads.WithLabelValues("success")) > reloads
	})
	if g := r.Snapshot().Generation(); g != gen {
		t.Errorf("a chmod published snapshot %d after %d", g, gen)
	}
}

// TestWatchGitCheckout switches a real git work tree between a branch with
// 300 providers and one with none: at most two snapshots, right end state.
func TestWatchGitCheckout(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("git is required in CI (apt-get install git)")
		}
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.net"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "empty")
	git("commit", "-q", "--allow-empty", "-m", "empty")
	git("checkout", "-q", "-b", "full")
	for i := 0; i < 300; i++ {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("t%03d.yaml", i)), fmt.Sprintf("code: t%03d\ndomain: sip.example.net\n", i))
	}
	git("add", ".")
	git("commit", "-q", "-m", "300 providers")
	git("checkout", "-q", "empty")
	r := openDir(t, dir)
	startWatch(t, r)
	gen := r.Snapshot().Generation()
	git("checkout", "-q", "full")
	waitFor(t, "300 providers", 10*time.Second, func() bool { return r.Snapshot().Len() == 300 })
	if d := r.Snapshot().Generation() - gen; d > 2 {
		t.Errorf("%d snapshots for one checkout, want at most 2", d)
	}
	gen = r.Snapshot().Generation()
	git("checkout", "-q", "empty")
	waitFor(t, "0 providers", 10*time.Second, func() bool { return r.Snapshot().Len() == 0 })
	if d := r.Snapshot().Generation() - gen; d > 2 {
		t.Errorf("%d snapshots for one checkout back, want at most 2", d)
	}
}

// TestWatchConfigMapSwap reproduces a Kubernetes ConfigMap volume: files are
// symlinks through "..data", and an update swaps that symlink only.
func TestWatchConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	mk := func(ts string, expires int) {
		if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, ts, "b.yaml"), fmt.Sprintf("code: b\ndomain: sip.example.net\nexpires: %d\n", expires))
	}
	mk("..2026_11_27_1", 600)
	must(t, os.Symlink("..2026_11_27_1", filepath.Join(dir, "..data")))
	must(t, os.Symlink("..data/b.yaml", filepath.Join(dir, "b.yaml")))
	r := openDir(t, dir)
	startWatch(t, r)
	if expiresOf(r, "b") != 600 {
		t.Fatal("symlinked provider not loaded")
	}
	mk("..2026_11_27_2", 300)
	must(t, os.Symlink("..2026_11_27_2", filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	must(t, os.RemoveAll(filepath.Join(dir, "..2026_11_27_1")))
	waitExpires(t, r, "b", 300)
}

// TestWatchDirectoryRecreated: rm -rf of the directory and mkdir again drops
// the kernel's watch; the watcher notices, re-adds it and sees later writes.
func TestWatchDirectoryRecreated(t *testing.T) {
	r, dir := watched(t)
	must(t, os.RemoveAll(dir))
	must(t, os.Mkdir(dir, 0o755))
	waitFor(t, "the emptied directory to be seen", 10*time.Second, func() bool { return r.Snapshot().Len() == 0 })
	waitFor(t, "the watch to be re-added", 10*time.Second, func() bool {
		writeFile(t, filepath.Join(dir, "c.yaml"), "code: c\ndomain: sip.example.net\n")
		_, ok := r.Snapshot().ByCode("c")
		return ok
	})
	writeFile(t, filepath.Join(dir, "d.yaml"), "code: d\ndomain: sip.example.net\n")
	waitFor(t, "a later write", 10*time.Second, func() bool { _, ok := r.Snapshot().ByCode("d"); return ok })
}

// TestWatchCorruptEdit: a broken edit keeps the last good version and shows
// the error in the snapshot and the metric; fixing the file clears it.
func TestWatchCorruptEdit(t *testing.T) {
	r, dir := watched(t)
	path := filepath.Join(dir, "a.yaml")
	writeFile(t, path, "code: a\ndomain: sip.example.net\nexpires: 600\ntransport: carrier-pigeon\n")
	waitFor(t, "the error to show", 10*time.Second, func() bool { return len(r.Snapshot().Invalid()) == 1 })
	inv := r.Snapshot().Invalid()[0]
	if !inv.KeptLast || inv.File != "a.yaml" || inv.Problems[0].Error() != path+`:4: transport: must be one of udp, tcp, tls, got "carrier-pigeon"` {
		t.Errorf("invalid: %+v", inv)
	}
	if expiresOf(r, "a") != 600 || testutil.ToFloat64(r.m.invalid) != 1 {
		t.Error("last good version not kept, or metric not set")
	}
	writeFile(t, path, fmt.Sprintf(providerA, 90*2))
	waitExpires(t, r, "a", 180)
	if len(r.Snapshot().Invalid()) != 0 || testutil.ToFloat64(r.m.invalid) != 0 {
		t.Error("error not cleared after the fix")
	}
}

func TestWatchDeleteAndRename(t *testing.T) {
	r, dir := watched(t)
	a, _ := r.Snapshot().ByCode("a")
	gen := r.Snapshot().Generation()
	must(t, os.Rename(filepath.Join(dir, "a.yaml"), filepath.Join(dir, "renamed.yaml")))
	waitFor(t, "the rename", 10*time.Second, func() bool { return r.Snapshot().FileOf(a.ID) == "renamed.yaml" })
	if d := r.Snapshot().Generation() - gen; d != 1 {
		t.Errorf("%d snapshots for a rename, want 1 (no flap)", d)
	}
	must(t, os.Remove(filepath.Join(dir, "renamed.yaml")))
	waitFor(t, "the removal", 10*time.Second, func() bool { return r.Snapshot().Len() == 0 })
}

// TestWatchErrorsRescan feeds the event reader the overflow error fsnotify
// reports when the kernel queue overflowed: it is counted and a full rescan
// is requested.
func TestWatchErrorsRescan(t *testing.T) {
	r := openDir(t, t.TempDir())
	events, errs := make(chan fsnotify.Event), make(chan error)
	h := newHints()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.readEvents(ctx, events, errs, r.Dir(), h) }()
	errs <- fsnotify.ErrEventOverflow
	<-h.wake
	if names, _ := h.take(false); names != nil || testutil.ToFloat64(r.m.watchErrors.WithLabelValues("overflow")) != 1 {
		t.Error("overflow not counted or no full rescan requested")
	}
	events <- fsnotify.Event{Name: filepath.Join(r.Dir(), "x.yaml"), Op: fsnotify.Write}
	<-h.wake
	if names, _ := h.take(false); len(names) != 1 || names[0] != "x.yaml" {
		t.Errorf("hint: %v", names)
	}
	events <- fsnotify.Event{Name: filepath.Join(r.Dir(), "..data"), Op: fsnotify.Create}
	<-h.wake
	if names, _ := h.take(false); names != nil {
		t.Error("a ..data event must ask for a full rescan")
	}
	cancel()
	<-done
}

// TestHintsFinishedFirst: after the short settle only finished saves are
// rescanned; a file a writer may still hold waits for its quiet window.
func TestHintsFinishedFirst(t *testing.T) {
	h := newHints()
	dir := "/p"
	h.note(dir, fsnotify.Event{Name: "/p/held.yaml", Op: fsnotify.Write})
	h.note(dir, fsnotify.Event{Name: "/p/a.yaml", Op: fsnotify.Write})
	h.saved("a.yaml")
	h.saved(".a.yaml.tmp")
	if !h.quick() {
		t.Fatal("a finished save must allow the short settle")
	}
	names, pending := h.take(true)
	if len(names) != 1 || names[0] != "a.yaml" || !pending {
		t.Errorf("quick take: %v pending %v, want [a.yaml] and held.yaml pending", names, pending)
	}
	if h.quick() {
		t.Error("only a touched name is left: no short settle")
	}
	names, pending = h.take(false)
	if len(names) != 1 || names[0] != "held.yaml" || pending {
		t.Errorf("take: %v pending %v", names, pending)
	}
}

// TestWatchResync: a change that makes no event in the directory (here the
// target of a symlink outside it, as on NFS) is found by the periodic resync.
func TestWatchResync(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	target := filepath.Join(outside, "e.yaml")
	writeFile(t, target, "code: e\ndomain: sip.example.net\nexpires: 600\n")
	must(t, os.Symlink(target, filepath.Join(dir, "e.yaml")))
	r, err := Open(Options{Dir: dir, Logger: quietLogger(), Resync: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	startWatch(t, r)
	writeFile(t, target, "code: e\ndomain: sip.example.net\nexpires: 900\n")
	waitExpires(t, r, "e", 900)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestHintsRemovedThenReopened: a removal is finished like a save; the
// same name created again (or renamed to a backup name) before the rescan
// waits for its quiet window instead.
func TestHintsRemovedThenReopened(t *testing.T) {
	h := newHints()
	h.removed("gone.yaml")
	h.removed("a.yaml~") // not a provider file
	if !h.quick() {
		t.Fatal("a removal must allow the short settle")
	}
	h.reopened("gone.yaml")
	if h.quick() {
		t.Fatal("a recreated name must not take the short settle")
	}
	names, pending := h.take(true)
	if len(names) != 0 || !pending {
		t.Errorf("quick take: %v pending %v, want nothing and gone.yaml pending", names, pending)
	}
	names, _ = h.take(false)
	if len(names) != 1 || names[0] != "gone.yaml" {
		t.Errorf("take: %v", names)
	}
}
