package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestValidateFIFODoesNotHang: a FIFO named x.yaml is reported as not a
// regular file instead of blocking validate forever on its open.
func TestValidateFIFODoesNotHang(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "x.yaml"), 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errs := runCmd(t, "validate", dir)
		done <- result{code, out, errs}
	}()
	select {
	case res := <-done:
		if res.code != 1 || !strings.Contains(res.out, "x.yaml") || !strings.Contains(res.out, "not a regular file") {
			t.Errorf("exit %d\nstdout %s\nstderr %s", res.code, res.out, res.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("validate still blocked on a FIFO after 20 s")
	}
	_ = os.Remove(filepath.Join(dir, "x.yaml"))
}
