package gitstore

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCrashHelper is the trunkd that gets killed: run by
// TestCrashBetweenCommitAndPush as a child process, it opens the working
// copy, waits for a line on stdin and then writes (its push hangs).
func TestCrashHelper(t *testing.T) {
	url, wd := os.Getenv("GITSTORE_CRASH_URL"), os.Getenv("GITSTORE_CRASH_WORKDIR")
	if url == "" {
		t.Skip("helper process of TestCrashBetweenCommitAndPush")
	}
	r, err := Open(context.Background(), Config{Remote: url, Path: "providers", Workdir: wd}, Options{})
	if err != nil {
		fmt.Println("open failed:", err)
		os.Exit(1)
	}
	fmt.Println("opened")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_, err = r.Commit(context.Background(), Signature{Name: "ops"}, writeFile(r, "b.yaml", "code: b\n", "create b"))
	fmt.Println("commit returned:", err)
	os.Exit(1)
}

// crashWriter is TestCrashHelper running in its own process group.
type crashWriter struct {
	cmd    *exec.Cmd
	stdin  io.Writer
	out    *lockedBuffer
	killed bool
}

// startCrashWriter starts the writer and waits until it opened the working
// copy; the test's cleanup kills it and prints its output on failure.
func startCrashWriter(t *testing.T, url, wd string) *crashWriter {
	t.Helper()
	w := &crashWriter{out: &lockedBuffer{}}
	w.cmd = exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.v")
	w.cmd.Env = append(os.Environ(), "GITSTORE_CRASH_URL="+url, "GITSTORE_CRASH_WORKDIR="+wd)
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := w.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	w.stdin = stdin
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.cmd.Stdout, w.cmd.Stderr = pw, w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() {
		w.kill()
		if t.Failed() {
			t.Logf("writer process output:\n%s", w.out)
		}
	})
	lines := bufio.NewScanner(pr)
	for lines.Scan() && !strings.Contains(lines.Text(), "opened") {
		fmt.Fprintln(w.out, lines.Text())
	}
	return w
}

// kill sends SIGKILL to the whole process group, as a container kill.
func (w *crashWriter) kill() {
	if !w.killed {
		_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
		_ = w.cmd.Wait()
		w.killed = true
	}
}

// kill -9 of the writer between its commit and its push: the next Open
// resets the working copy to the remote, dropping the unacknowledged commit.
func TestCrashBetweenCommitAndPush(t *testing.T) {
	rem := newRemote(t)
	d := startDaemon(t, filepath.Dir(rem.bare))
	url, wd := d.url("remote.git"), filepath.Join(t.TempDir(), "wc")
	w := startCrashWriter(t, url, wd)
	d.setMode(hang)
	fmt.Fprintln(w.stdin, "write")
	waitFor(t, "the writer's local commit and its hanging push", func() bool {
		n, err := gitTry(wd, "rev-list", "--count", "refs/remotes/origin/main..HEAD")
		return err == nil && strings.TrimSpace(n) == "1" && d.heldConns() > 0
	})
	w.kill()
	d.setMode(serve)

	before := rem.head(t)
	r, log := openRepo(t, url, wd, nil)
	if !strings.Contains(log.String(), "dropping local commits") {
		t.Errorf("no warning about the dropped commit:\n%s", log)
	}
	if got, _ := r.Head(context.Background()); got != before || rem.head(t) != before {
		t.Errorf("after restart HEAD %s, remote %s, want both at %s", got, rem.head(t), before)
	}
	if _, err := os.Stat(filepath.Join(r.Dir(), "b.yaml")); err == nil {
		t.Error("the unacknowledged b.yaml is still in the working copy")
	}
	assertClean(t, r)
}
