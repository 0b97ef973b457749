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

// LastChanges returns, for every file directly in Dir at HEAD, the last
// commit that touched it (the status page's "last change" and author) in
// one pass over the history, which stops as soon as every file is found.
func (r *Repo) LastChanges(ctx context.Context) (map[string]LogEntry, error) {
	dir := path.Clean(r.cfg.Path)
	args := []string{"-c", "core.quotePath=false", "ls-tree", "HEAD"}
	if dir != "." {
		args = append(args, dir+"/")
	}
	out, err := r.git.run(ctx, args...)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if meta, name, ok := strings.Cut(line, "\t"); ok && strings.Contains(meta, " blob ") {
			want[path.Base(name)] = true
		}
	}
	found := make(map[string]LogEntry, len(want))
	if len(want) == 0 {
		return found, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends git log once every file is found
	return found, r.git.stream(ctx, func(rec string) bool {
		entry, names, err := parseLastChange(rec)
		for _, n := range names {
			if path.Dir(n) == dir && want[path.Base(n)] {
				if _, seen := found[path.Base(n)]; !seen && err == nil {
					found[path.Base(n)] = entry
				}
			}
		}
		return len(found) < len(want)
	}, "-c", "core.quotePath=false", "log", "--format=%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%B%x1f", "--name-only", "--no-renames", "HEAD", "--", dirSpec(dir))
}

// dirSpec is the pathspec of the files directly in dir.
func dirSpec(dir string) string {
	if dir == "." {
		return ":(glob)*"
	}
	return ":(glob)" + dir + "/*"
}

// parseLastChange reads one record of LastChanges' log: the commit and the
// names of the files it touched.
func parseLastChange(rec string) (LogEntry, []string, error) {
	i := strings.LastIndex(rec, "\x1f")
	if i < 0 {
		return LogEntry{}, nil, fmt.Errorf("git log: malformed record %q", rec)
	}
	entries, err := parseLog(rec[:i])
	if err != nil || len(entries) != 1 {
		return LogEntry{}, nil, fmt.Errorf("git log: malformed record %q", rec)
	}
	return entries[0], strings.Fields(rec[i+1:]), nil
}
