package registry

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrStuck is wrapped by the error of Healthy.
var ErrStuck = errors.New("registry stuck")

// busyMutex is the registry lock. It remembers since when it is held, so
// that Healthy can tell a registry stuck in a rescan or a write (a hung
// file system, a bug) from a busy one.
type busyMutex struct {
	mu    sync.Mutex
	since atomic.Int64 // unix nanoseconds of the current Lock, 0 when free
	now   func() time.Time
}

// Lock locks and records the time.
func (m *busyMutex) Lock() {
	m.mu.Lock()
	m.since.Store(m.now().UnixNano())
}

// Unlock clears the time and unlocks.
func (m *busyMutex) Unlock() {
	m.since.Store(0)
	m.mu.Unlock()
}

// Healthy returns an error when the registry is stuck: a rescan or a write
// has held it for longer than Options.StuckAfter, so writes and outside
// edits no longer apply. It never blocks; /healthz can call it on every
// request.
func (r *Registry) Healthy() error {
	since := r.mu.since.Load()
	if since == 0 {
		return nil
	}
	held := r.now().Sub(time.Unix(0, since))
	if held <= r.opts.StuckAfter {
		return nil
	}
	return fmt.Errorf("%w: a rescan or write has held the registry for %s", ErrStuck, held.Round(time.Second))
}
