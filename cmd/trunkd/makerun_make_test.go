//go:build unix

package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMakeRunREADMELeavesCheckoutClean runs the real `make run` in a git
// copy of this checkout, runs every curl command of the README against it,
// and checks that the checkout is still clean (`git status --porcelain`
// empty): the daemon must serve and write a copy of the example
// providers, not the tracked files. The README's POSTed trunk must be on
// this server: rendered into the engine files and registered with the
// demo provider.
func TestMakeRunREADMELeavesCheckoutClean(t *testing.T) {
	for _, tool := range []string{"make", "git", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed; CI must run the make run test", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	repo := t.TempDir()
	copyCheckout(t, "../..", repo)
	m := startMakeRun(t, repo)
	for _, cmd := range readmeCurls(t, filepath.Join(repo, "README.md")) {
		cmd = strings.ReplaceAll(cmd, "http://127.0.0.1:8080", m.base)
		sh := exec.Command("sh", "-c", cmd+` -w '\n%{http_code}'`)
		sh.Env = append(os.Environ(), "T=demo-admin-token") // examples/tokens.yaml
		out, err := sh.CombinedOutput()
		body, status, _ := cutLast(strings.TrimSpace(string(out)), "\n")
		if err != nil || !strings.HasPrefix(status, "2") {
			t.Errorf("%s\n-> %v %s %s", cmd, err, status, body)
		}
	}
	posted := time.Now()
	waitUntil(t, "the README's POSTed trunk registered", func() bool {
		_, metrics := get(t, m.base+"/metrics")
		return strings.Contains(metrics, `trunkd_provider_registered{code="demo-bob"} 1`)
	})
	t.Logf("the README's POSTed trunk registered %v after the README's commands ran", time.Since(posted).Round(time.Millisecond))
	waitUntil(t, "the README's POSTed trunk rendered into out/kamailio/uacreg", func() bool {
		data, _ := os.ReadFile(filepath.Join(repo, "out/kamailio/uacreg"))
		return strings.Contains(string(data), "demo-bob")
	})
	if out := gitOut(t, repo, "status", "--porcelain"); out != "" {
		t.Errorf("after make run and the README's commands, git status shows:\n%s", out)
	}
}

// makeRun is a running `make run` in its own process group.
type makeRun struct {
	base string
	log  lockedBuffer
}

// startMakeRun starts `make run` in repo with the demo provider on a free
// port and the API on 127.0.0.1:0, retrying when the port is taken before
// the daemon binds it. The process group is stopped when the test ends;
// its output is printed if the test failed.
func startMakeRun(t *testing.T, repo string) *makeRun {
	t.Helper()
	clean := strings.TrimSpace(gitOut(t, repo, "rev-parse", "HEAD"))
	for attempt := 1; ; attempt++ {
		port := strconv.Itoa(freeUDPTCPPort(t))
		gitOut(t, repo, "reset", "-q", "--hard", clean)
		for _, f := range []string{"README.md", "examples/trunkd.yaml", "examples/providers/demo-local.yaml"} {
			replaceInFile(t, filepath.Join(repo, f), "5090", port)
		}
		gitOut(t, repo, "commit", "-q", "-a", "--allow-empty", "-m", "demo provider on port "+port)
		m, err := tryMakeRun(t, repo)
		if err == nil {
			return m
		}
		if attempt < 5 && strings.Contains(err.Error(), "address already in use") {
			t.Logf("demo provider port %s was taken; retrying on another", port)
			continue
		}
		t.Fatal(err)
	}
}

func tryMakeRun(t *testing.T, repo string) (*makeRun, error) {
	t.Helper()
	m := &makeRun{}
	cmd := exec.Command("make", "run", "RUN_FLAGS=--listen 127.0.0.1:0")
	cmd.Dir = repo
	cmd.Stderr = &m.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(&m.log, sc.Text())
			if addr, ok := strings.CutPrefix(sc.Text(), "trunkd listening on "); ok && m.base == "" {
				m.base = addr
				ready <- true
			}
		}
		done <- cmd.Wait()
	}()
	// `make run` builds first: the deadline allows a cold build under -race
	// load and only catches a hang.
	select {
	case <-ready:
	case err := <-done:
		return nil, fmt.Errorf("make run ended (%v) before the daemon listened:\n%s", err, m.log.String())
	case <-time.After(5 * time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return nil, errors.New("make run: no daemon within 5 minutes:\n" + m.log.String())
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(stopTimeout):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			t.Errorf("make run did not stop within %v of SIGTERM", stopTimeout)
		}
		if t.Failed() {
			t.Logf("make run output and daemon log:\n%s", m.log.String())
		}
	})
	return m, nil
}

// readmeCurls returns the curl command lines of the README's code blocks.
func readmeCurls(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cmds := regexp.MustCompile(`(?m)^curl .*$`).FindAllString(string(data), -1)
	if len(cmds) < 5 {
		t.Fatalf("found only %d curl commands in %s", len(cmds), path)
	}
	return cmds
}

// copyCheckout copies the files git knows in src (tracked, and new ones
// not ignored, as they are in the work tree) into a new repository dst
// with one commit.
func copyCheckout(t *testing.T, src, dst string) {
	t.Helper()
	files := strings.Split(gitOut(t, src, "ls-files", "-z", "--cached", "--others", "--exclude-standard"), "\x00")
	for _, f := range files {
		if f == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, f))
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(filepath.Join(src, f))
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	gitOut(t, dst, "init", "-q")
	gitOut(t, dst, "add", "-A")
	gitOut(t, dst, "-c", "user.name=test", "-c", "user.email=test@trunkd.test", "commit", "-q", "-m", "copy")
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@trunkd.test"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func replaceInFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(data), old, new)), fi.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return "", s, false
}
