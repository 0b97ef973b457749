package gitstore

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	if first := os.Getenv("GITSTORE_CRASH_LOOP"); first != "" {
		writeForever(r, first)
	}
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_, err = r.Commit(context.Background(), Signature{Name: "ops"}, writeFile(r, "b.yaml", "code: b\n", "create b"))
	fmt.Println("commit returned:", err)
	os.Exit(1)
}

// writeForever writes w-N.yaml for N from first on, printing "ack N" after
// each acknowledged write, until the process is killed.
func writeForever(r *Repo, first string) {
	n, _ := strconv.Atoi(first)
	for ; ; n++ {
		name := fmt.Sprintf("w-%d.yaml", n)
		if _, err := r.Commit(context.Background(), Signature{Name: "ops"}, writeFile(r, name, fmt.Sprintf("n: %d\n", n), "write "+name)); err != nil {
			fmt.Println("write failed:", err)
			os.Exit(1)
		}
		fmt.Println("ack", n)
	}
}

// crashWriter is TestCrashHelper running in its own process group.
type crashWriter struct {
	cmd    *exec.Cmd
	stdin  io.Writer
	lines  *bufio.Scanner // its standard output after "opened"
	out    *lockedBuffer
	killed bool
}

// startCrashWriter starts the writer and waits until it opened the working
// copy; the test's cleanup kills it and prints its output on failure.
func startCrashWriter(t *testing.T, url, wd string, env ...string) *crashWriter {
	t.Helper()
	w := &crashWriter{out: &lockedBuffer{}}
	w.cmd = exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.v")
	w.cmd.Env = append(os.Environ(), append(env, "GITSTORE_CRASH_URL="+url, "GITSTORE_CRASH_WORKDIR="+wd)...)
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
	w.lines = bufio.NewScanner(pr)
	for w.lines.Scan() && !strings.Contains(w.lines.Text(), "opened") {
		fmt.Fprintln(w.out, w.lines.Text())
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

// kill -9 of a writer in the middle of its writes, 20 times, at whatever
// step it is in (apply, add, commit, push): after each restart the working
// copy equals the remote, every acknowledged write is on the remote, and
// nothing of an unacknowledged one is left in the working copy.
func TestCrashDuringWrites(t *testing.T) {
	rem := newRemote(t)
	wd := filepath.Join(t.TempDir(), "wc")
	next := 0
	for round := range 20 {
		w := startCrashWriter(t, rem.url, wd, "GITSTORE_CRASH_LOOP="+strconv.Itoa(next))
		for acks := 0; acks < 1+round%2; {
			if !w.lines.Scan() {
				t.Fatalf("round %d: the writer stopped", round)
			}
			if n, ok := strings.CutPrefix(w.lines.Text(), "ack "); ok {
				acks++
				next, _ = strconv.Atoi(n)
				next++
			}
		}
		w.kill()
		r, _ := openRepo(t, rem.url, wd, nil)
		assertClean(t, r)
		if got, _ := r.Head(context.Background()); got != rem.head(t) {
			t.Fatalf("round %d: HEAD %s, remote %s", round, got, rem.head(t))
		}
		for n := range next {
			if got := rem.show(t, fmt.Sprintf("providers/w-%d.yaml", n)); got != fmt.Sprintf("n: %d", n) {
				t.Fatalf("round %d: acknowledged w-%d.yaml is %q on the remote", round, n, got)
			}
		}
		// The write in flight at the kill may have reached the remote
		// (acknowledged or not); the next writer starts after it.
		if _, err := os.Stat(filepath.Join(r.Dir(), fmt.Sprintf("w-%d.yaml", next))); err == nil {
			next++
		}
	}
}
