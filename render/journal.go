package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// journal records an apply that has not finished: the live file was (or
// is about to be) replaced, and no reload of it has succeeded yet. It is
// two files next to the output, so that it survives a crash or a stop:
//
//	.<name>.trunkd.pending  exists while an apply is unfinished
//	.<name>.trunkd.prev     the previous good file (a hard link to it, or a
//	                        copy where links fail), when there was one
//
// The previous good file stays until the journal ends: a rollback that
// fails (a full disk) is repaired on the next attempt.
type journal struct {
	output, marker, prev string
}

func newJournal(output string) journal {
	dir, base := filepath.Split(output)
	return journal{
		output: output,
		marker: filepath.Join(dir, "."+base+".trunkd.pending"),
		prev:   filepath.Join(dir, "."+base+".trunkd.prev"),
	}
}

// pending reports whether an apply is unfinished.
func (j journal) pending() bool {
	_, err := os.Lstat(j.marker)
	return err == nil
}

// begin starts an apply that replaces live. When no apply is unfinished,
// the live file (if any) becomes the previous good file; an unfinished
// apply keeps its previous good file, since the live file was never
// confirmed by a reload.
func (j journal) begin(live liveFile) error {
	if j.pending() {
		return nil
	}
	if err := os.Remove(j.prev); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("journal: remove old previous file: %w", err)
	}
	if live.exists {
		if err := j.keepLive(); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(j.marker, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	f.Close()
	syncDir(j.output)
	return nil
}

// keepLive links the live file to prev, or copies it where links fail.
func (j journal) keepLive() error {
	if os.Link(j.output, j.prev) == nil {
		return nil
	}
	data, err := os.ReadFile(j.output)
	if err != nil {
		return fmt.Errorf("journal: read live file: %w", err)
	}
	info, err := os.Stat(j.output)
	if err != nil {
		return fmt.Errorf("journal: stat live file: %w", err)
	}
	tmp, err := writeCandidate(j.output, data, info.Mode().Perm(), info, info.ModTime())
	if err != nil {
		return fmt.Errorf("journal: copy live file: %w", err)
	}
	if err := os.Rename(tmp, j.prev); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// previous returns the previous good file's bytes and info; an error
// wrapping fs.ErrNotExist when there was none.
func (j journal) previous() ([]byte, os.FileInfo, error) {
	info, err := os.Stat(j.prev)
	if err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(j.prev)
	return data, info, err
}

// end finishes the apply: the engine runs the live file. The directory
// is not synced: a removal lost in a crash only makes the next start
// reload once more, and the next target need not wait for the disk.
func (j journal) end() error {
	for _, name := range []string{j.marker, j.prev} {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("journal: %w", err)
		}
	}
	return nil
}
