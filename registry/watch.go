package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch keeps the snapshot in step with the directory until ctx ends.
// Events are hints (see hints): a finished save or removal is acted on
// after a short settle (saveSettle, 10 ms) unless it is part of a burst,
// plain events after a quiet window (Options.Debounce), both at most
// MaxWait after the first.
// A rescan is limited to the files the events named when all of them named
// provider files, and covers the whole directory otherwise. The parent
// directory is watched too, so a directory that is removed and recreated
// is picked up again; every Resync period a rescan of the whole directory
// (stat first, read what moved) runs as a backstop for missed events (NFS,
// overflow) and removes stale temporary files.
func (r *Registry) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("create file watcher (check fs.inotify.max_user_instances): %w", err)
	}
	dir := filepath.Clean(r.dir)
	if err := w.Add(filepath.Dir(dir)); err != nil {
		r.log.Warn("cannot watch the parent of the providers directory; a recreated directory is found by resync only", "dir", filepath.Dir(dir), "error", err)
	}
	if err := w.Add(dir); err != nil {
		w.Close()
		return fmt.Errorf("watch providers directory %s (check fs.inotify.max_user_watches): %w", dir, err)
	}
	h := newHints()
	saves, stopSaves := r.startSaveWatcher(dir, h)
	// Changes between Open and now produced no event: look once.
	if _, err := r.rescan(scope{}); err != nil {
		r.log.Warn("providers directory not readable; keeping the current snapshot", "error", err)
	}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		r.readEvents(ctx, w.Events, w.Errors, dir, h)
	}()
	defer func() {
		w.Close()
		stopSaves()
		<-readerDone
	}()
	return r.loop(ctx, w, saves, dir, h)
}

// startSaveWatcher starts the reader of finished saves and removals; stop
// closes it and waits for its goroutine. Without it (not Linux, no inotify
// instance left) every event waits for the quiet window.
func (r *Registry) startSaveWatcher(dir string, h *hints) (saves *saveWatcher, stop func()) {
	saves, err := newSaveWatcher(dir)
	if err != nil {
		r.log.Info("finished saves not recognised; every change waits for the quiet window", "debounce", r.opts.Debounce, "error", err)
		return nil, func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		saves.run(h, func() { r.watchError(h, fsnotify.ErrEventOverflow) })
	}()
	return saves, func() { saves.Close(); <-done }
}

// readEvents turns fsnotify events into hints; it never blocks, so the
// kernel queue never backs up behind a slow rescan.
func (r *Registry) readEvents(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error, dir string, h *hints) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			h.note(dir, e)
		case err, ok := <-errs:
			if !ok {
				return
			}
			r.watchError(h, err)
		}
	}
}

// watchError counts a watcher error and asks for a full rescan.
func (r *Registry) watchError(h *hints, err error) {
	kind := "other"
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		kind = "overflow"
	}
	r.m.watchErrors.WithLabelValues(kind).Inc()
	r.log.Warn("file watcher error; rescanning", "kind", kind, "error", err)
	h.setFull()
}

func (r *Registry) loop(ctx context.Context, w *fsnotify.Watcher, saves *saveWatcher, dir string, h *hints) error {
	resync := time.NewTicker(r.opts.Resync)
	defer resync.Stop()
	missing := time.NewTicker(2 * time.Second) // re-add a vanished directory
	defer missing.Stop()
	var lastPublish time.Time
	for {
		quick, backstop := false, false
		select {
		case <-ctx.Done():
			return nil
		case <-resync.C:
			backstop = true
			removeStaleTemps(r.dir, r.now(), r.log)
		case <-missing.C:
			if slices.Contains(w.WatchList(), dir) {
				continue
			}
			h.setFull()
		case <-h.wake:
			var ok bool
			if quick, ok = r.settle(ctx, h, time.Since(lastPublish) < r.opts.Debounce); !ok {
				return nil
			}
		}
		if r.ensureWatched(w, saves, dir) {
			h.setFull()
		}
		if r.rescanHinted(h, quick, backstop) {
			lastPublish = time.Now()
		}
	}
}

// rescanHinted rescans what the hints name (the whole directory for a
// backstop) and reports whether a snapshot was published.
func (r *Registry) rescanHinted(h *hints, quick, backstop bool) bool {
	names, pending := h.take(quick)
	if backstop {
		names = nil // the whole directory
	}
	published, err := r.rescan(scope{names: names})
	if err != nil {
		r.log.Warn("providers directory not readable; keeping the current snapshot", "error", err)
	}
	if pending {
		h.signal() // touched names still wait for their quiet window
	}
	return published
}

// settle waits for the end of a burst of events: saveSettle of quiet once a
// save finished (unless a rescan published within the last Debounce: then
// more of a burst is likely coming, such as a checkout), Debounce of quiet
// otherwise, and never longer than MaxWait. quick reports the short
// window; ok is false when ctx ended.
func (r *Registry) settle(ctx context.Context, h *hints, burst bool) (quick, ok bool) {
	window := func(short bool) time.Duration {
		if short {
			return saveSettle
		}
		return r.opts.Debounce
	}
	deadline := time.NewTimer(r.opts.MaxWait)
	defer deadline.Stop()
	short := !burst && h.quick()
	quiet := time.NewTimer(window(short))
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, false
		case <-h.wake:
			short = !burst && h.quick()
			quiet.Reset(window(short))
		case <-quiet.C:
			return short, true
		case <-deadline.C:
			return false, true
		}
	}
}

// ensureWatched re-adds the directory watch after the directory was
// removed or replaced (the kernel drops the watch silently). It reports
// whether the watch was re-added.
func (r *Registry) ensureWatched(w *fsnotify.Watcher, saves *saveWatcher, dir string) bool {
	if slices.Contains(w.WatchList(), dir) {
		return false
	}
	if _, err := os.Stat(dir); err != nil {
		return false
	}
	if err := w.Add(dir); err != nil {
		r.m.watchErrors.WithLabelValues("watch").Inc()
		r.log.Warn("cannot re-add watch on providers directory", "dir", dir, "error", err)
		return false
	}
	if saves != nil {
		if err := saves.add(dir); err != nil {
			r.log.Warn("cannot re-add the finished-save watch; changes wait for the quiet window", "dir", dir, "error", err)
		}
	}
	r.log.Info("providers directory reappeared; watching it again", "dir", dir)
	return true
}
