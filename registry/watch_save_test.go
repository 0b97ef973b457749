package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// providerAExt is providerA with ext written in the file, so that a save
// of the same bytes (a new mtime) changes nothing.
const providerAExt = providerA + "ext:\n  ct: 2020-01-01T00:00:00.00Z\n  lwt: 2020-01-01T00:00:00.00Z\n"

// savesOnly opens a registry whose quiet window and max wait are an hour:
// a change that shows up at all came through a finished save.
func savesOnly(t *testing.T) (*Registry, string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("finished saves are recognised through inotify only")
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), fmt.Sprintf(providerAExt, 600))
	r, err := Open(Options{Dir: dir, Logger: quietLogger(), Debounce: time.Hour, MaxWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Prove the watcher live with saves of the same bytes: they cause
	// rescans (Watch's first one, then at least one for a save) but no
	// snapshot, so the next save is not taken as part of a burst.
	reloads := testutil.ToFloat64(r.m.reloads.WithLabelValues("success"))
	runWatch(t, r)
	waitFor(t, "Watch's first rescan", 10*time.Second, func() bool {
		return testutil.ToFloat64(r.m.reloads.WithLabelValues("success")) >= reloads+1
	})
	// One save only: a second one could still be in flight when the test
	// starts writing.
	saveAtomic(t, filepath.Join(dir, "a.yaml"), fmt.Sprintf(providerAExt, 600))
	waitFor(t, "the watcher to see a save", 10*time.Second, func() bool {
		return testutil.ToFloat64(r.m.reloads.WithLabelValues("success")) >= reloads+2
	})
	if g := r.Snapshot().Generation(); g != 1 {
		t.Fatalf("generation %d after saves of the same bytes", g)
	}
	return r, dir
}

// saveAtomic saves as editors do: a temporary file renamed into place, so
// no reader ever sees a partial file.
func saveAtomic(t *testing.T, path, body string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	writeFile(t, tmp, body)
	must(t, os.Rename(tmp, path))
}

// TestWatchCloseWriteActsAtOnce: an in-place save (open, truncate, write,
// close) is acted on without waiting for the quiet window.
func TestWatchCloseWriteActsAtOnce(t *testing.T) {
	r, dir := savesOnly(t)
	f, err := os.OpenFile(filepath.Join(dir, "a.yaml"), os.O_WRONLY|os.O_TRUNC, 0)
	must(t, err)
	fmt.Fprintf(f, providerAExt, 120)
	must(t, f.Close())
	waitExpires(t, r, "a", 120)
}

// TestWatchRenameIntoPlaceActsAtOnce: an atomic save (temp file, rename)
// is acted on without waiting for the quiet window, the temp name never
// becomes a provider.
func TestWatchRenameIntoPlaceActsAtOnce(t *testing.T) {
	r, dir := savesOnly(t)
	tmp := filepath.Join(dir, ".a.yaml.tmp")
	writeFile(t, tmp, fmt.Sprintf(providerAExt, 180))
	must(t, os.Rename(tmp, filepath.Join(dir, "a.yaml")))
	waitExpires(t, r, "a", 180)
	if s := r.Snapshot(); s.Len() != 1 || len(s.Invalid()) != 0 {
		t.Errorf("providers %d, invalid %v", s.Len(), s.Invalid())
	}
}

// TestWatchHeldWriterWaits: a file a writer still holds open is not read
// on another file's finished save: once b.yaml (saved after a.yaml's
// partial write) is in the snapshot, a.yaml still has its old version.
func TestWatchHeldWriterWaits(t *testing.T) {
	r, dir := savesOnly(t)
	f, err := os.OpenFile(filepath.Join(dir, "a.yaml"), os.O_WRONLY|os.O_TRUNC, 0)
	must(t, err)
	defer f.Close()
	fmt.Fprint(f, "code: a\ndomain: sip.example.net\n") // valid but partial: expires comes later
	writeFile(t, filepath.Join(dir, "b.yaml"), "code: b\ndomain: sip.example.net\n")
	waitFor(t, "b.yaml", 10*time.Second, func() bool { _, ok := r.Snapshot().ByCode("b"); return ok })
	if got := expiresOf(r, "a"); got != 600 {
		t.Fatalf("a.yaml read while its writer still held it: expires %d", got)
	}
	fmt.Fprint(f, "expires: 90\n")
	must(t, f.Close())
	must(t, r.Reload())
	waitExpires(t, r, "a", 90)
}

// TestWatchSecondEditNotLost: a second save 20 ms after the first (inside
// the burst the first started) is not lost.
func TestWatchSecondEditNotLost(t *testing.T) {
	r, dir := watched(t)
	path := filepath.Join(dir, "a.yaml")
	writeFile(t, path, fmt.Sprintf(providerAExt, 100))
	time.Sleep(20 * time.Millisecond) // the gap under test, not a wait for a result
	writeFile(t, path, fmt.Sprintf(providerAExt, 200))
	waitExpires(t, r, "a", 200)
}

// TestWatchRemovalActsAtOnce: a removed provider file (unlinked, or moved
// out of the directory) is a finished change: with a quiet window of an
// hour, the snapshot without it comes after the short settle.
func TestWatchRemovalActsAtOnce(t *testing.T) {
	for _, c := range []struct {
		what   string
		remove func(path string) error
	}{
		{"unlinked", os.Remove},
		{"moved out of the directory", func(path string) error { return os.Rename(path, filepath.Join(t.TempDir(), "a.yaml")) }},
	} {
		t.Run(c.what, func(t *testing.T) {
			r, dir := savesOnly(t)
			gen := r.Snapshot().Generation()
			start := time.Now()
			must(t, c.remove(filepath.Join(dir, "a.yaml")))
			waitFor(t, "a snapshot without a", 10*time.Second, func() bool { return r.Snapshot().Len() == 0 })
			s := r.Snapshot()
			took := s.Built().Sub(start)
			if took < saveSettle || s.Generation()-gen != 1 {
				t.Errorf("snapshot %d after %d, built %v after the removal began: want the next one, after the %v settle",
					s.Generation(), gen, took, saveSettle)
			}
			t.Logf("removal → snapshot %v (settle %v, quiet window %v; loaded machine)", took.Round(time.Microsecond), saveSettle, r.opts.Debounce)
		})
	}
}

// TestWatchVimSaveNeverDropsProvider: vim saves by renaming the file to its
// backup name, writing the file anew and dropping the backup. With a pause
// between the rename and the new file longer than the short settle, still
// no snapshot lacks the provider: the rename to a backup name is not a
// finished removal (the quiet window here is an hour), the new file's
// close-write is the change, and exactly one snapshot follows.
func TestWatchVimSaveNeverDropsProvider(t *testing.T) {
	r, dir := savesOnly(t)
	gen := r.Snapshot().Generation()
	path := filepath.Join(dir, "a.yaml")
	must(t, os.Rename(path, path+"~"))
	time.Sleep(5 * saveSettle) // the gap under test, not a wait for a result
	writeFile(t, path, fmt.Sprintf(providerAExt, 240))
	must(t, os.Remove(path+"~"))
	waitExpires(t, r, "a", 240)
	if d := r.Snapshot().Generation() - gen; d != 1 {
		t.Errorf("%d snapshots, want exactly 1 (an earlier one lacked the provider)", d)
	}
}

// recordingSink records what the save watcher reports.
type recordingSink struct {
	mu     sync.Mutex
	events []string
}

func (s *recordingSink) note(e string) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
}
func (s *recordingSink) saved(name string)    { s.note("saved " + name) }
func (s *recordingSink) removed(name string)  { s.note("removed " + name) }
func (s *recordingSink) reopened(name string) { s.note("reopened " + name) }

// TestSaveWatcherOrder: the save watcher reports, in the kernel's order, a
// removal and a create of the same name (so a file recreated by a writer
// that still holds it is never taken for a finished removal), and takes
// back the removal of a rename to an editor's backup name.
func TestSaveWatcherOrder(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("inotify only")
	}
	dir, outside := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), "x")
	w, err := newSaveWatcher(dir)
	must(t, err)
	sink := &recordingSink{}
	done := make(chan struct{})
	go func() { defer close(done); w.run(sink, func() { sink.note("overflow") }) }()
	defer func() { w.Close(); <-done }()
	p := func(name string) string { return filepath.Join(dir, name) }
	must(t, os.Remove(p("a.yaml")))
	f, err := os.OpenFile(p("a.yaml"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	must(t, err)
	must(t, f.Close())
	must(t, os.Rename(p("a.yaml"), p("a.yaml~"))) // vim: backup, new file, drop the backup
	writeFile(t, p("a.yaml"), "y")
	must(t, os.Remove(p("a.yaml~")))
	must(t, os.Rename(p("a.yaml"), p("b.yaml")))
	must(t, os.Rename(p("b.yaml"), filepath.Join(outside, "b.yaml")))
	must(t, os.Mkdir(p("sub"), 0o755)) // directories are not reported
	want := []string{
		"removed a.yaml", "reopened a.yaml", "saved a.yaml",
		"removed a.yaml", "reopened a.yaml", "saved a.yaml~",
		"reopened a.yaml", "saved a.yaml",
		"removed a.yaml~",
		"removed a.yaml", "saved b.yaml",
		"removed b.yaml",
	}
	var got []string
	waitFor(t, "the events", 10*time.Second, func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		got = slices.Clone(sink.events)
		return len(got) >= len(want)
	})
	if !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}
