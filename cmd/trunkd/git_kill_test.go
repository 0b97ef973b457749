package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// trunkdProcess is `trunkd serve` as a real process of the test's build.
type trunkdProcess struct {
	cmd  *exec.Cmd
	base string
	log  *lockedBuffer
}

// buildTrunkd builds the daemon into the test's temp dir.
func buildTrunkd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "trunkd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startTrunkd starts the binary on cfgPath and waits for its address.
func startTrunkd(t *testing.T, bin, cfgPath string) *trunkdProcess {
	t.Helper()
	return runTrunkd(t, exec.Command(bin, "serve", "--config", cfgPath, "--listen", "127.0.0.1:0"))
}

// runTrunkd starts cmd, a trunkd serve, with its stderr as the process
// log, and waits for the address it announces on stdout; a process not
// ready in time is killed and the test fails with its log.
func runTrunkd(t *testing.T, cmd *exec.Cmd) *trunkdProcess {
	t.Helper()
	p := &trunkdProcess{cmd: cmd, log: &lockedBuffer{}}
	p.cmd.Stderr = p.log
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if base, ok := strings.CutPrefix(sc.Text(), "trunkd listening on "); ok {
				ready <- base
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case p.base = <-ready:
	case <-time.After(readyTimeout):
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		t.Fatalf("%s not ready within %v; log:\n%s", p.cmd, readyTimeout, p.log.String())
	}
	return p
}

// tryPost creates a provider; ok is true only for a 200 (acknowledged).
func tryPost(base, code string) bool {
	req, _ := http.NewRequest("POST", base+"/rest/v1/uc/providers", strings.NewReader(`{"code":"`+code+`","domain":"k.example.org"}`))
	req.Header.Set("Authorization", "Bearer tok-alice")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// kill -9 of trunkd during API writes, 20 times: after each restart the
// working copy equals the remote, every acknowledged write is on the
// remote, and the daemon serves exactly the remote's providers.
func TestGitFiguresKill9(t *testing.T) {
	skipUnlessGitFigures(t)
	rem := newGitRemote(t)
	bin := buildTrunkd(t)
	cfgPath := filepath.Join(t.TempDir(), "trunkd.yaml")
	workdir := filepath.Join(t.TempDir(), "wc")
	cfg := "probe:\n  enabled: false\nauth:\n  tokens_file: " + writeTokens(t, "alice") +
		"\ngit:\n  remote: " + rem.url + "\n  path: providers\n  workdir: " + workdir + "\n  poll: 1h\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var acked []string
	unacked := 0
	var restart []time.Duration
	for round := range 20 {
		t0 := time.Now()
		p := startTrunkd(t, bin, cfgPath)
		if round > 0 {
			restart = append(restart, time.Since(t0))
		}
		checkKilledState(t, rem, workdir, p, acked)
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					code := fmt.Sprintf("k%d-%d-%d", round, g, i)
					ok := tryPost(p.base, code)
					mu.Lock()
					if ok {
						acked = append(acked, code)
					} else {
						unacked++ // cut by the kill; every later request is refused
					}
					mu.Unlock()
					if !ok {
						return
					}
				}
			}()
		}
		// Kill after a number of acknowledged writes that varies by round,
		// with both writers in flight.
		target := len(acked) + 2 + round%5
		waitUntil(t, "writes acknowledged", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= target })
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = p.cmd.Wait()
		close(stop)
		wg.Wait()
		if t.Failed() {
			t.Logf("trunkd log:\n%s", p.log.String())
			return
		}
	}
	p := startTrunkd(t, bin, cfgPath)
	checkKilledState(t, rem, workdir, p, acked)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
	p50, p90 := percentiles(restart)
	t.Logf("FIGURE kill -9 during API writes, 20 times: %d acknowledged writes all on the remote, %d in flight when killed (unacknowledged: on the remote whole or not at all), "+
		"working copy equal to the remote after every restart; restart to listening p50 %v p90 %v",
		len(acked), unacked, p50.Round(time.Millisecond), p90.Round(time.Millisecond))
}

// checkKilledState: the working copy equals the remote (head, no stray
// change), every acknowledged code is on the remote, and the daemon serves
// as many providers as the remote holds.
func checkKilledState(t *testing.T, rem *gitRemote, workdir string, p *trunkdProcess, acked []string) {
	t.Helper()
	defer func() {
		if t.Failed() {
			t.Logf("trunkd log:\n%s", p.log.String())
		}
	}()
	if head, remote := humanGit(t, workdir, "rev-parse", "HEAD"), humanGit(t, rem.bare, "rev-parse", "main"); head != remote {
		t.Errorf("working copy at %s, remote at %s", head, remote)
	}
	if st := humanGit(t, workdir, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("working copy not clean after the restart:\n%s", st)
	}
	files := map[string]bool{}
	for _, f := range strings.Split(humanGit(t, rem.bare, "ls-tree", "--name-only", "main", "providers/"), "\n") {
		files[strings.TrimSuffix(filepath.Base(f), ".yaml")] = true
	}
	for _, code := range acked {
		if !files[code] {
			t.Errorf("acknowledged write %s is not on the remote", code)
		}
	}
	status, hdr, body := call(t, "GET", p.base+"/rest/v1/uc/providers?limit=0", "alice", "")
	if status != http.StatusOK || hdr.Get("X-Total-Count") != fmt.Sprint(len(files)) {
		t.Errorf("served %s providers (%d %s), the remote holds %d", hdr.Get("X-Total-Count"), status, body, len(files))
	}
}
