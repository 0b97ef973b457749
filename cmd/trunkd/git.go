package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/trunkd/trunkd/api"
	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/registry/cluster"
	"github.com/trunkd/trunkd/registry/gitstore"
)

// follower is the git working copy of the `git:` section and the registry
// that reads it: every time the working copy moves to a new remote head
// the registry rescans at once, without waiting for the watcher.
type follower struct {
	repo   *gitstore.Repo
	reg    atomic.Pointer[registry.Registry] // set once the registry is open
	d      *daemon
	secret []byte // of the forges' push webhooks; nil: none
}

// openGit clones or opens the working copy before the registry. Without a
// `git:` section it returns nil.
func openGit(ctx context.Context, d *daemon) (*follower, error) {
	if d.cfg.Git == nil {
		return nil, nil
	}
	secret, err := webhookSecret(d.cfg.Git.WebhookSecretFile)
	if err != nil {
		return nil, err
	}
	f := &follower{d: d, secret: secret}
	opts := gitstore.Options{
		Logger: d.log.With("component", "git"),
		OnSync: f.rescan,
	}
	if m := d.member; m != nil { // a cluster: writes take its lock and publish their head
		opts.Lock, opts.Pushed = m.lock, m.pushed
	}
	repo, err := gitstore.Open(ctx, d.cfg.Git.Config, opts)
	if err != nil {
		return nil, fmt.Errorf("git: %w", err)
	}
	f.repo = repo
	return f, nil
}

// dir is the directory the registry reads: the providers folder inside
// the working copy (git.path replaces providers_dir), or providersDir
// without a `git:` section.
func (f *follower) dir(providersDir string) string {
	if f == nil {
		return providersDir
	}
	return f.repo.Dir()
}

// rescan reloads the registry after the working copy moved (called by
// gitstore with its lock held, so before any write reads the files).
func (f *follower) rescan(head string) {
	reg := f.reg.Load()
	if reg == nil {
		return // at Open: the registry reads the files when it opens
	}
	if err := reg.Reload(); err != nil {
		f.d.log.Error("rescan of the providers after a git sync failed", "head", head, "error", err)
	}
}

// start lets the registry follow the working copy, runs the follower loop
// until ctx ends and hands the API its writes' committer, the history, the
// trigger and the webhook secret.
func (f *follower) start(ctx context.Context, reg *registry.Registry, opts *api.Options) {
	f.reg.Store(reg)
	c := gitCommitter{repo: f.repo, log: f.d.log, last: &lastChanges{}}
	opts.Commits, opts.History, opts.Changes, opts.Sync, opts.WebhookSecret = c, c, c, f.repo, f.secret
	f.d.goRun("git", func() error { return f.repo.Run(ctx) })
	if m := f.d.member; m != nil { // another node's write: fast-forward at once
		m.followHeads(ctx, f.repo.Trigger)
	}
}

// webhookSecret reads git.webhook_secret_file (empty name: no webhooks).
func webhookSecret(file string) ([]byte, error) {
	if file == "" {
		return nil, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("git.webhook_secret_file: %w", err)
	}
	if secret := bytes.TrimSpace(data); len(secret) > 0 {
		return secret, nil
	}
	return nil, fmt.Errorf("git.webhook_secret_file %s: empty", file)
}

// gitCommitter adapts the working copy to api.Committer: the author of a
// commit is the API token's name, and gitstore's errors become the API's.
type gitCommitter struct {
	repo *gitstore.Repo
	log  *slog.Logger
	last *lastChanges
}

// lastChanges keeps the status page's last commit per file for one head:
// a view then costs one `git rev-parse HEAD` instead of an ls-tree and a
// walk of the log, which it needs only after the working copy moved.
type lastChanges struct {
	mu    sync.Mutex
	head  string
	files map[string]api.Commit // read-only once stored
}

// Commit runs one API write as a commit pushed to the remote.
func (c gitCommitter) Commit(ctx context.Context, author string, apply func(context.Context) (api.Change, error)) error {
	sig := gitstore.Signature{Name: author, Email: author + "@api.trunkd.invalid"}
	_, err := c.repo.Commit(ctx, sig, func(ctx context.Context) (gitstore.Edit, error) {
		ch, err := apply(ctx)
		return gitstore.Edit{Message: ch.Message, Files: ch.Files}, err
	})
	if errors.Is(err, cluster.ErrFenced) {
		c.log.Warn("API write not applied: this cluster node is fenced", "author", author, "error", err)
		return fmt.Errorf("%w: %w", api.ErrFenced, err)
	}
	for _, m := range []struct{ git, api error }{
		{gitstore.ErrUnavailable, api.ErrRemoteUnavailable},
		{gitstore.ErrConflict, api.ErrRemoteMoved},
		{gitstore.ErrDeclined, api.ErrRemoteDeclined},
	} {
		if errors.Is(err, m.git) {
			c.log.Warn("API write not applied: the git remote failed", "author", author, "error", err)
			return fmt.Errorf("%w: %w", m.api, err)
		}
	}
	return err
}

// History lists the commits that touched a provider file.
func (c gitCommitter) History(ctx context.Context, file string, offset, limit int) ([]api.Commit, int, error) {
	entries, total, err := c.repo.History(ctx, file, offset, limit)
	out := make([]api.Commit, len(entries))
	for i, e := range entries {
		out[i] = api.Commit{SHA: e.SHA, Author: e.Author.Name, Time: e.Time, Message: e.Message}
	}
	return out, total, err
}

// LastChanges is the last commit of every provider file, read from git
// again only when the working copy's head moved since the last call.
func (c gitCommitter) LastChanges(ctx context.Context) (map[string]api.Commit, error) {
	head, err := c.repo.Head(ctx)
	if err != nil {
		return nil, err
	}
	c.last.mu.Lock()
	defer c.last.mu.Unlock()
	if c.last.files != nil && c.last.head == head {
		return c.last.files, nil
	}
	last, err := c.repo.LastChanges(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]api.Commit, len(last))
	for file, e := range last {
		out[file] = api.Commit{SHA: e.SHA, Author: e.Author.Name, Time: e.Time, Message: e.Message}
	}
	c.last.head, c.last.files = head, out
	return out, nil
}
