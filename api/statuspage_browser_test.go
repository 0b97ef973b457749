//go:build unix

package api

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// chromium returns the path of Debian's chromium; without it the test
// fails under CI and is skipped elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (apt-get install chromium); CI must run the browser test")
	}
	t.Skip("chromium is not installed; skipping the browser test")
	return ""
}

// headless runs one headless Chromium command (dump the DOM or take a
// screenshot) against url in its own profile and process group, and kills
// the whole group when it ends or ctx does.
func headless(ctx context.Context, t *testing.T, bin, url string, args ...string) []byte {
	t.Helper()
	profile := t.TempDir()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-proxy-server",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + profile}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, url)...)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // helpers left behind, if any
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	t.Logf("chromium %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return stdout.Bytes()
}

// requestLog records the paths a browser asks for.
type requestLog struct {
	mu    sync.Mutex
	paths []string
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.paths = append(l.paths, r.URL.RequestURI())
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *requestLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.paths)
}

// Headless Chromium renders the page: the trunk rows, invalid files and
// render targets are in the rendered DOM, the browser asks for nothing but
// the page, and screenshots (desktop and phone width) go to out/.
func TestStatusPageInChromium(t *testing.T) {
	bin := chromium(t)
	e := newPageEnv(t)
	var log requestLog
	srv := httptest.NewServer(log.wrap(e.srv.Config.Handler))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	dom := headless(ctx, t, bin, srv.URL+"/", "--dump-dom")
	root := parseDOM(t, dom)
	checkBrowserDOM(t, root)
	if got := log.list(); !slices.Equal(got, []string{"/"}) {
		t.Errorf("the browser requested %q, want only the page", got)
	}

	outDir, err := filepath.Abs(filepath.Join("..", "out"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, shot := range []struct{ file, size string }{
		{"status-page.png", "1280,900"}, {"status-page-phone.png", "390,1500"},
	} {
		path := filepath.Join(outDir, shot.file)
		_ = os.Remove(path)
		headless(ctx, t, bin, srv.URL+"/?refresh=0", "--screenshot="+path, "--window-size="+shot.size)
		checkScreenshot(t, path, shot.size)
	}
}

// checkBrowserDOM checks the tables of the page as Chromium built them.
func checkBrowserDOM(t *testing.T, root *domNode) {
	t.Helper()
	rows := tableRows(t, root, "trunk-table")
	var codes []string
	for _, r := range rows {
		codes = append(codes, r.attr["data-code"])
	}
	if want := []string{"3528769", "Oktell", "beta-carrier", "other-server", xssCode, "zz-disabled"}; !slices.Equal(codes, want) {
		t.Fatalf("rendered trunk rows %q, want %q", codes, want)
	}
	by := rowByCode(rows)
	checkSipnetRow(t, by["3528769"])
	wantCell(t, by["beta-carrier"], "reg", "failing", "timeout", "3 failed in a row")
	wantCell(t, by["beta-carrier"], "ping", "down", "503 Service Unavailable")
	wantCell(t, by[xssCode], "trunk", xssCode, xssTitle)
	wantCell(t, by["zz-disabled"], "status", "disabled")
	if n := len(root.all(func(n *domNode) bool { return n.tag == "script" })); n != 0 {
		t.Errorf("%d script elements in the rendered page", n)
	}
	if n := len(tableRows(t, root, "invalid-table")); n != 4 {
		t.Errorf("%d rendered invalid-file rows, want 4", n)
	}
	if n := len(tableRows(t, root, "render-table")); n != 3 {
		t.Errorf("%d rendered render-target rows, want 3", n)
	}
}

// checkScreenshot checks that the file is a PNG of the window's size with
// more than a blank page's colours.
func checkScreenshot(t *testing.T, path, size string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	b := img.Bounds()
	if got := strconv.Itoa(b.Dx()) + "," + strconv.Itoa(b.Dy()); got != size {
		t.Errorf("screenshot %s is %s, want %s", path, got, size)
	}
	colours := map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	if len(colours) < 20 {
		t.Errorf("screenshot %s has %d colours: blank?", path, len(colours))
	}
	t.Logf("screenshot %s", path)
}
