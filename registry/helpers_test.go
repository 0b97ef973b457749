package registry

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, what string, timeout time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startWatch runs r.Watch until the test ends and returns once the watcher
// demonstrably sees changes.
func startWatch(tb testing.TB, r *Registry) {
	tb.Helper()
	runWatch(tb, r)
	waitWatching(tb, r, r.Dir())
}

// runWatch runs r.Watch until the test ends.
func runWatch(tb testing.TB, r *Registry) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Watch(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Watch: %v", err)
		}
	})
}

// waitWatching proves the watcher is live: a probe provider file appears in
// the snapshot and disappears again.
func waitWatching(tb testing.TB, r *Registry, dir string) {
	tb.Helper()
	path := filepath.Join(dir, "zz-watch-probe.yaml")
	if err := os.WriteFile(path, []byte("code: zz-watch-probe\ndomain: probe.invalid\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	waitFor(tb, "the watcher to see a new file", 10*time.Second, func() bool {
		_, ok := r.Snapshot().ByCode("zz-watch-probe")
		return ok
	})
	if err := os.Remove(path); err != nil {
		tb.Fatal(err)
	}
	waitFor(tb, "the watcher to see a removal", 10*time.Second, func() bool {
		_, ok := r.Snapshot().ByCode("zz-watch-probe")
		return !ok
	})
}

// openDir opens a registry on dir with a discarded log.
func openDir(tb testing.TB, dir string) *Registry {
	tb.Helper()
	r, err := Open(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func writeFile(tb testing.TB, path, body string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
}
