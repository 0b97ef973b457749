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

// hints collects, between two rescans, which files events pointed at. Any
// event that does not name a provider file directly (the directory itself,
// Kubernetes "..data" swaps, overflow, watcher errors) asks for a full
// rescan. Events are never trusted for content: every hinted file is stat'ed,
// hashed and parsed like in a full rescan.
type hints struct {
	mu    sync.Mutex
	names map[string]struct{}
	full  bool
}

// note records what an event means for the next rescan; it reports whether
// the event matters at all.
func (h *hints) note(dir string, e fsnotify.Event) bool {
	base := filepath.Base(e.Name)
	if e.Op == fsnotify.Chmod && (e.Name == dir || !IsProviderFile(base)) {
		return false // attribute noise; on a provider file it may be a touch
	}
	switch {
	case e.Name == dir:
		h.setFull()
	case filepath.Dir(e.Name) != dir:
		return false // another entry of the parent directory
	case IsProviderFile(base):
		h.mu.Lock()
		if h.names == nil {
			h.names = map[string]struct{}{}
		}
		h.names[base] = struct{}{}
		if len(h.names) > maxHints {
			h.full = true
		}
		h.mu.Unlock()
	case strings.HasPrefix(base, ".."):
		h.setFull() // ConfigMap symlink swap: names no provider file
	default:
		return false // temp files, editor backups and swap files, other files
	}
	return true
}

func (h *hints) setFull() {
	h.mu.Lock()
	h.full = true
	h.mu.Unlock()
}

// take returns and clears the collected hints.
func (h *hints) take() (names []string, full bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for n := range h.names {
		names = append(names, n)
	}
	full = h.full || len(names) == 0
	h.names, h.full = nil, false
	return names, full
}
