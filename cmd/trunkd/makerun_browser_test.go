//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMakeRunStatusPageInChromium: the `make run` daemon's status page,
// rendered by headless Chromium, shows the demo trunk registered and its
// ping up; a screenshot is saved as out/make-run.png. Chromium takes
// seconds to start on a loaded machine, so the time is logged, and the
// deadline only catches a hang.
func TestMakeRunStatusPageInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed (apt-get install chromium); CI must run the browser test")
		}
		t.Skip("chromium is not installed")
	}
	repoOut, err := filepath.Abs("../../out")
	if err != nil {
		t.Fatal(err)
	}
	d := startDemoRun(t)
	row := regexp.MustCompile(`(?s)<tr[^>]*data-code="demo-local".*?</tr>`)
	var dom string
	for {
		dom = string(browse(t, bin, d.base+"/?refresh=0", "--dump-dom"))
		r := row.FindString(dom)
		if strings.Contains(r, "registered") && strings.Contains(r, ">up<") {
			break
		}
		if time.Since(d.started) > waitTimeout {
			t.Fatalf("the status page does not show demo-local registered and up within %v:\n%s", waitTimeout, r)
		}
	}
	t.Logf("status page shows the demo trunk registered and up %v after start", time.Since(d.started).Round(time.Millisecond))
	for _, code := range []string{"3528769", "Oktell", "carrier-peering", "acme-backup"} {
		if !strings.Contains(dom, `data-code="`+code+`"`) {
			t.Errorf("the status page lacks example trunk %s", code)
		}
	}
	if strings.Contains(dom, "alice-secret") || strings.Contains(dom, "VeryStrongPassword") {
		t.Error("the status page shows a password")
	}
	if err := os.MkdirAll(repoOut, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(repoOut, "make-run.png")
	browse(t, bin, d.base+"/?refresh=0", "--screenshot="+shot, "--window-size=1280,900")
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Errorf("screenshot %s: %v", shot, err)
	}
}

// browse runs one headless Chromium command in its own profile and process
// group, killing the whole group when it ends.
func browse(t *testing.T, bin, url string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	profile := t.TempDir()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-proxy-server",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + profile}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, url)...)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.Bytes())
	}
	return out.Bytes()
}
