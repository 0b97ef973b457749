package registry

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrStuck is wrapped by the error of Healthy.
var ErrStuck = errors.New("registry stuck")

// busyMutex is the registry lock. Holding it is an operation in flight,
// so that Healthy can tell a registry stuck in a rescan or a write (a hung
// file system, a bug) from a busy one.
type busyMutex struct {
	mu  sync.Mutex
	ops *inFlight
	now func() time.Time
	end func() // of the current holder's operation
}

// Lock locks and records the holder's operation.
func (m *busyMutex) Lock() {
	m.mu.Lock()
	m.end = m.ops.begin(m.now())
}

// Unlock ends the holder's operation and unlocks.
func (m *busyMutex) Unlock() {
	m.end()
	m.mu.Unlock()
}

// inFlight remembers since when each of a set of operations runs: the
// holding of the registry lock, and the file system work that writes do
// outside it (temporary files, placing and the directory fsync:
// groupcommit.go), which a hung file system can stall as well.
type inFlight struct {
	mu    sync.Mutex
	next  uint64
	since map[uint64]int64 // unix nanoseconds
}

// begin records an operation that starts at now; end forgets it.
func (f *inFlight) begin(now time.Time) (end func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.since == nil {
		f.since = map[uint64]int64{}
	}
	f.next++
	id := f.next
	f.since[id] = now.UnixNano()
	return func() {
		f.mu.Lock()
		delete(f.since, id)
		f.mu.Unlock()
	}
}

// oldest is the start of the longest-running operation, 0 when none runs.
func (f *inFlight) oldest() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var old int64
	for _, s := range f.since {
		if old == 0 || s < old {
			old = s
		}
	}
	return old
}

// Healthy returns an error when the registry is stuck: a rescan or a write
// has held it (or a write its file system work outside it) for longer than
// Options.StuckAfter, so writes and outside edits no longer apply. It
// never waits for a rescan or a write; /healthz can call it on every
// request.
func (r *Registry) Healthy() error {
	since := r.busy.oldest()
	if since == 0 {
		return nil
	}
	held := r.now().Sub(time.Unix(0, since))
	if held <= r.opts.StuckAfter {
		return nil
	}
	return fmt.Errorf("%w: a rescan or write has held the registry for %s", ErrStuck, held.Round(time.Second))
}
