package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test harness for everything that starts the daemon (or another
// long-running subcommand) in this process. Its rules, from the project's
// test rules:
//   - the daemon's log (its stderr) is kept and printed when the test fails
//     or the daemon exits non-zero, so a failure under load has a cause;
//   - waits are on conditions with generous deadlines that only catch a
//     hang; nothing asserts how fast the machine is;
//   - addresses are 127.0.0.1:0 where the daemon allows it.

// Deadlines that only catch a hang. They are long because the suite runs
// with -race on a loaded 2-core machine; a healthy run is far below them
// (the tests log the times they measured).
const (
	readyTimeout = 60 * time.Second // until the daemon prints its address
	waitTimeout  = 60 * time.Second // waitUntil's condition
	stopTimeout  = 30 * time.Second // from cancel to run() returning
)

// lockedBuffer is a bytes buffer the daemon writes its log to while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// daemonRun is one `trunkd …` run through run() in this process.
type daemonRun struct {
	args   []string
	stdout lockedBuffer // every stdout line, also those after ready
	log    lockedBuffer // stderr: the slog output
	cancel context.CancelFunc
	done   chan int
}

// errEndedEarly: the daemon's stdout ended before it printed that it is
// ready; the error carries its exit code and log.
var errEndedEarly = errors.New("trunkd ended its output before it was ready")

// startDaemon runs `trunkd args...` and hands every stdout line to seen
// until seen returns true. When stdout ends first (the daemon exited), it
// returns an error wrapping errEndedEarly with the exit code and the log;
// no cleanup is left registered then. Otherwise the daemon runs until the
// test ends and must then exit 0; its log is printed if the test failed.
func startDaemon(t *testing.T, args []string, seen func(line string) bool) (*daemonRun, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemonRun{args: args, cancel: cancel, done: make(chan int, 1)}
	pr, pw := io.Pipe()
	go func() {
		code := run(ctx, args, io.MultiWriter(pw, &d.stdout), &d.log)
		d.done <- code
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	ready := make(chan bool, 1)
	go func() {
		for sc.Scan() {
			if seen(sc.Text()) {
				ready <- true
				_, _ = io.Copy(io.Discard, pr)
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			cancel()
			code := <-d.done
			return nil, fmt.Errorf("%w: trunkd %v exited %d\nstdout:\n%s\nlog:\n%s", errEndedEarly, args, code, d.stdout.String(), d.log.String())
		}
	case <-time.After(readyTimeout):
		cancel()
		pr.Close()
		return nil, fmt.Errorf("trunkd %v not ready within %v\nstdout:\n%s\nlog:\n%s", args, readyTimeout, d.stdout.String(), d.log.String())
	}
	t.Cleanup(func() { d.stop(t) })
	return d, nil
}

// stop cancels the daemon, checks that it exits 0 in time and prints its
// log when it did not or when the test failed.
func (d *daemonRun) stop(t *testing.T) {
	d.cancel()
	select {
	case code := <-d.done:
		if code != 0 {
			t.Errorf("trunkd %s exited %d", d.args[0], code)
		}
	case <-time.After(stopTimeout):
		t.Errorf("trunkd %s did not stop within %v of cancel", d.args[0], stopTimeout)
	}
	if t.Failed() {
		t.Logf("trunkd %v log:\n%s", d.args, d.log.String())
	}
}

// serveInBackground is startDaemon that fails the test when the daemon
// does not get ready.
func serveInBackground(t *testing.T, args []string, seen func(line string) bool) *daemonRun {
	t.Helper()
	d, err := startDaemon(t, args, seen)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// startServe runs the daemon on cfg until the test ends and returns its
// base URL. The config file is written to disk and loaded like a user's.
func startServe(t *testing.T, cfgText string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trunkd.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	var base string
	serveInBackground(t, []string{"serve", "--config", path, "--listen", "127.0.0.1:0"}, func(line string) bool {
		base = strings.TrimPrefix(line, "trunkd listening on ")
		return base != line
	})
	return base
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// waitUntil polls cond until it holds; the deadline only catches a hang.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > waitTimeout {
			t.Fatalf("%s: not within %v", what, waitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
