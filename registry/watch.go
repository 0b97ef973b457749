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

// Watch keeps the snapshot in step with the directory until ctx ends. Events
// are hints: each burst (quiet for Debounce, or at most MaxWait) causes one
// rescan, limited to the files the events named when all of them named
// provider files, and of the whole directory otherwise. The parent directory is watched too, so a directory that is
// removed and recreated is picked up again; every Resync period a full
// rescan runs as a backstop for missed events (NFS, overflow).
func (r *Registry) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("create file watcher (check fs.inotify.max_user_instances): %w", err)
	}
	defer w.Close()
	dir := filepath.Clean(r.dir)
	parent := filepath.Dir(dir)
	if err := w.Add(parent); err != nil {
		r.log.Warn("cannot watch the parent of the providers directory; a recreated directory is found by resync only", "dir", parent, "error", err)
	}
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("watch providers directory %s (check fs.inotify.max_user_watches): %w", dir, err)
	}
	// Changes between Open and now produced no event: look once.
	if _, err := r.Reload(false); err != nil {
		r.log.Warn("providers directory not readable; keeping the current snapshot", "error", err)
	}
	dirty := make(chan struct{}, 1)
	h := &hints{}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		r.readEvents(ctx, w.Events, w.Errors, dir, h, dirty)
	}()
	defer func() { w.Close(); <-readerDone }()
	return r.debounceLoop(ctx, w, dir, h, dirty)
}

// readEvents turns events into a non-blocking "dirty" signal so the kernel
// queue never backs up behind a slow rescan.
func (r *Registry) readEvents(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error, dir string, h *hints, dirty chan<- struct{}) {
	mark := func() {
		select {
		case dirty <- struct{}{}:
		default:
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			if h.note(dir, e) {
				mark()
			}
		case err, ok := <-errs:
			if !ok {
				return
			}
			kind := "other"
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				kind = "overflow"
			}
			r.m.watchErrors.WithLabelValues(kind).Inc()
			r.log.Warn("file watcher error; rescanning", "kind", kind, "error", err)
			h.setFull()
			mark()
		}
	}
}

func (r *Registry) debounceLoop(ctx context.Context, w *fsnotify.Watcher, dir string, h *hints, dirty <-chan struct{}) error {
	resync := time.NewTicker(r.opts.Resync)
	defer resync.Stop()
	missing := time.NewTicker(2 * time.Second) // re-add a vanished directory
	defer missing.Stop()
	for {
		full := false
		select {
		case <-ctx.Done():
			return nil
		case <-resync.C:
			full = true
			removeStaleTemps(r.dir, r.now(), r.log)
		case <-missing.C:
			if slices.Contains(w.WatchList(), dir) {
				continue
			}
			h.setFull()
		case <-dirty:
			if !r.settle(ctx, dirty) {
				return nil
			}
		}
		if r.ensureWatched(w, dir) {
			h.setFull()
		}
		names, all := h.take()
		var err error
		if full || all {
			_, err = r.Reload(full)
		} else {
			_, err = r.reloadFiles(names)
		}
		if err != nil {
			r.log.Warn("providers directory not readable; keeping the current snapshot", "error", err)
		}
	}
}

// settle waits until events stop for Debounce, or MaxWait passed since the
// first one. It returns false when ctx ended.
func (r *Registry) settle(ctx context.Context, dirty <-chan struct{}) bool {
	deadline := time.NewTimer(r.opts.MaxWait)
	defer deadline.Stop()
	quiet := time.NewTimer(r.opts.Debounce)
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-dirty:
			quiet.Reset(r.opts.Debounce)
		case <-quiet.C:
			return true
		case <-deadline.C:
			return true
		}
	}
}

// ensureWatched re-adds the directory watch after the directory was
// removed or replaced (the kernel drops the watch silently).
// It reports whether the watch was re-added.
func (r *Registry) ensureWatched(w *fsnotify.Watcher, dir string) bool {
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
	r.log.Info("providers directory reappeared; watching it again", "dir", dir)
	return true
}
