package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// Edit is what one write changed: the commit message and the files,
// relative to Dir, that were written or removed.
type Edit struct {
	Message string
	Files   []string
}

// errRejected is a push the remote refused because it moved on.
var errRejected = errors.New("push rejected: the remote has new commits")

// Commit applies one write and makes it durable on the remote before it
// returns: apply writes the files (with the working copy at the remote's
// head) and returns what it changed; Commit commits that with author and
// pushes. When the push is rejected because the remote moved, Commit
// fetches, resets the working copy to the new head and calls apply again,
// at most Options.MaxAttempts times in all; so apply must judge its
// preconditions (If-Match, uniqueness) against the files as they are then.
//
// On every error the working copy is reset to the remote's head, so nothing
// of the write is left: apply's own error is returned as is (wrapped), an
// unreachable remote is ErrUnavailable, a remote that kept moving
// ErrConflict, a push the remote refused ErrDeclined. A write that changes
// nothing makes no commit and returns the current head.
func (r *Repo) Commit(ctx context.Context, author Signature, apply func(ctx context.Context) (Edit, error)) (string, error) {
	if r.opts.Lock != nil {
		unlock, err := r.opts.Lock(ctx)
		if err != nil {
			return "", fmt.Errorf("%w: write lock: %w", ErrUnavailable, err)
		}
		defer unlock()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.opts.Lock != nil {
		if err := r.syncLocked(ctx); err != nil {
			return "", err
		}
	}
	for attempt := 1; ; attempt++ {
		sha, err := r.commitAndPush(ctx, author, apply)
		if err == nil {
			if r.opts.Pushed != nil {
				r.opts.Pushed(ctx, sha)
			}
			return sha, nil
		}
		if errors.Is(err, errRejected) && attempt < r.opts.MaxAttempts {
			r.log.Info("git push rejected, re-applying the write on the new head", "attempt", attempt)
			if err = r.fetch(ctx); err == nil {
				if err = r.resetToRemote(ctx, "push rejected"); err == nil {
					continue
				}
			}
		}
		r.discard(ctx)
		if errors.Is(err, errRejected) {
			err = fmt.Errorf("%w: %d pushes rejected: %w", ErrConflict, attempt, err)
		}
		return "", err
	}
}

// commitAndPush is one attempt of Commit.
func (r *Repo) commitAndPush(ctx context.Context, author Signature, apply func(ctx context.Context) (Edit, error)) (string, error) {
	edit, err := apply(ctx)
	if err != nil {
		return "", err
	}
	changed, err := r.stage(ctx, edit.Files)
	if err != nil {
		return "", err
	}
	if !changed {
		return r.Head(ctx)
	}
	if err := r.commit(ctx, author, edit.Message); err != nil {
		return "", err
	}
	if err := r.push(ctx); err != nil {
		return "", err
	}
	return r.Head(ctx)
}

// stage adds the edit's files (new, changed or removed) to the index and
// tells whether anything is staged.
func (r *Repo) stage(ctx context.Context, files []string) (bool, error) {
	if len(files) == 0 {
		return false, nil
	}
	args := []string{"add", "--all", "--"}
	for _, f := range files {
		p := path.Clean(path.Join(r.cfg.Path, filepath.ToSlash(f)))
		if p == ".." || strings.HasPrefix(p, "../") {
			return false, fmt.Errorf("git add: %s is outside the working copy", f)
		}
		args = append(args, ":(literal)"+p)
	}
	if _, err := r.git.run(ctx, args...); err != nil {
		return false, err
	}
	_, errOut, err := r.git.runSplit(ctx, "diff", "--cached", "--quiet")
	var exit *exec.ExitError
	if err == nil || errors.As(err, &exit) && exit.ExitCode() == 1 {
		return err != nil, nil // exit status 1: something is staged
	}
	return false, fmt.Errorf("git diff --cached: %w: %s", err, strings.TrimSpace(errOut))
}

// commit records the index with author; the committer is the configured
// identity (in the environment of every git command).
func (r *Repo) commit(ctx context.Context, author Signature, message string) error {
	if author.Name == "" {
		author = r.cfg.Committer
	}
	g := r.git
	g.extra = []string{"GIT_AUTHOR_NAME=" + author.Name, "GIT_AUTHOR_EMAIL=" + author.Email}
	_, err := g.run(ctx, "commit", "--quiet", "--no-verify", "--cleanup=strip", "--message", message)
	return err
}

// push pushes HEAD to the branch. git's porcelain output tells a rejected
// ref (the remote moved: errRejected), a refused one (ErrDeclined) and no
// answer at all (ErrUnavailable) apart.
func (r *Repo) push(ctx context.Context) error {
	out, errOut, err := r.git.runSplit(ctx, "push", "--porcelain", "origin", "HEAD:refs/heads/"+r.cfg.Branch)
	if err == nil {
		return nil
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "!") {
			continue
		}
		if strings.Contains(line, "[remote rejected]") && !lostRefRace(line) {
			return fmt.Errorf("%w: %s", ErrDeclined, strings.TrimSpace(line))
		}
		return fmt.Errorf("%w: %s", errRejected, strings.TrimSpace(line))
	}
	return fmt.Errorf("%w: git push: %w: %s", ErrUnavailable, err, strings.TrimSpace(errOut))
}

// lostRefRace tells a remote rejection that only means another push
// updated the branch at the same moment (the remote could not lock or
// compare the ref): the remote moved, so the write is re-applied.
func lostRefRace(line string) bool {
	for _, s := range []string{"failed to update ref", "cannot lock ref", "failed to lock", "incorrect old value"} {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// discard resets the working copy to the last fetched remote head after a
// failed write; a failure here is logged, the next sync repairs it.
func (r *Repo) discard(ctx context.Context) {
	if err := r.resetToRemote(context.WithoutCancel(ctx), "write failed"); err != nil {
		r.log.Error("git: cannot reset the working copy after a failed write", "error", err)
	}
}
