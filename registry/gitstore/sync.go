package gitstore

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Run fast-forwards the working copy every poll interval and at once after
// Trigger, until ctx is done. A failed sync is logged and retried at the
// next tick; it never stops the loop.
func (r *Repo) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-r.trigger:
		}
		if err := r.Sync(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("git sync failed, keeping the working copy", "error", err)
		}
	}
}

// Trigger asks Run to sync now (the trigger endpoint and the forges' push
// webhooks call it). It never blocks; triggers during a sync fold into one.
func (r *Repo) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Sync fetches the branch and moves the working copy to the remote's head.
// A remote whose history was rewritten wins as well: the working copy
// always equals the remote.
func (r *Repo) Sync(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.syncLocked(ctx)
}

// syncLocked is Sync with r.mu held.
func (r *Repo) syncLocked(ctx context.Context) error {
	if err := r.fetch(ctx); err != nil {
		return err
	}
	if r.atRemote(ctx) {
		return nil // the common case of a poll: two git commands, nothing written
	}
	return r.resetToRemote(ctx, "sync")
}

// atRemote tells whether HEAD is the fetched remote head.
func (r *Repo) atRemote(ctx context.Context) bool {
	out, err := r.git.run(ctx, "rev-parse", "HEAD", r.remoteRef()+"^{commit}")
	f := strings.Fields(out)
	return err == nil && len(f) == 2 && f[0] == f[1]
}

// remoteRef is the remote-tracking ref of the followed branch.
func (r *Repo) remoteRef() string { return "refs/remotes/origin/" + r.cfg.Branch }

// fetch updates the remote-tracking ref; every failure is ErrUnavailable.
func (r *Repo) fetch(ctx context.Context) error {
	spec := "+refs/heads/" + r.cfg.Branch + ":" + r.remoteRef()
	if _, err := r.git.run(ctx, "fetch", "--quiet", "--no-tags", "origin", spec); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// hasRemoteHead tells whether a remote head was ever fetched.
func (r *Repo) hasRemoteHead(ctx context.Context) bool {
	_, err := r.git.run(ctx, "rev-parse", "--verify", "--quiet", r.remoteRef()+"^{commit}")
	return err == nil
}

// resetToRemote makes the branch, index and files equal the remote-tracking
// ref, dropping local commits and untracked files (ignored files stay), and
// calls OnSync when the head moved.
func (r *Repo) resetToRemote(ctx context.Context, why string) error {
	head, _ := r.git.run(ctx, "rev-parse", "--verify", "--quiet", "HEAD")
	remote, err := r.git.run(ctx, "rev-parse", "--verify", r.remoteRef()+"^{commit}")
	if err != nil {
		return fmt.Errorf("git: no fetched head of branch %s: %w", r.cfg.Branch, err)
	}
	head, remote = strings.TrimSpace(head), strings.TrimSpace(remote)
	if head != remote {
		r.logDropped(ctx, why)
	}
	if _, err := r.git.run(ctx, "checkout", "--quiet", "--force", "-B", r.cfg.Branch, r.remoteRef()); err != nil {
		return err
	}
	if _, err := r.git.run(ctx, "clean", "-d", "--force", "--quiet"); err != nil {
		return err
	}
	if head != remote {
		r.log.Info("git working copy moved", "reason", why, "from", short(head), "to", short(remote))
		if r.opts.OnSync != nil {
			r.opts.OnSync(remote)
		}
	}
	return nil
}

// logDropped warns about local commits the reset drops: writes that were
// committed but never acknowledged.
func (r *Repo) logDropped(ctx context.Context, why string) {
	out, err := r.git.run(ctx, "rev-list", "--count", r.remoteRef()+"..HEAD")
	if n := strings.TrimSpace(out); err == nil && n != "0" {
		r.log.Warn("dropping local commits that are not on the remote", "reason", why, "commits", n)
	}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
