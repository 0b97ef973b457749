package gitstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return string(b)
}

// A human push reaches the working copy at once on Trigger, and by the
// poll loop alone.
func TestFollowsRemoteOnTriggerAndPoll(t *testing.T) {
	for _, tc := range []struct {
		name    string
		poll    time.Duration
		trigger bool
	}{{"trigger", time.Hour, true}, {"poll", 20 * time.Millisecond, false}} {
		t.Run(tc.name, func(t *testing.T) {
			rem := newRemote(t)
			synced := make(chan string, 10)
			r, _ := openRepo(t, rem.url, filepath.Join(t.TempDir(), "wc"), func(c *Config, o *Options) {
				c.Poll = tc.poll
				o.OnSync = func(head string) { synced <- head }
			})
			if got := readFile(t, filepath.Join(r.Dir(), "a.yaml")); got != "code: a\n" {
				t.Fatalf("a.yaml after clone = %q", got)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			defer func() { cancel(); <-done }()

			rem.write(t, "providers/b.yaml", "code: b\n")
			rem.push(t, "add b")
			if tc.trigger {
				r.Trigger()
			}
			select {
			case head := <-synced:
				if head != rem.head(t) {
					t.Errorf("synced to %s, remote is at %s", head, rem.head(t))
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the working copy never synced")
			}
			if got := readFile(t, filepath.Join(r.Dir(), "b.yaml")); got != "code: b\n" {
				t.Errorf("b.yaml = %q", got)
			}
			assertClean(t, r)
		})
	}
}

// A broken .git is cloned anew; a foreign directory is never deleted.
func TestOpenReclonesBrokenWorkdir(t *testing.T) {
	rem := newRemote(t)
	wd := filepath.Join(t.TempDir(), "wc")
	openRepo(t, rem.url, wd, nil)
	if err := os.WriteFile(filepath.Join(wd, ".git", "HEAD"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, log := openRepo(t, rem.url, wd, nil)
	if !strings.Contains(log.String(), "cloning it anew") {
		t.Errorf("no re-clone in the log:\n%s", log)
	}
	if got := readFile(t, filepath.Join(r.Dir(), "a.yaml")); got != "code: a\n" {
		t.Errorf("a.yaml after re-clone = %q", got)
	}
	assertClean(t, r)

	foreign := t.TempDir()
	keep := filepath.Join(foreign, "important.txt")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), Config{Remote: rem.url, Workdir: foreign}, Options{})
	if err == nil || !strings.Contains(err.Error(), "not a git working copy") {
		t.Errorf("Open on a foreign directory: %v", err)
	}
	if readFile(t, keep) != "x" {
		t.Error("Open deleted a foreign directory's file")
	}
}

// With the remote down, start-up uses the existing checkout, reset to the
// last fetched head; without a checkout it fails with ErrUnavailable.
func TestOpenWithRemoteDown(t *testing.T) {
	rem := newRemote(t)
	d := startDaemon(t, filepath.Dir(rem.bare))
	url := d.url("remote.git")
	wd := filepath.Join(t.TempDir(), "wc")
	r, _ := openRepo(t, url, wd, nil)
	head, _ := r.Head(context.Background())
	// A commit that was never pushed, and a stray file.
	if err := os.WriteFile(filepath.Join(r.Dir(), "a.yaml"), []byte("code: half\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, wd, "commit", "--quiet", "-am", "never pushed")
	if err := os.WriteFile(filepath.Join(r.Dir(), "stray.yaml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	d.setMode(refuse)
	r, log := openRepo(t, url, wd, nil)
	if !strings.Contains(log.String(), "unreachable at start") {
		t.Errorf("no warning about the unreachable remote:\n%s", log)
	}
	if got, _ := r.Head(context.Background()); got != head {
		t.Errorf("HEAD = %s, want the last fetched %s", got, head)
	}
	if got := readFile(t, filepath.Join(r.Dir(), "a.yaml")); got != "code: a\n" {
		t.Errorf("a.yaml = %q, the unpushed change stayed", got)
	}
	assertClean(t, r)

	_, err := Open(context.Background(), Config{Remote: url, Workdir: filepath.Join(t.TempDir(), "new")}, Options{})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Open without checkout and remote: %v, want ErrUnavailable", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string // "" = valid
	}{
		{Config{Remote: "file:///srv/r.git", Workdir: "w"}, ""},
		{Config{Remote: "git@example.org:o/r.git", Workdir: "w"}, "git.ssh_key_file, git.known_hosts_file"},
		{Config{Remote: "ssh://git@example.org/o/r.git", Workdir: "w", SSHKeyFile: "k", KnownHostsFile: "kh"}, ""},
		{Config{Remote: "https://example.org/o/r.git", Workdir: "w"}, "git.token_file"},
		{Config{Remote: "http://example.org/o/r.git", Workdir: "w"}, "plain http"},
		{Config{Remote: "file:///r", Workdir: "w", Path: "../x"}, "git.path"},
		{Config{Remote: "file:///r", Workdir: "w", Branch: "--upload-pack=x"}, "git.branch"},
		{Config{}, "git.remote: required"},
	} {
		err := tc.cfg.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// The token reaches git as a header from the environment, never as an
// argument, and is re-read from its file.
func TestTokenHeader(t *testing.T) {
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := gitCmd{cfg: Config{Remote: "https://example.org/r.git", TokenFile: f}.withDefaults()}
	cmd, err := g.command(context.Background(), []string{"fetch"})
	if err != nil {
		t.Fatal(err)
	}
	env := cmd.Env
	// A local command neither reads the token file nor gets the header.
	g.cfg.TokenFile = filepath.Join(t.TempDir(), "gone")
	local, err := g.command(context.Background(), []string{"rev-parse"})
	if err != nil {
		t.Fatalf("a local command read the token file: %v", err)
	}
	for _, e := range local.Env {
		if strings.HasPrefix(e, "GIT_CONFIG_VALUE_0=") {
			t.Errorf("a local command got the credentials: %q", e)
		}
	}
	// base64("x-access-token:s3cret")
	want := "GIT_CONFIG_VALUE_0=Authorization: Basic eC1hY2Nlc3MtdG9rZW46czNjcmV0"
	found := false
	for _, e := range env {
		found = found || e == want
	}
	if !found {
		t.Errorf("no %q in the environment", want)
	}
	if got := sshCommand(Config{SSHKeyFile: "/k/it's", KnownHostsFile: "/kh"}); !strings.Contains(got, `-i '/k/it'\''s'`) ||
		!strings.Contains(got, "StrictHostKeyChecking=yes") {
		t.Errorf("sshCommand = %s", got)
	}
}
