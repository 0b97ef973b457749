package registry

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"syscall"
)

// saveWatcher reports finished changes in one directory: a file closed
// after writing (IN_CLOSE_WRITE) or renamed into it (IN_MOVED_TO), and a
// file removed (IN_DELETE) or renamed away (IN_MOVED_FROM); and when a name
// is being written again (IN_CREATE, or a rename to an editor's backup
// name), which withdraws its removal. fsnotify v1.10.1 keeps its
// close-write op unexported (xUnportableCloseWrite, and withOps to ask for
// it), so this reader reads these events on a second inotify instance, in
// the kernel's order; fsnotify stays the source of every other event, and
// the watcher works without this one (the quiet window only).
type saveWatcher struct {
	f  *os.File // the inotify descriptor, on the runtime poller
	fd int
}

const saveMask = syscall.IN_CLOSE_WRITE | syscall.IN_MOVED_TO | syscall.IN_MOVED_FROM |
	syscall.IN_DELETE | syscall.IN_CREATE | syscall.IN_ONLYDIR

func newSaveWatcher(dir string) (*saveWatcher, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1 (check fs.inotify.max_user_instances): %w", err)
	}
	// Non-blocking, so os.File reads through the poller and Close ends a
	// pending Read. Never call f.Fd(): it would make the descriptor blocking.
	w := &saveWatcher{f: os.NewFile(uintptr(fd), "inotify"), fd: fd}
	if err := w.add(dir); err != nil {
		w.f.Close()
		return nil, err
	}
	return w, nil
}

// add (re-)adds the directory, for example after it was recreated.
func (w *saveWatcher) add(dir string) error {
	if _, err := syscall.InotifyAddWatch(w.fd, dir, saveMask); err != nil {
		return fmt.Errorf("inotify_add_watch %s: %w", dir, err)
	}
	return nil
}

// run reads events until Close and hands each to sink; overflow is
// called when the kernel dropped events.
func (w *saveWatcher) run(sink saveSink, overflow func()) {
	buf := make([]byte, 64*1024)
	var away movedAway
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return // closed
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			cookie := binary.NativeEndian.Uint32(buf[off+8:])
			size := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := buf[off+syscall.SizeofInotifyEvent : min(n, off+syscall.SizeofInotifyEvent+size)]
			off += syscall.SizeofInotifyEvent + size
			switch {
			case mask&syscall.IN_Q_OVERFLOW != 0:
				overflow()
			case mask&syscall.IN_ISDIR == 0:
				away.dispatch(sink, mask, cookie, string(bytes.TrimRight(name, "\x00"))) // NUL-padded
			}
		}
	}
}

// movedAway is the last IN_MOVED_FROM: the kernel queues a rename inside
// the directory as IN_MOVED_FROM and IN_MOVED_TO with one cookie.
type movedAway struct {
	cookie uint32
	name   string
}

// dispatch hands one event on a file to sink. A rename to a name that is
// not a provider file (a.yaml~: vim's and emacs' backup step before they
// write the new file) takes back the removal its IN_MOVED_FROM reported.
func (a *movedAway) dispatch(sink saveSink, mask, cookie uint32, name string) {
	switch {
	case mask&syscall.IN_CLOSE_WRITE != 0:
		sink.saved(name)
	case mask&syscall.IN_MOVED_TO != 0:
		if a.name != "" && cookie == a.cookie && !IsProviderFile(name) {
			sink.reopened(a.name)
		}
		sink.saved(name)
	case mask&syscall.IN_MOVED_FROM != 0:
		a.cookie, a.name = cookie, name
		sink.removed(name)
	case mask&syscall.IN_DELETE != 0:
		sink.removed(name)
	case mask&syscall.IN_CREATE != 0:
		sink.reopened(name)
	}
}

// Close stops run.
func (w *saveWatcher) Close() error { return w.f.Close() }
