package registry

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// tempMarker is part of every temporary file name the store creates; such a
// file left behind by a crash is hidden (leading dot) and removed on Open.
const tempMarker = ".trunkd-tmp-"

// testHookBeforeRename, when set by a test, runs after the temporary file is
// durable and before it is renamed into place: the crash window.
var testHookBeforeRename func(tmpPath string)

// writeFileAtomic replaces dir/name with data: a temporary file in the same
// directory, fsync, mode 0600, rename, fsync of the directory. A crash at
// any point leaves either the old or the new file, never a torn one.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, "."+name+tempMarker+"*")
	if err != nil {
		return fmt.Errorf("create temporary file for %s: %w", name, err)
	}
	tmpName := tmp.Name()
	fail := func(step string, err error) error {
		tmp.Close()
		os.Remove(tmpName)
		return fmt.Errorf("%s %s: %w", step, name, err)
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
		return fail("close", err)
	}
	if testHookBeforeRename != nil {
		testHookBeforeRename(tmpName)
	}
	if err := os.Rename(tmpName, filepath.Join(dir, name)); err != nil {
		os.Remove(tmpName)
		return fmt.Errorf("rename into %s: %w", name, err)
	}
	return syncDir(dir)
}

// removeFileDurable deletes dir/name and makes the removal durable.
func removeFileDurable(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return syncDir(dir)
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

// removeStaleTemps deletes temporary files a crashed write left behind.
func removeStaleTemps(dir string, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), tempMarker) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
				log.Info("removed temporary file left by an interrupted write", "file", e.Name())
			}
		}
	}
}
