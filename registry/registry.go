package registry

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/trunkd/trunkd/registry/feed"
)

// Registry keeps the providers directory and its snapshot in step. Every
// change, whether found by a rescan or made by a write, takes one path:
// file states are updated (apply), then the next snapshot is published
// (publish).
type Registry struct {
	dir  string
	log  *slog.Logger
	opts Options
	now  func() time.Time
	m    *metrics

	mu      busyMutex // serialises rescans and the preparing and committing of writes
	states  map[string]*fileState
	gen     uint64
	pending map[string]*pendingWrite // reservations of writes not yet committed (groupcommit.go)
	group   commitGroup
	busy    inFlight // r.mu's holder and the file system work of writes outside it, for Healthy

	snap       atomic.Pointer[Snapshot]
	lastReload atomic.Int64 // unix nanoseconds of the last successful rescan

	snaps feed.Feed[*Snapshot] // the subscriptions (publish.go)
}

// Open loads every provider file of opts.Dir (in parallel), publishes the
// first snapshot and registers the metrics. It fails only when the
// directory cannot be read or the metrics cannot be registered; invalid
// files are reported in the snapshot.
func Open(opts Options) (*Registry, error) {
	opts = opts.withDefaults()
	r := &Registry{
		dir:     opts.Dir,
		log:     opts.Logger,
		opts:    opts,
		now:     opts.Clock.Now,
		m:       newMetrics(),
		states:  map[string]*fileState{},
		pending: map[string]*pendingWrite{},
	}
	r.mu.now, r.mu.ops = r.now, &r.busy
	removeStaleTemps(opts.Dir, r.now(), r.log)
	if err := r.Reload(); err != nil {
		return nil, err
	}
	if err := r.m.register(opts.Registerer); err != nil {
		return nil, err
	}
	return r, nil
}

// Dir is the providers directory.
func (r *Registry) Dir() string { return r.dir }

// LastReload is when the directory was last read successfully.
func (r *Registry) LastReload() time.Time { return time.Unix(0, r.lastReload.Load()) }

// Snapshot returns the current snapshot; it never blocks.
func (r *Registry) Snapshot() *Snapshot { return r.snap.Load() }

// Reload reads and hashes every provider file and publishes a new snapshot
// when anything changed. A directory that cannot be read keeps the current
// snapshot and returns the error.
func (r *Registry) Reload() error {
	_, err := r.rescan(scope{reread: true})
	return err
}
