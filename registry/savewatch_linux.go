package registry

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"
)

// saveWatcher reports finished saves in one directory: a file closed after
// writing (IN_CLOSE_WRITE) or renamed into it (IN_MOVED_TO). fsnotify
// v1.10.1 keeps its close-write op unexported (xUnportableCloseWrite, and
// withOps to ask for it), so this reader adds just these two events on a
// second inotify instance; fsnotify stays the source of every other event,
// and the watcher works without this one (the quiet window only).
type saveWatcher struct {
	f  *os.File // the inotify descriptor, on the runtime poller
	fd int
}

const saveMask = syscall.IN_CLOSE_WRITE | syscall.IN_MOVED_TO | syscall.IN_ONLYDIR

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

// run reads events until Close: saved gets the name of every finished
// save, overflow is called when the kernel dropped events.
func (w *saveWatcher) run(saved func(name string), overflow func()) {
	buf := make([]byte, 64*1024)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return // closed
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			size := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := buf[off+syscall.SizeofInotifyEvent : min(n, off+syscall.SizeofInotifyEvent+size)]
			off += syscall.SizeofInotifyEvent + size
			switch {
			case mask&syscall.IN_Q_OVERFLOW != 0:
				overflow()
			case mask&(syscall.IN_CLOSE_WRITE|syscall.IN_MOVED_TO) != 0 && mask&syscall.IN_ISDIR == 0:
				saved(cString(name))
			}
		}
	}
}

// cString cuts the NUL padding of an inotify name.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// Close stops run.
func (w *saveWatcher) Close() error { return w.f.Close() }
