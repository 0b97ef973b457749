package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeFailsFastWhenListenFails: a start-up error after the watcher
// started (here: the listen address is taken) must stop the watcher and
// return, not wait forever for it.
func TestServeFailsFastWhenListenFails(t *testing.T) {
	cfg, busy := busyListenConfig(t, "")
	done := make(chan int, 1)
	var stderr strings.Builder
	go func() {
		done <- run(context.Background(), []string{"serve", "--config", cfg, "--listen", busy}, io.Discard, &stderr)
	}()
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(stderr.String(), "listen on") {
			t.Fatalf("exit %d, stderr %q; want 1 and the listen error", code, stderr.String())
		}
	case <-time.After(stopTimeout):
		t.Fatalf("serve did not return within %v after its listen failed", stopTimeout)
	}
}

// busyListenConfig writes a trunkd.yaml (probing off, plus extra) over an
// empty providers directory and holds a loopback port until the test
// ends; it returns the config file and that taken address.
func busyListenConfig(t *testing.T, extra string) (cfg, busy string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	dir := t.TempDir()
	providers := filepath.Join(dir, "providers")
	if err := os.Mkdir(providers, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg = filepath.Join(dir, "trunkd.yaml")
	text := "providers_dir: " + providers + "\nprobe:\n  enabled: false\n" + extra
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, ln.Addr().String()
}
