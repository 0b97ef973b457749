package registry

import (
	"fmt"
	"os"
	"time"
)

// scope says what a rescan looks at.
type scope struct {
	names  []string // only these names (the watcher's hints); nil: the whole directory
	reread bool     // read every file, also those whose fingerprint did not move
}

// rescan is the one update path for outside changes: list, scan the files
// in parallel, apply the results to the file states, publish when anything
// changed. It reports whether it published.
func (r *Registry) rescan(sc scope) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	names, err := r.candidates(sc)
	if err != nil {
		r.m.reloads.WithLabelValues("failure").Inc()
		return false, err
	}
	results := make([]scanResult, len(names))
	parallel(len(names), func(i int) {
		results[i] = r.scanFile(names[i], r.states[names[i]], sc.reread)
	})
	changes := r.apply(results, sc.names == nil)
	r.m.reloads.WithLabelValues("success").Inc()
	now := r.now()
	r.lastReload.Store(now.UnixNano())
	r.m.lastReload.Set(float64(now.UnixNano()) / 1e9)
	if len(changes) == 0 && r.snap.Load() != nil {
		return false, nil
	}
	r.publish(changes)
	s := r.Snapshot()
	r.log.Info("providers reloaded", "generation", s.Generation(), "providers", s.Len(),
		"invalid_files", len(s.Invalid()), "changed_files", len(changes), "took", time.Since(start).Round(time.Microsecond))
	return true, nil
}

// candidates returns the names a rescan stats.
func (r *Registry) candidates(sc scope) ([]string, error) {
	if sc.names == nil {
		return listProviderFiles(r.dir)
	}
	if _, err := os.Stat(r.dir); err != nil {
		return nil, fmt.Errorf("read providers directory: %w", err)
	}
	return sc.names, nil
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

// apply records scan results in the file states and returns the changes
// that need a new snapshot. With whole, the results cover the whole
// directory and a known file without a result is gone. Called with r.mu
// held.
func (r *Registry) apply(results []scanResult, whole bool) []change {
	var changes []change
	present := 0
	for _, res := range results {
		old := r.states[res.name]
		switch {
		case res.state == nil && old == nil:
		case res.state == nil:
			delete(r.states, res.name)
			changes = append(changes, change{res.name, old, nil})
		default:
			present++
			r.states[res.name] = res.state
			if res.changed {
				for _, p := range res.state.problems {
					r.log.Warn("invalid provider file", "error", p.Error())
				}
				changes = append(changes, change{res.name, old, res.state})
			}
		}
	}
	if whole && present < len(r.states) {
		changes = r.dropMissing(results, changes)
	}
	return changes
}

// dropMissing removes the states of files a whole-directory rescan did not
// find. Called with r.mu held.
func (r *Registry) dropMissing(results []scanResult, changes []change) []change {
	found := make(map[string]bool, len(results))
	for _, res := range results {
		found[res.name] = res.state != nil
	}
	for name, old := range r.states {
		if !found[name] {
			delete(r.states, name)
			changes = append(changes, change{name, old, nil})
		}
	}
	return changes
}
