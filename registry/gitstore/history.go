package gitstore

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LogEntry is one commit that touched a file.
type LogEntry struct {
	SHA     string
	Author  Signature
	Time    time.Time // author time
	Message string    // the full message, trailing newlines trimmed
}

// History lists the commits of the checked-out branch that touched file
// (relative to Dir), newest first, skipping offset and returning at most
// limit entries (limit 0: all). total is the number of such commits. It
// reads only, so it never waits for a push in progress.
func (r *Repo) History(ctx context.Context, file string, offset, limit int) (entries []LogEntry, total int, err error) {
	if offset < 0 || limit < 0 {
		return nil, 0, fmt.Errorf("git history: offset and limit must not be negative")
	}
	p := ":(literal)" + path.Clean(path.Join(r.cfg.Path, filepath.ToSlash(file)))
	out, err := r.git.run(ctx, "rev-list", "--count", "HEAD", "--", p)
	if err != nil {
		return nil, 0, err
	}
	if total, err = strconv.Atoi(strings.TrimSpace(out)); err != nil {
		return nil, 0, fmt.Errorf("git rev-list --count: %q: %w", out, err)
	}
	args := []string{"log", "--format=%H%x1f%an%x1f%ae%x1f%aI%x1f%B%x1e", "--skip=" + strconv.Itoa(offset)}
	if limit > 0 {
		args = append(args, "--max-count="+strconv.Itoa(limit))
	}
	out, err = r.git.run(ctx, append(args, "HEAD", "--", p)...)
	if err != nil {
		return nil, 0, err
	}
	entries, err = parseLog(out)
	return entries, total, err
}

// parseLog reads the records of History's log format.
func parseLog(out string) ([]LogEntry, error) {
	var entries []LogEntry
	for _, rec := range strings.Split(out, "\x1e") {
		rec = strings.TrimLeft(rec, "\n")
		if rec == "" {
			continue
		}
		f := strings.SplitN(rec, "\x1f", 5)
		if len(f) != 5 {
			return nil, fmt.Errorf("git log: malformed record %q", rec)
		}
		t, err := time.Parse(time.RFC3339, f[3])
		if err != nil {
			return nil, fmt.Errorf("git log: commit %s: %w", f[0], err)
		}
		entries = append(entries, LogEntry{
			SHA: f[0], Author: Signature{Name: f[1], Email: f[2]}, Time: t,
			Message: strings.TrimRight(f[4], "\n"),
		})
	}
	return entries, nil
}
