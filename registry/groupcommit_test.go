package registry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// holdCommits keeps the commit token, so that writes queue up; release
// lets the next writer commit everything queued.
func holdCommits(r *Registry) (release func()) {
	r.group.token.Lock()
	return r.group.token.Unlock
}

// waitQueued waits until n writes are staged and queued.
func waitQueued(t *testing.T, r *Registry, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d queued writes", n), 10*time.Second, func() bool {
		r.group.mu.Lock()
		defer r.group.mu.Unlock()
		return len(r.group.queue) == n
	})
}

// TestGroupCommitOneSnapshot: writes queued together are committed as one
// batch: one new snapshot holds all of them when each returns, and every
// file is complete on disk.
func TestGroupCommitOneSnapshot(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "gone.yaml"), "code: gone\ndomain: sip.example.net\n")
	writeFile(t, filepath.Join(dir, "kept.yaml"), "code: kept\ndomain: sip.example.net\n")
	r := openDir(t, dir)
	gen := r.Snapshot().Generation()
	gone, _ := r.Snapshot().ByCode("gone")
	kept, _ := r.Snapshot().ByCode("kept")
	release := holdCommits(r)
	const creates = 8
	errs := make(chan error, creates+2)
	for i := 0; i < creates; i++ {
		go func() {
			p := Default()
			p.Code, p.Domain = fmt.Sprintf("new-%d", i), "sip.example.net"
			_, err := r.Create(p)
			errs <- err
		}()
	}
	go func() { errs <- r.Delete(gone.ID, nil) }()
	go func() {
		_, err := r.Update(kept.ID, func(p *Provider) error { p.Expires = 900; return nil })
		errs <- err
	}()
	waitQueued(t, r, creates+2)
	release()
	for i := 0; i < creates+2; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s := r.Snapshot()
	if s.Generation() != gen+1 {
		t.Errorf("generation %d -> %d: want one snapshot for the batch", gen, s.Generation())
	}
	if p, _ := s.ByCode("kept"); s.Len() != creates+1 || p.Expires != 900 {
		t.Errorf("snapshot has %d providers (want %d), kept's expires %d", s.Len(), creates+1, p.Expires)
	}
	fresh := openDir(t, dir)
	if fresh.Snapshot().Len() != creates+1 || len(fresh.Snapshot().Invalid()) != 0 {
		t.Errorf("a fresh load sees %d providers, invalid %v", fresh.Snapshot().Len(), fresh.Snapshot().Invalid())
	}
	if temps, _ := filepath.Glob(filepath.Join(dir, ".*"+tempMarker+"*")); len(temps) != 0 {
		t.Errorf("temporary files left: %v", temps)
	}
}

// TestGroupCommitErrorStaysPerWrite: in one batch, a create whose name a
// hand edit took meanwhile fails alone; the others are committed and the
// hand-written file is untouched.
func TestGroupCommitErrorStaysPerWrite(t *testing.T) {
	dir := t.TempDir()
	r := openDir(t, dir)
	release := holdCommits(r)
	errs := map[string]chan error{"taken": make(chan error, 1), "free": make(chan error, 1)}
	for code, ch := range errs {
		go func() {
			p := Default()
			p.Code, p.Domain = code, "sip.example.net"
			_, err := r.Create(p)
			ch <- err
		}()
	}
	waitQueued(t, r, 2)
	hand := "code: taken\ndomain: hand.example.net\n"
	writeFile(t, filepath.Join(dir, "taken.yaml"), hand)
	release()
	if err := <-errs["taken"]; !errors.Is(err, os.ErrExist) {
		t.Errorf("create of a name taken meanwhile: %v, want os.ErrExist", err)
	}
	if err := <-errs["free"]; err != nil {
		t.Errorf("the other write of the batch failed too: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "taken.yaml")); string(data) != hand {
		t.Errorf("the hand-written file was changed:\n%s", data)
	}
	if _, ok := r.Snapshot().ByCode("free"); !ok {
		t.Error("the successful write is not in the snapshot")
	}
}

// TestGroupCommitWaitsForPendingWrite: a write that needs what a pending
// write reserved waits for it and then judges the new state: a create of
// the code a pending delete removes gets the same file name, an update of
// the provider waits too.
func TestGroupCommitWaitsForPendingWrite(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "x.yaml"), "code: x\ndomain: old.example.net\n")
	r := openDir(t, dir)
	x, _ := r.Snapshot().ByCode("x")
	release := holdCommits(r)
	deleted := make(chan error, 1)
	go func() { deleted <- r.Delete(x.ID, nil) }()
	waitQueued(t, r, 1)
	created, updated := make(chan error, 1), make(chan error, 1)
	go func() {
		p := Default()
		p.Code, p.Domain = "x", "new.example.net"
		_, err := r.Create(p)
		created <- err
	}()
	go func() {
		_, err := r.Update(x.ID, func(p *Provider) error { p.Expires = 60; return nil })
		updated <- err
	}()
	select {
	case err := <-created:
		t.Fatalf("the create did not wait for the pending delete of its code: %v", err)
	case err := <-updated:
		t.Fatalf("the update did not wait for the pending delete of its provider: %v", err)
	default:
	}
	release()
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	if err := <-created; err != nil {
		t.Fatalf("create after the delete: %v", err)
	}
	// The new provider has the same derived id: the update finds it gone
	// or, when the create committed first, updates the new one.
	if err := <-updated; err != nil && !errors.Is(err, ErrNotFound) {
		t.Errorf("update of the deleted provider: %v, want not found or done", err)
	}
	if p, ok := r.Snapshot().ByCode("x"); !ok || p.Domain != "new.example.net" || r.Snapshot().FileOf(p.ID) != "x.yaml" {
		t.Errorf("after delete and create: %+v in %q", p, r.Snapshot().FileOf(x.ID))
	}
}

// TestHealthyReportsStuckStaging: a write whose temporary file hangs (a
// hung file system) outside the registry lock makes Healthy fail too.
func TestHealthyReportsStuckStaging(t *testing.T) {
	clk := newFakeClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	r, err := Open(Options{Dir: t.TempDir(), Logger: quietLogger(), Clock: clk, StuckAfter: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	entered, hang := make(chan struct{}), make(chan struct{})
	testHookBeforeRename = func(string) { close(entered); <-hang }
	defer func() { testHookBeforeRename = nil }()
	created := make(chan error, 1)
	go func() {
		p := Default()
		p.Code, p.Domain = "x", "sip.example.net"
		_, err := r.Create(p)
		created <- err
	}()
	<-entered
	clk.set(clk.Now().Add(31 * time.Second))
	if err := r.Healthy(); !errors.Is(err, ErrStuck) {
		t.Errorf("a write stuck 31 s in its temporary file: %v, want ErrStuck", err)
	}
	close(hang)
	if err := <-created; err != nil {
		t.Fatal(err)
	}
	if err := r.Healthy(); err != nil {
		t.Errorf("after the write: %v", err)
	}
}

// TestGroupCommitRescanFirst: a rescan that records a placed file before
// its batch does leaves the batch nothing to publish: one snapshot, not
// two, and the write returns with its provider in it.
func TestGroupCommitRescanFirst(t *testing.T) {
	r := openDir(t, t.TempDir())
	gen := r.Snapshot().Generation()
	testHookAfterPlace = func() {
		if _, err := r.rescan(scope{}); err != nil {
			t.Error(err)
		}
	}
	defer func() { testHookAfterPlace = nil }()
	p := Default()
	p.Code, p.Domain = "x", "sip.example.net"
	if _, err := r.Create(p); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Snapshot().ByCode("x"); !ok || r.Snapshot().Generation() != gen+1 {
		t.Errorf("in the snapshot: %v; generation %d -> %d, want one snapshot", ok, gen, r.Snapshot().Generation())
	}
}
