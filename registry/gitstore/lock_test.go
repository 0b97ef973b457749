package gitstore

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

// With a write lock (a cluster), Commit takes it first, moves the working
// copy to the remote's head before apply runs (so another node's write
// never makes the push fail), and hands the new head to Pushed inside the
// lock.
func TestCommitUnderLock(t *testing.T) {
	rem := newRemote(t)
	var mu sync.Mutex
	var events []string
	record := func(e string) { mu.Lock(); events = append(events, e); mu.Unlock() }
	r, _ := openRepo(t, rem.url, filepath.Join(t.TempDir(), "wc"), func(_ *Config, o *Options) {
		o.Lock = func(context.Context) (func(), error) {
			record("lock")
			return func() { record("unlock") }, nil
		}
		o.Pushed = func(_ context.Context, head string) { record("pushed " + head) }
	})
	// Another node's write the working copy has not synced yet.
	rem.write(t, "providers/a.yaml", "code: a\nother: 1\n")
	rem.push(t, "other node")
	calls := 0
	apply := func(ctx context.Context) (Edit, error) {
		calls++
		record("apply")
		return writeFile(r, "b.yaml", "code: b\n", "create b")(ctx)
	}
	sha, err := r.Commit(context.Background(), Signature{Name: "ops"}, apply)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("apply ran %d times; want once (the working copy synced under the lock)", calls)
	}
	want := []string{"lock", "apply", "pushed " + sha, "unlock"}
	if len(events) != len(want) {
		t.Fatalf("events %q, want %q", events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Fatalf("events %q, want %q", events, want)
		}
	}
	assertClean(t, r)
}

// A lock that cannot be taken (etcd unreachable) fails the write with
// ErrUnavailable before apply runs.
func TestCommitLockUnavailable(t *testing.T) {
	rem := newRemote(t)
	r, _ := openRepo(t, rem.url, filepath.Join(t.TempDir(), "wc"), func(_ *Config, o *Options) {
		o.Lock = func(context.Context) (func(), error) { return nil, errors.New("etcd: no quorum") }
	})
	applied := false
	_, err := r.Commit(context.Background(), Signature{Name: "ops"}, func(ctx context.Context) (Edit, error) {
		applied = true
		return writeFile(r, "b.yaml", "code: b\n", "create b")(ctx)
	})
	if !errors.Is(err, ErrUnavailable) || applied {
		t.Fatalf("Commit = %v, applied %v; want ErrUnavailable and nothing applied", err, applied)
	}
	assertClean(t, r)
}
