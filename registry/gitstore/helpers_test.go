package gitstore

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// requireGit skips outside CI when git is missing and fails in CI.
func requireGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("git is required (apt-get install git)")
		}
		t.Skip("git not installed")
	}
}

// lockedBuffer collects a test's logs; printed when the test fails.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testLogger returns a logger whose output the test prints when it fails.
func testLogger(t testing.TB, name string) (*slog.Logger, *lockedBuffer) {
	buf := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log:\n%s", name, buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// gitRun runs the real git CLI as a human would, in dir.
func gitRun(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := gitTry(dir, args...)
	if err != nil {
		t.Fatalf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return strings.TrimSpace(out)
}

func gitTry(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Human", "GIT_AUTHOR_EMAIL=human@example.org",
		"GIT_COMMITTER_NAME=Human", "GIT_COMMITTER_EMAIL=human@example.org")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// remote is a bare repository with a seeded main branch, and the human's
// clone of it.
type remote struct {
	bare  string // path of the bare repository
	url   string // file:// URL
	human string // the human's working copy
}

// newRemote creates a bare repository whose main branch holds
// providers/a.yaml, pushed by the human.
func newRemote(t testing.TB) *remote {
	t.Helper()
	requireGit(t)
	root := t.TempDir()
	r := &remote{bare: filepath.Join(root, "remote.git"), human: filepath.Join(root, "human")}
	r.url = "file://" + r.bare
	gitRun(t, root, "init", "--quiet", "--bare", "--initial-branch=main", r.bare)
	gitRun(t, root, "clone", "--quiet", r.url, r.human)
	gitRun(t, r.human, "checkout", "--quiet", "-b", "main")
	r.write(t, "providers/a.yaml", "code: a\n")
	r.push(t, "seed")
	return r
}

// write writes a file in the human's working copy.
func (r *remote) write(t testing.TB, name, content string) {
	t.Helper()
	p := filepath.Join(r.human, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// push commits everything in the human's copy and pushes, rebasing onto
// the remote as often as a concurrent writer makes it necessary.
func (r *remote) push(t testing.TB, msg string) {
	t.Helper()
	gitRun(t, r.human, "add", "--all")
	gitRun(t, r.human, "commit", "--quiet", "-m", msg)
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := gitTry(r.human, "push", "--quiet", "origin", "HEAD:refs/heads/main")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("human push kept failing: %v\n%s", err, out)
		}
		gitRun(t, r.human, "pull", "--quiet", "--rebase", "origin", "main")
	}
}

// head is the remote's main branch.
func (r *remote) head(t testing.TB) string {
	t.Helper()
	return gitRun(t, r.bare, "rev-parse", "refs/heads/main")
}

// show is a file's content at the remote's head.
func (r *remote) show(t testing.TB, name string) string {
	t.Helper()
	return gitRun(t, r.bare, "show", "main:"+name)
}

// daemonMode is how the loopback git daemon treats new connections.
type daemonMode int

const (
	serve  daemonMode = iota // hand the connection to git daemon --inetd
	refuse                   // close it at once: the remote is down
	hang                     // hold it open without an answer
)

// gitDaemon is a real server of git over a loopback listener with an
// ephemeral port, in inetd style: one process per accepted connection,
// the connection as its standard input and output (`git daemon --inetd`,
// `sshd -i`). The test switches it between serving, refusing and hanging.
type gitDaemon struct {
	ln      net.Listener
	scheme  string // "git://" or "ssh://user@"
	command func() *exec.Cmd
	log     *lockedBuffer
	mu      sync.Mutex
	mode    daemonMode
	held    []net.Conn
	wg      sync.WaitGroup
}

// startDaemon serves the bare repositories below base with git daemon; the
// URL of base/NAME is d.url(NAME).
func startDaemon(t testing.TB, base string) *gitDaemon {
	return startInetd(t, "git://", func() *exec.Cmd {
		return exec.Command("git", "daemon", "--inetd", "--export-all", "--enable=receive-pack",
			"--log-destination=stderr", "--verbose", "--base-path="+base, base)
	})
}

// startInetd runs command for every connection of a new loopback listener.
func startInetd(t testing.TB, scheme string, command func() *exec.Cmd) *gitDaemon {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &gitDaemon{ln: ln, scheme: scheme, command: command, log: &lockedBuffer{}}
	d.wg.Add(1)
	go d.accept()
	t.Cleanup(func() {
		d.close()
		if t.Failed() {
			t.Logf("%sserver log:\n%s", scheme, d.log.String())
		}
	})
	return d
}

func (d *gitDaemon) url(path string) string {
	return d.scheme + d.ln.Addr().String() + "/" + strings.TrimPrefix(path, "/")
}

func (d *gitDaemon) setMode(m daemonMode) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mode = m
	if m != hang {
		for _, c := range d.held {
			c.Close()
		}
		d.held = nil
	}
}

// heldConns counts the connections held in hang mode.
func (d *gitDaemon) heldConns() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.held)
}

func (d *gitDaemon) accept() {
	defer d.wg.Done()
	for {
		c, err := d.ln.Accept()
		if err != nil {
			return
		}
		d.mu.Lock()
		mode := d.mode
		if mode == hang {
			d.held = append(d.held, c)
		}
		d.mu.Unlock()
		switch mode {
		case refuse:
			c.Close()
		case serve:
			d.wg.Add(1)
			go d.serve(c)
		}
	}
}

func (d *gitDaemon) serve(c net.Conn) {
	defer d.wg.Done()
	defer c.Close()
	cmd := d.command()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c, c, d.log
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		io.WriteString(d.log, cmd.Path+": "+err.Error()+"\n")
	}
}

func (d *gitDaemon) close() {
	d.ln.Close()
	d.setMode(refuse)
	d.wg.Wait()
}

// waitFor polls cond until it holds or the deadline passes; it never
// depends on how fast the machine is, only on the condition.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// openRepo opens a Repo on url with a test logger.
func openRepo(t testing.TB, url, workdir string, mod func(*Config, *Options)) (*Repo, *lockedBuffer) {
	t.Helper()
	log, buf := testLogger(t, "gitstore")
	cfg := Config{Remote: url, Branch: "main", Path: "providers", Workdir: workdir,
		Committer: Signature{Name: "trunkd", Email: "trunkd@example.org"}}
	opts := Options{Logger: log}
	if mod != nil {
		mod(&cfg, &opts)
	}
	r, err := Open(context.Background(), cfg, opts)
	if err != nil {
		t.Fatalf("Open: %v\n%s", err, buf.String())
	}
	return r, buf
}

// writeFile is the apply step of a test write: it writes one provider file.
func writeFile(r *Repo, name, content, msg string) func(context.Context) (Edit, error) {
	return func(context.Context) (Edit, error) {
		err := os.WriteFile(filepath.Join(r.Dir(), name), []byte(content), 0o644)
		return Edit{Message: msg, Files: []string{name}}, err
	}
}

// assertClean checks that the working copy equals the remote-tracking ref
// and has no change of its own.
func assertClean(t *testing.T, r *Repo) {
	t.Helper()
	wd := r.cfg.Workdir
	if st := gitRun(t, wd, "status", "--porcelain"); st != "" {
		t.Errorf("working copy not clean:\n%s", st)
	}
	if h, o := gitRun(t, wd, "rev-parse", "HEAD"), gitRun(t, wd, "rev-parse", "refs/remotes/origin/main"); h != o {
		t.Errorf("HEAD %s != origin/main %s", h, o)
	}
}
