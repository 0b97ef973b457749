package render

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkd/trunkd/registry"
)

// waitFor polls cond every 10 ms until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// appliedOwnership is the generation of the ownership every target's
// live file reflects, read from r's status as an operator reads it: the
// least OwnershipGeneration over the targets.
func appliedOwnership(r *Renderer) uint64 {
	var gen uint64
	for i, t := range r.Status().Targets {
		if i == 0 || t.OwnershipGeneration < gen {
			gen = t.OwnershipGeneration
		}
	}
	return gen
}

// writeFile writes a file, creating its directory.
func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// trunkYAML is a minimal registering provider file.
func trunkYAML(code, pwd string, expires int) string {
	return fmt.Sprintf("code: %s\nusername: %s\npwd: %q\ndomain: sip.%s.example\nproxyaddr: 127.0.0.1\nproxyport: 5090\nexpires: %d\n",
		code, code, pwd, code, expires)
}

// openRegistry opens a real registry on dir.
func openRegistry(t testing.TB, dir string) *registry.Registry {
	t.Helper()
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func discardLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(devNull{}, nil))
}

type devNull struct{}

func (devNull) Write(p []byte) (int, error) { return len(p), nil }

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testRenderer builds a renderer with its own metrics registry and a
// captured log.
func testRenderer(t testing.TB, cfg Config, serverIndex int) (*Renderer, *logBuffer, *prometheus.Registry) {
	t.Helper()
	logs := &logBuffer{}
	prom := prometheus.NewRegistry()
	r, err := New(cfg, Options{
		ServerIndex: serverIndex,
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer:  prom,
		RetryMin:    time.Hour, // tests that want retries set their own
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, logs, prom
}

// lineCount counts the lines of a file (0 when it does not exist).
func lineCount(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(data), "\n")
}

// targetStatus returns the status of the named target.
func targetStatus(t testing.TB, r *Renderer, name string) TargetStatus {
	t.Helper()
	for _, ts := range r.Status().Targets {
		if ts.Name == name {
			return ts
		}
	}
	t.Fatalf("no status for target %s", name)
	return TargetStatus{}
}

// need returns the path of a program the test needs: missing fails the
// test under CI and skips it elsewhere.
func need(t testing.TB, program string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if p := filepath.Join(dir, program); isExecutable(p) {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required (apt-get install kamailio sip-tester): %v", program, err)
	}
	t.Skipf("%s not installed: %v", program, err)
	return ""
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// contextWithCancel returns a context that ends with the test or cancel.
func contextWithCancel(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}

// renderStrict renders data with tg and prog like a target does, and
// reports a trunk the template failed for as an error. A target without
// the trunk outputs data came from gets outputs of data's trunks alone.
func renderStrict(tg *target, prog *program, data *Data) ([]byte, error) {
	if tg.outs == nil {
		tg.outs = &trunkOutputs{}
		for _, tr := range data.Trunks {
			tg.outs.rows = append(tg.outs.rows, trunkRow{provider: &registry.Provider{Code: tr.Code}, trunk: tr})
		}
	}
	out, _, failed, err := tg.render(prog, data)
	if err == nil && len(failed) > 0 {
		err = fmt.Errorf("trunk %q: %w", failed[0].code, failed[0].err)
	}
	return out, err
}

// subscribe returns the snapshot channel of a subscription to reg that
// ends with the test.
func subscribe(t testing.TB, reg *registry.Registry) <-chan *registry.Snapshot {
	sub := reg.Subscribe()
	t.Cleanup(sub.Close)
	return sub.C()
}
