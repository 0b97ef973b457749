package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// liveFile is the output file as found before an apply.
type liveFile struct {
	exists bool
	data   []byte
	info   os.FileInfo
}

// mtime is the live file's mtime, zero when there is none.
func (l liveFile) mtime() time.Time {
	if !l.exists {
		return time.Time{}
	}
	return l.info.ModTime()
}

// readLive reads the target's output file into the target's read buffer
// (a new one of many megabytes per apply made BenchmarkApplyOneChange10k
// slower, see the package doc); a missing file is not an error. The data
// is valid until the next readLive and must be copied to be kept.
func (t *target) readLive() (liveFile, error) {
	f, err := os.Open(t.cfg.Output)
	if errors.Is(err, fs.ErrNotExist) {
		return liveFile{}, nil
	}
	if err != nil {
		return liveFile{}, fmt.Errorf("read live file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return liveFile{}, fmt.Errorf("stat live file: %w", err)
	}
	buf := bytes.NewBuffer(t.liveBuf[:0])
	buf.Grow(int(info.Size()) + bytes.MinRead)
	if _, err := buf.ReadFrom(f); err != nil {
		return liveFile{}, fmt.Errorf("read live file: %w", err)
	}
	t.liveBuf = buf.Bytes()
	return liveFile{exists: true, data: t.liveBuf, info: info}, nil
}

// mtimeAfter returns a whole-second time that is now, or one second past
// prev when now is not later in whole seconds: Kamailio's db_text re-reads
// a table only when st_mtime (seconds) grew.
func mtimeAfter(prev, now time.Time) time.Time {
	sec := now.Unix()
	if !prev.IsZero() && sec <= prev.Unix() {
		sec = prev.Unix() + 1
	}
	return time.Unix(sec, 0)
}

// writeCandidate writes data to a new hidden file next to output with the
// given mode, the owner of like (when set and running as root) and mtime,
// and returns its name. Engines that include "*.xml" or "*.conf" do not
// match the hidden name. On failure no candidate is left behind.
func writeCandidate(output string, data []byte, mode os.FileMode, like os.FileInfo, mtime time.Time) (string, error) {
	f, err := createCandidate(output)
	if err != nil {
		return "", err
	}
	err = fillCandidate(f, data, mode, like)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close candidate file: %w", cerr)
	}
	if err == nil {
		if err = os.Chtimes(f.Name(), mtime, mtime); err != nil {
			err = fmt.Errorf("set candidate mtime: %w", err)
		}
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// createCandidate creates the candidate file next to output (and
// output's directory when it is missing).
func createCandidate(output string) (*os.File, error) {
	dir, base := filepath.Split(output)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+base+".trunkd-*")
	if err != nil {
		return nil, fmt.Errorf("create candidate file: %w", err)
	}
	return f, nil
}

// fillCandidate sets the candidate's mode and owner, writes data and
// syncs it to disk.
func fillCandidate(f *os.File, data []byte, mode os.FileMode, like os.FileInfo) error {
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("set candidate mode: %w", err)
	}
	if like != nil {
		if err := copyOwner(f.Name(), like); err != nil {
			return fmt.Errorf("set candidate owner: %w", err)
		}
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write candidate file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync candidate file: %w", err)
	}
	return nil
}

// candidatePattern is the name pattern of candidate files next to output.
func candidatePattern(output string) string {
	dir, base := filepath.Split(output)
	return filepath.Join(dir, "."+base+".trunkd-*")
}

// removeStaleCandidates deletes candidates a crashed daemon left next to
// output, and returns their names.
func removeStaleCandidates(output string) []string {
	stale, _ := filepath.Glob(candidatePattern(output))
	var removed []string
	for _, f := range stale {
		if err := os.Remove(f); err == nil {
			removed = append(removed, f)
		}
	}
	return removed
}

// renameInto renames candidate over output atomically and syncs the
// directory so the rename survives a crash.
func renameInto(candidate, output string) error {
	if err := os.Rename(candidate, output); err != nil {
		os.Remove(candidate)
		return fmt.Errorf("replace live file: %w", err)
	}
	syncDir(output)
	return nil
}

// syncDir syncs the directory of path, so that renames and new names in
// it survive a crash. Best effort: some file systems cannot sync a
// directory, and the rename itself has happened.
func syncDir(path string) {
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
