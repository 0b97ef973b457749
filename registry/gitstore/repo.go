package gitstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Sentinel errors callers branch on (the API maps them to HTTP statuses).
var (
	// ErrUnavailable: the remote could not be reached (network, DNS,
	// authentication, missing repository). The working copy equals the
	// last known remote head; nothing of the failed write is left.
	ErrUnavailable = errors.New("git remote unavailable")
	// ErrConflict: every push of a write was rejected because the remote
	// kept moving, or re-applying the write on the new head failed.
	ErrConflict = errors.New("git remote kept moving")
	// ErrDeclined: the remote refused the push for a reason of its own (a
	// protected branch, a hook); retrying does not help.
	ErrDeclined = errors.New("git remote declined the push")
)

// Options tune a Repo; the zero value is usable.
type Options struct {
	// Logger receives the follower's events; nil means slog.Default().
	Logger *slog.Logger
	// MaxAttempts bounds the pushes of one Commit (default 5).
	MaxAttempts int
	// OnSync, when set, is called with the lock held each time the working
	// copy moved to a new remote head (poll, trigger, or the fetch before a
	// re-apply), before anything else touches the working copy, so that the
	// caller can reload what it read from the files.
	OnSync func(head string)
	// Lock, when set, is taken around every Commit before anything else
	// (a cluster's write lock held by one node at a time); the working
	// copy is then moved to the remote's head before apply runs, so the
	// push is not rejected by another node's write. An error of Lock fails
	// the write with ErrUnavailable before anything is applied.
	Lock func(ctx context.Context) (unlock func(), err error)
	// Pushed, when set, is called with the new head after a write's push
	// succeeded, still inside Lock (a cluster publishes the head there, so
	// the other nodes fast-forward at once).
	Pushed func(ctx context.Context, head string)
}

// Repo is the working copy trunkd owns. Every method is safe for concurrent
// use; whatever changes the working copy runs one at a time.
type Repo struct {
	cfg     Config
	opts    Options
	git     gitCmd
	log     *slog.Logger
	mu      sync.Mutex
	trigger chan struct{}
}

// Open clones the remote into cfg.Workdir, or opens the working copy that
// is there, and resets it to the remote's branch: unpushed local commits
// (a crash between commit and push) and stray changes are dropped. A
// missing or broken working copy is cloned anew. When the remote cannot be
// reached, a usable working copy is reset to the last fetched remote head
// and Open succeeds; without one it fails with ErrUnavailable.
func Open(ctx context.Context, cfg Config, opts Options) (*Repo, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	abs, err := filepath.Abs(cfg.Workdir)
	if err != nil {
		return nil, fmt.Errorf("git.workdir: %w", err)
	}
	cfg.Workdir = abs
	r := &Repo{cfg: cfg, opts: opts.withDefaults(), trigger: make(chan struct{}, 1)}
	r.log = r.opts.Logger.With("workdir", abs)
	r.git = gitCmd{dir: abs, cfg: cfg}
	if err := r.prepare(ctx); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.Dir(), 0o755); err != nil {
		return nil, fmt.Errorf("git.path: %w", err)
	}
	return r, nil
}

func (o Options) withDefaults() Options {
	o.Logger = cmp.Or(o.Logger, slog.Default())
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	return o
}

// Dir is the providers folder inside the working copy: the directory the
// registry reads and writes.
func (r *Repo) Dir() string { return filepath.Join(r.cfg.Workdir, filepath.FromSlash(r.cfg.Path)) }

// Head returns the commit the working copy is at.
func (r *Repo) Head(ctx context.Context) (string, error) {
	out, err := r.git.run(ctx, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

// prepare makes the working copy usable and equal to the remote.
func (r *Repo) prepare(ctx context.Context) error {
	switch state, why := r.inspect(ctx); state {
	case missing:
		return r.clone(ctx)
	case broken:
		r.log.Warn("git working copy is broken, cloning it anew", "error", why)
		return r.clone(ctx)
	case foreign:
		return fmt.Errorf("git.workdir %s: %w; refusing to overwrite it", r.cfg.Workdir, why)
	}
	r.removeStaleLocks()
	if _, err := r.git.run(ctx, "remote", "set-url", "origin", r.cfg.Remote); err != nil {
		return fmt.Errorf("git working copy %s: %w", r.cfg.Workdir, err)
	}
	if err := r.fetch(ctx); err != nil {
		if !r.hasRemoteHead(ctx) {
			return err
		}
		r.log.Warn("git remote unreachable at start, using the last fetched head", "error", err)
	}
	return r.resetToRemote(ctx, "start")
}

// workdirState is what inspect found at the workdir.
type workdirState int

const (
	usable workdirState = iota
	missing
	broken
	foreign
)

// inspect classifies the workdir. A directory that is not empty and holds
// no .git is foreign: it is never deleted.
func (r *Repo) inspect(ctx context.Context) (workdirState, error) {
	entries, err := os.ReadDir(r.cfg.Workdir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return missing, nil
	}
	if err != nil {
		return foreign, err
	}
	if _, err := os.Lstat(filepath.Join(r.cfg.Workdir, ".git")); err != nil {
		return foreign, errors.New("not empty and not a git working copy")
	}
	top, err := r.git.run(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return broken, err
	}
	if filepath.Clean(strings.TrimSpace(top)) != r.cfg.Workdir {
		return broken, fmt.Errorf("its .git belongs to %s", strings.TrimSpace(top))
	}
	for _, check := range [][]string{{"rev-parse", "--verify", "HEAD^{commit}"}, {"status", "--porcelain"}} {
		if _, err := r.git.run(ctx, check...); err != nil {
			return broken, err
		}
	}
	return usable, nil
}

// clone clones into a sibling folder and then replaces the workdir, so
// that a failed clone leaves whatever was there.
func (r *Repo) clone(ctx context.Context) error {
	parent := filepath.Dir(r.cfg.Workdir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("git.workdir: %w", err)
	}
	tmp := r.cfg.Workdir + ".cloning"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("git clone: remove leftover %s: %w", tmp, err)
	}
	g := r.git
	g.dir = parent
	if _, err := g.run(ctx, "clone", "--quiet", "--single-branch", "--branch", r.cfg.Branch, "--", r.cfg.Remote, tmp); err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err := os.RemoveAll(r.cfg.Workdir); err != nil {
		return fmt.Errorf("git clone: remove broken %s: %w", r.cfg.Workdir, err)
	}
	if err := os.Rename(tmp, r.cfg.Workdir); err != nil {
		return fmt.Errorf("git clone: %w", err)
	}
	r.log.Info("git working copy cloned", "remote", r.cfg.Remote, "branch", r.cfg.Branch)
	return nil
}

// removeStaleLocks deletes the lock files a killed git leaves behind; at
// Open nothing else runs git in the workdir (one trunkd per workdir).
func (r *Repo) removeStaleLocks() {
	gitDir := filepath.Join(r.cfg.Workdir, ".git")
	_ = filepath.WalkDir(gitDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || (d.IsDir() && d.Name() == "objects") {
			return fs.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".lock") {
			r.log.Warn("removing stale git lock file", "file", p)
			_ = os.Remove(p)
		}
		return nil
	})
}
