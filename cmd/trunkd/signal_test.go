package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMStopsDaemon builds the real binary, starts it, and checks that
// SIGTERM ends it cleanly (exit 0) within a few seconds.
func TestSIGTERMStopsDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "trunkd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cfg := filepath.Join(tmp, "trunkd.yaml")
	if err := os.WriteFile(cfg, []byte("providers_dir: ../../examples/providers\nlisten: 127.0.0.1:0\nprobe:\n  enabled: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	var log lockedBuffer
	cmd.Stderr = &log
	defer func() {
		if t.Failed() {
			t.Logf("trunkd log:\n%s", log.String())
		}
	}()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "trunkd listening on ") {
		cmd.Process.Kill()
		t.Fatalf("did not start: %q %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(stopTimeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running %v after SIGTERM", stopTimeout)
	}
}
