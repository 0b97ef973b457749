//go:build !linux

package registry

import "errors"

// saveWatcher would report finished saves and removals; without inotify
// the watcher relies on its quiet window alone.
type saveWatcher struct{}

func newSaveWatcher(string) (*saveWatcher, error) {
	return nil, errors.New("finished-save events need inotify (Linux)")
}

func (*saveWatcher) add(string) error     { return nil }
func (*saveWatcher) run(saveSink, func()) {}
func (*saveWatcher) Close() error         { return nil }
