package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// A write is one commit on the remote (over git daemon) with the given
// author and the configured committer before Commit returns.
func TestCommitPushes(t *testing.T) {
	rem := newRemote(t)
	d := startDaemon(t, filepath.Dir(rem.bare))
	r, _ := openRepo(t, d.url("remote.git"), filepath.Join(t.TempDir(), "wc"), nil)
	ops := Signature{Name: "ops", Email: "ops@trunkd"}
	sha, err := r.Commit(context.Background(), ops, writeFile(r, "b.yaml", "code: b\n", "create b"))
	if err != nil {
		t.Fatal(err)
	}
	if got := rem.head(t); got != sha {
		t.Fatalf("remote head %s, Commit returned %s", got, sha)
	}
	if got := gitRun(t, rem.bare, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", "main"); got != "ops <ops@trunkd>|trunkd <trunkd@example.org>|create b" {
		t.Errorf("commit = %q", got)
	}
	if got := rem.show(t, "providers/b.yaml"); got != "code: b" {
		t.Errorf("remote b.yaml = %q", got)
	}
	assertClean(t, r)

	// A write that changes nothing makes no commit; a removal is a commit.
	if again, err := r.Commit(context.Background(), ops, writeFile(r, "b.yaml", "code: b\n", "no-op")); err != nil || again != sha {
		t.Errorf("no-op write: %s, %v; want %s", again, err, sha)
	}
	remove := func(context.Context) (Edit, error) {
		return Edit{Message: "delete b", Files: []string{"b.yaml"}}, os.Remove(filepath.Join(r.Dir(), "b.yaml"))
	}
	if _, err := r.Commit(context.Background(), ops, remove); err != nil {
		t.Fatal(err)
	}
	if _, err := gitTry(rem.bare, "cat-file", "-e", "main:providers/b.yaml"); err == nil {
		t.Error("b.yaml still on the remote after the removal")
	}
}

// A human pushes between our commit and our push: the push is rejected,
// the write is applied again on the human's head, and both are kept.
func TestCommitReappliesOnNewHead(t *testing.T) {
	rem := newRemote(t)
	r, _ := openRepo(t, rem.url, filepath.Join(t.TempDir(), "wc"), nil)
	var seen []string
	calls := 0
	apply := func(ctx context.Context) (Edit, error) {
		calls++
		seen = append(seen, readFile(t, filepath.Join(r.Dir(), "a.yaml")))
		if calls == 1 { // the human wins the race
			rem.write(t, "providers/a.yaml", "code: a\nhuman: 1\n")
			rem.push(t, "human edit")
		}
		return writeFile(r, "b.yaml", "code: b\n", "create b")(ctx)
	}
	if _, err := r.Commit(context.Background(), Signature{Name: "ops"}, apply); err != nil {
		t.Fatal(err)
	}
	if calls != 2 || seen[1] != "code: a\nhuman: 1\n" {
		t.Errorf("apply calls %d, saw a.yaml %q; want the second call on the human's head", calls, seen)
	}
	if got := gitRun(t, rem.bare, "log", "--format=%s", "main"); got != "create b\nhuman edit\nseed" {
		t.Errorf("remote log:\n%s", got)
	}
	assertClean(t, r)
}

// A remote that moves before every push ends in ErrConflict after
// MaxAttempts, with nothing left of the write.
func TestCommitConflictAfterMaxAttempts(t *testing.T) {
	rem := newRemote(t)
	r, _ := openRepo(t, rem.url, filepath.Join(t.TempDir(), "wc"), func(_ *Config, o *Options) { o.MaxAttempts = 3 })
	calls := 0
	apply := func(ctx context.Context) (Edit, error) {
		calls++
		rem.write(t, "providers/h.yaml", fmt.Sprintf("n: %d\n", calls))
		rem.push(t, "human")
		return writeFile(r, "b.yaml", "code: b\n", "create b")(ctx)
	}
	_, err := r.Commit(context.Background(), Signature{Name: "ops"}, apply)
	if !errors.Is(err, ErrConflict) || calls != 3 {
		t.Fatalf("Commit = %v after %d calls, want ErrConflict after 3", err, calls)
	}
	if _, err := os.Stat(filepath.Join(r.Dir(), "b.yaml")); err == nil {
		t.Error("b.yaml left in the working copy")
	}
	assertClean(t, r)

	// apply's own error passes through, and nothing of it stays.
	bad := errors.New("if-match failed")
	_, err = r.Commit(context.Background(), Signature{Name: "ops"}, func(ctx context.Context) (Edit, error) {
		_, _ = writeFile(r, "c.yaml", "x", "c")(ctx)
		return Edit{}, bad
	})
	if !errors.Is(err, bad) {
		t.Errorf("Commit = %v, want apply's error", err)
	}
	assertClean(t, r)
}

// Remote down (git daemon refusing connections): the write answers
// ErrUnavailable, the working copy equals the remote, and writes work again
// by themselves once it is back.
func TestCommitRemoteDown(t *testing.T) {
	rem := newRemote(t)
	d := startDaemon(t, filepath.Dir(rem.bare))
	r, _ := openRepo(t, d.url("remote.git"), filepath.Join(t.TempDir(), "wc"), nil)
	before := rem.head(t)
	d.setMode(refuse)
	_, err := r.Commit(context.Background(), Signature{Name: "ops"}, writeFile(r, "b.yaml", "code: b\n", "create b"))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Commit with the remote down = %v, want ErrUnavailable", err)
	}
	if _, err := os.Stat(filepath.Join(r.Dir(), "b.yaml")); err == nil {
		t.Error("b.yaml left in the working copy")
	}
	assertClean(t, r)
	if got := rem.head(t); got != before {
		t.Errorf("remote moved to %s", got)
	}
	if err := r.Sync(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Sync with the remote down = %v, want ErrUnavailable", err)
	}

	d.setMode(serve)
	sha, err := r.Commit(context.Background(), Signature{Name: "ops"}, writeFile(r, "b.yaml", "code: b\n", "create b"))
	if err != nil || rem.head(t) != sha {
		t.Fatalf("Commit after the remote came back = %s, %v (remote %s)", sha, err, rem.head(t))
	}
}

// Our writes and a human's pushes at the same time: every acknowledged
// write and every human commit is on the remote.
func TestCommitConcurrentWithHuman(t *testing.T) {
	rem := newRemote(t)
	r, _ := openRepo(t, rem.url, filepath.Join(t.TempDir(), "wc"), func(_ *Config, o *Options) { o.MaxAttempts = 50 })
	const n = 15
	var wg sync.WaitGroup
	wg.Add(2)
	errs := make(chan error, n)
	go func() {
		defer wg.Done()
		for i := range n {
			name := fmt.Sprintf("api-%d.yaml", i)
			_, err := r.Commit(context.Background(), Signature{Name: "ops"}, writeFile(r, name, "x\n", "api "+name))
			errs <- err
		}
	}()
	go func() {
		defer wg.Done()
		for i := range n {
			rem.write(t, fmt.Sprintf("providers/human-%d.yaml", i), "y\n")
			rem.push(t, fmt.Sprintf("human %d", i))
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("write: %v", err)
		}
	}
	files := gitRun(t, rem.bare, "ls-tree", "--name-only", "main", "providers/")
	for i := range n {
		for _, f := range []string{"api", "human"} {
			if name := fmt.Sprintf("providers/%s-%d.yaml", f, i); !strings.Contains(files, name+"\n") && !strings.HasSuffix(files, name) {
				t.Errorf("%s missing on the remote", name)
			}
		}
	}
	if got := strings.Count(gitRun(t, rem.bare, "log", "--format=%an", "main"), "ops"); got != n {
		t.Errorf("%d commits by ops on the remote, want %d", got, n)
	}
}

// A remote that lost a ref-lock race moved on; a hook or a protected
// branch declines for good.
func TestLostRefRace(t *testing.T) {
	for line, want := range map[string]bool{
		"!\tHEAD:refs/heads/main\t[remote rejected] (failed to update ref)":           true,
		"!\tHEAD:refs/heads/main\t[remote rejected] (cannot lock ref 'x')":            true,
		"!\tHEAD:refs/heads/main\t[remote rejected] (pre-receive hook declined)":      false,
		"!\tHEAD:refs/heads/main\t[remote rejected] (protected branch hook declined)": false,
	} {
		if got := lostRefRace(line); got != want {
			t.Errorf("lostRefRace(%q) = %v", line, got)
		}
	}
}
