package registry

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// tempMarker is part of every temporary file name the store creates; such a
// file left behind by a crash is hidden (leading dot) and removed on Open.
const tempMarker = ".trunkd-tmp-"

// testHookBeforeRename, when set by a test, runs after the temporary file is
// durable and before it is renamed into place: the crash window.
var testHookBeforeRename func(tmpPath string)

// CreateFile writes the new file dir/name atomically (see writeAtomic); an
// existing dir/name is never touched and the error wraps os.ErrExist.
func CreateFile(dir, name string, data []byte) error { return writeAtomic(dir, name, data, false) }

// ReplaceFile writes dir/name atomically (see writeAtomic), replacing the
// file that is there.
func ReplaceFile(dir, name string, data []byte) error { return writeAtomic(dir, name, data, true) }

// writeAtomic writes dir/name atomically with mode 0600: a hidden temporary
// file in the same directory, fsync, then into place, then fsync of the
// directory. A crash at any point leaves either the old or the new file,
// never a torn one. With replace false an existing dir/name is never
// touched and the error wraps os.ErrExist.
func writeAtomic(dir, name string, data []byte, replace bool) error {
	tmpName, err := stageTemp(dir, name, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmpName) // a no-op once renamed
	if err := place(tmpName, filepath.Join(dir, name), replace); err != nil {
		return fmt.Errorf("put %s in place: %w", name, err)
	}
	return syncDir(dir)
}

// stageTemp writes data to a new hidden temporary file next to dir/name,
// mode 0600, and makes it durable (fsync); it returns the file's path. On
// an error nothing is left behind.
func stageTemp(dir, name string, data []byte) (string, error) {
	tmp, err := os.CreateTemp(dir, "."+name+tempMarker+"*")
	if err != nil {
		return "", fmt.Errorf("create temporary file for %s: %w", name, err)
	}
	fail := func(step string, err error) (string, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", fmt.Errorf("%s %s: %w", step, name, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail("write", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		return fail("chmod", err)
	}
	if err := tmp.Sync(); err != nil {
		return fail("fsync", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("close %s: %w", name, err)
	}
	if testHookBeforeRename != nil {
		testHookBeforeRename(tmp.Name())
	}
	return tmp.Name(), nil
}

// place moves tmp to final: a rename, or without replace a hard link that
// fails when final exists (a check then rename where links are missing).
func place(tmp, final string, replace bool) error {
	if !replace {
		err := os.Link(tmp, final)
		if err == nil || errors.Is(err, os.ErrExist) {
			return err
		}
		if _, statErr := os.Lstat(final); statErr == nil {
			return fmt.Errorf("%s: %w", final, os.ErrExist)
		}
	}
	return os.Rename(tmp, final)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// staleTempAge is how old a temporary file must be before Open removes it:
// a write takes milliseconds, and another process (the daemon, while
// `trunkd render --once` or `trunkd probe` opens the same directory) may be
// in the middle of one.
const staleTempAge = time.Minute

// removeStaleTemps deletes temporary files an interrupted write left behind.
func removeStaleTemps(dir string, now time.Time, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") || !strings.Contains(e.Name(), tempMarker) {
			continue
		}
		if fi, err := e.Info(); err != nil || now.Sub(fi.ModTime()) < staleTempAge {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
			log.Info("removed temporary file left by an interrupted write", "file", e.Name())
		}
	}
}
