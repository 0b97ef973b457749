package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"

	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Registry. Zero durations take the defaults.
type Options struct {
	Dir        string                // the providers directory
	Logger     *slog.Logger          // nil: slog.Default()
	Registerer prometheus.Registerer // nil: metrics are not registered
	Debounce   time.Duration         // quiet window after the last event, default 250 ms
	MaxWait    time.Duration         // longest wait under constant churn, default 2 s
	Resync     time.Duration         // backstop rescan period, default 60 s
	StuckAfter time.Duration         // Healthy fails when the lock is held longer, default DefaultStuckAfter
	Clock      Clock                 // nil: the real clock
}

// Clock is the registry's source of time (ext times, snapshot times,
// health). A test injects its own.
type Clock interface{ Now() time.Time }

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// ErrStuck is wrapped by the error of Healthy.
var ErrStuck = errors.New("registry stuck")

// Registry keeps the providers directory and its snapshot in step.
type Registry struct {
	dir  string
	log  *slog.Logger
	opts Options
	now  func() time.Time
	m    *metrics

	mu     busyMutex // serialises rescans and writes
	states map[string]*fileState
	names  []string // sorted keys of states
	gen    uint64

	snap       atomic.Pointer[Snapshot]
	lastReload atomic.Int64 // unix nanoseconds of the last successful rescan

	subMu sync.Mutex
	subs  map[*Subscription]struct{}
}

// Open loads every provider file of opts.Dir (in parallel) and publishes
// the first snapshot. It fails only when the directory cannot be read;
// invalid files are reported in the snapshot.
func Open(opts Options) (*Registry, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = ClockFunc(time.Now)
	}
	if opts.StuckAfter <= 0 {
		opts.StuckAfter = DefaultStuckAfter
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 250 * time.Millisecond
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 2 * time.Second
	}
	if opts.Resync <= 0 {
		opts.Resync = 60 * time.Second
	}
	r := &Registry{
		dir:    opts.Dir,
		log:    opts.Logger,
		opts:   opts,
		now:    opts.Clock.Now,
		m:      newMetrics(opts.Registerer),
		states: map[string]*fileState{},
		subs:   map[*Subscription]struct{}{},
	}
	r.mu.now = r.now
	removeStaleTemps(opts.Dir, r.now(), r.log)
	if _, err := r.Reload(true); err != nil {
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

// Reload rescans the directory and publishes a new snapshot when anything
// changed. full re-reads every file; otherwise files whose inode, size and
// times are unchanged are skipped. A directory that cannot be read keeps the
// current snapshot and returns the error.
func (r *Registry) Reload(full bool) (changed bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	names, err := listProviderFiles(r.dir)
	if err != nil {
		r.m.reloads.WithLabelValues("failure").Inc()
		return false, err
	}
	results := make([]scanResult, len(names))
	parallel(len(names), func(i int) {
		results[i] = r.scanFile(names[i], r.states[names[i]], full)
	})
	changed = r.merge(results)
	r.finishReload(start, changed)
	return changed, nil
}

// reloadFiles rescans only the named files (relative to the directory): the
// watcher's fast path when every event named a provider file.
func (r *Registry) reloadFiles(names []string) (changed bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	if _, err := os.Stat(r.dir); err != nil {
		r.m.reloads.WithLabelValues("failure").Inc()
		return false, fmt.Errorf("read providers directory: %w", err)
	}
	results := make([]scanResult, len(names))
	parallel(len(names), func(i int) {
		results[i] = r.scanFile(names[i], r.states[names[i]], false)
	})
	var before *fileState
	if len(names) == 1 {
		before = r.states[names[0]]
	}
	changed = r.mergeNames(results)
	if changed && len(names) == 1 {
		r.publishFile(names[0], before, r.states[names[0]])
		r.finishReload(start, false)
		r.logReload(start)
		return true, nil
	}
	r.finishReload(start, changed)
	return changed, nil
}

// finishReload records a successful rescan and publishes when anything
// changed. Called with r.mu held.
func (r *Registry) finishReload(start time.Time, changed bool) {
	r.m.reloads.WithLabelValues("success").Inc()
	now := r.now()
	r.lastReload.Store(now.UnixNano())
	r.m.lastReload.Set(float64(now.UnixNano()) / 1e9)
	if changed || r.snap.Load() == nil {
		r.publish()
		r.logReload(start)
	}
}

func (r *Registry) logReload(start time.Time) {
	r.log.Info("providers reloaded", "generation", r.gen, "providers", r.Snapshot().Len(),
		"invalid_files", len(r.Snapshot().Invalid()), "took", time.Since(start).Round(time.Microsecond))
}

// listProviderFiles returns the provider file names of dir, unsorted.
// Readdirnames avoids a stat per entry; scanFile stats each name anyway.
func listProviderFiles(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("read providers directory: %w", err)
	}
	defer d.Close()
	all, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read providers directory %s: %w", dir, err)
	}
	names := all[:0]
	for _, n := range all {
		if IsProviderFile(n) {
			names = append(names, n)
		}
	}
	return names, nil
}

// merge applies a full rescan's results to the file states; it reports
// whether the set of providers or problems changed. Called with r.mu held.
func (r *Registry) merge(results []scanResult) bool {
	knownBefore := len(r.states)
	present, added, changed := 0, false, false
	for _, res := range results {
		if res.state == nil {
			continue
		}
		old, known := r.states[res.name]
		if known {
			present++
		} else {
			added = true
		}
		if known && old == res.state {
			continue
		}
		r.states[res.name] = res.state
		changed = r.noteChange(res) || changed
	}
	removed := present < knownBefore
	if removed {
		keep := make(map[string]bool, len(results))
		for _, res := range results {
			keep[res.name] = res.state != nil
		}
		for name := range r.states {
			if !keep[name] {
				delete(r.states, name)
			}
		}
	}
	if added || removed {
		r.resetNames()
		return true
	}
	return changed
}

// mergeNames applies the results of a rescan of some files only (the names
// events pointed at). Called with r.mu held.
func (r *Registry) mergeNames(results []scanResult) bool {
	changed, setChanged := false, false
	for _, res := range results {
		old, known := r.states[res.name]
		switch {
		case res.state == nil && known:
			delete(r.states, res.name)
			setChanged = true
		case res.state == nil:
		case !known:
			r.states[res.name] = res.state
			r.noteChange(res)
			setChanged = true
		case old != res.state:
			r.states[res.name] = res.state
			changed = r.noteChange(res) || changed
		}
	}
	if setChanged {
		r.resetNames()
	}
	return changed || setChanged
}

// noteChange logs the problems of a changed file; it reports res.changed.
func (r *Registry) noteChange(res scanResult) bool {
	if res.changed {
		for _, p := range res.state.problems {
			r.log.Warn("invalid provider file", "error", p.Error())
		}
	}
	return res.changed
}

func (r *Registry) resetNames() {
	r.names = r.names[:0]
	for name := range r.states {
		r.names = append(r.names, name)
	}
	slices.Sort(r.names)
}

// publish builds, stores and announces a new snapshot. Called with r.mu held.
func (r *Registry) publish() {
	r.publishSnapshot(buildSnapshot(r.gen+1, r.now(), r.dir, r.names, r.states))
}

// publishFile publishes the snapshot after a change of one file only: old
// is the file's previous state and st its new one (nil: gone). It splices
// the previous snapshot when it can and rebuilds otherwise. Called with
// r.mu held.
func (r *Registry) publishFile(name string, old, st *fileState) {
	if prev := r.snap.Load(); prev != nil {
		var oldP *Provider
		if old != nil {
			oldP = old.good
		}
		if s := prev.withFile(r.gen+1, r.now(), r.dir, name, oldP, st); s != nil {
			r.publishSnapshot(s)
			return
		}
	}
	r.publish()
}

func (r *Registry) publishSnapshot(s *Snapshot) {
	r.gen = s.generation
	r.snap.Store(s)
	r.m.observe(s)
	r.subMu.Lock()
	for sub := range r.subs {
		sub.offer(s)
	}
	r.subMu.Unlock()
}

// Subscription delivers snapshots: the current one at once, then every new
// one. A slow reader sees only the latest.
type Subscription struct {
	c chan *Snapshot
	r *Registry
}

// C is the channel of snapshots.
func (s *Subscription) C() <-chan *Snapshot { return s.c }

// Close stops deliveries.
func (s *Subscription) Close() {
	s.r.subMu.Lock()
	delete(s.r.subs, s)
	s.r.subMu.Unlock()
}

// offer replaces an undelivered snapshot by s. Only publish calls it, under
// subMu, so the second send cannot fail.
func (s *Subscription) offer(snap *Snapshot) {
	select {
	case s.c <- snap:
		return
	default:
	}
	select {
	case <-s.c:
	default:
	}
	s.c <- snap
}

// Subscribe starts a subscription; the current snapshot is waiting in C.
func (r *Registry) Subscribe() *Subscription {
	sub := &Subscription{c: make(chan *Snapshot, 1), r: r}
	r.subMu.Lock()
	r.subs[sub] = struct{}{}
	if s := r.snap.Load(); s != nil {
		sub.c <- s
	}
	r.subMu.Unlock()
	return sub
}

// WaitGeneration blocks until the snapshot's generation is at least gen or
// ctx ends.
func (r *Registry) WaitGeneration(ctx context.Context, gen uint64) (*Snapshot, error) {
	sub := r.Subscribe()
	defer sub.Close()
	for {
		select {
		case s := <-sub.C():
			if s.Generation() >= gen {
				return s, nil
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
