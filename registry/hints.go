package registry

import (
	"path/filepath"
	"strings"
	"sync"

	"github.com/fsnotify/fsnotify"
)

// maxHints is how many named files a rescan may be limited to; a larger
// burst (a git checkout) gets one full directory rescan instead.
const maxHints = 512

// hints collects, between two rescans, which files events pointed at and
// wakes the watcher loop. Events are never trusted for content: every
// hinted file is stat'ed, hashed and parsed like in a full rescan.
//
// A name is touched by a plain event (write, create, remove, rename,
// chmod): the writer may still hold the file, so the loop waits for a quiet
// window. A name is finished by a completed save (closed after writing, or
// renamed into the directory) or a removal (unlinked, or renamed away: no
// writer holds a name that is gone): the loop reacts after a short settle.
// A name created again, or renamed to an editor's backup name, before that
// rescan is touched again (reopened), so neither a half-written file nor
// the gap of an editor's rename-and-rewrite is taken for finished. Any
// event that does not name a provider file directly (the directory itself,
// Kubernetes "..data" swaps, overflow, watcher errors) asks for a full
// rescan.
type hints struct {
	mu       sync.Mutex
	touched  map[string]struct{}
	finished map[string]struct{}
	full     bool
	wake     chan struct{}
}

func newHints() *hints { return &hints{wake: make(chan struct{}, 1)} }

// signal wakes the loop without ever blocking the event reader.
func (h *hints) signal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// note records what an fsnotify event means for the next rescan.
func (h *hints) note(dir string, e fsnotify.Event) {
	base := filepath.Base(e.Name)
	switch {
	case e.Op == fsnotify.Chmod && (e.Name == dir || !IsProviderFile(base)):
		return // attribute noise; on a provider file it may be a touch
	case e.Name == dir:
		h.setFull()
	case filepath.Dir(e.Name) != dir:
		return // another entry of the parent directory
	case IsProviderFile(base):
		h.add(&h.touched, base)
	case strings.HasPrefix(base, ".."):
		h.setFull() // ConfigMap symlink swap: names no provider file
	default:
		return // temp files, editor backups and swap files, other files
	}
	h.signal()
}

// saveSink receives what the save watcher (savewatch_linux.go) reports,
// in the kernel's order; names are relative to the directory.
type saveSink interface {
	saved(name string)    // closed after writing, or renamed into the directory
	removed(name string)  // unlinked, or renamed away
	reopened(name string) // created again, or renamed to an editor's backup name
}

// saved records a finished save of name.
func (h *hints) saved(name string) {
	if !IsProviderFile(name) {
		return // a temp file closed before its rename, a swap file
	}
	h.add(&h.finished, name)
	h.signal()
}

// removed records a finished removal of name: like a save, it is rescanned
// after the short settle (and found gone).
func (h *hints) removed(name string) { h.saved(name) }

// reopened withdraws a finished hint of name: the name is being written
// again, and waits for its close-write or its quiet window.
func (h *hints) reopened(name string) {
	if !IsProviderFile(name) {
		return
	}
	h.mu.Lock()
	delete(h.finished, name)
	h.mu.Unlock()
	h.add(&h.touched, name)
	h.signal()
}

func (h *hints) add(set *map[string]struct{}, name string) {
	h.mu.Lock()
	if *set == nil {
		*set = map[string]struct{}{}
	}
	(*set)[name] = struct{}{}
	if len(*set) > maxHints {
		h.full = true
	}
	h.mu.Unlock()
}

func (h *hints) setFull() {
	h.mu.Lock()
	h.full = true
	h.mu.Unlock()
	h.signal()
}

// quick reports whether the pending hints may be acted on after the short
// settle: some save finished and no full rescan is asked for.
func (h *hints) quick() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.finished) > 0 && !h.full
}

// take returns and clears what the next rescan covers: nil names mean the
// whole directory. With finishedOnly, only finished names are taken and
// touched ones stay for their quiet window; pending reports whether any did.
func (h *hints) take(finishedOnly bool) (names []string, pending bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.full {
		h.touched, h.finished, h.full = nil, nil, false
		return nil, false
	}
	for n := range h.finished {
		names = append(names, n)
		delete(h.touched, n)
	}
	if !finishedOnly {
		for n := range h.touched {
			names = append(names, n)
		}
		h.touched = nil
	}
	h.finished = nil
	return names, len(h.touched) > 0
}
