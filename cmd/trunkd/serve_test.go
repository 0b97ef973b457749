package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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

// serveInBackground runs `trunkd args...` through run() until the test
// ends (then it must exit 0 within 15 s). It hands every stdout line to
// seen until seen returns true, and fails the test if stdout ends first.
func serveInBackground(t *testing.T, args []string, seen func(line string) bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("trunkd %s exited %d", args[0], code)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("trunkd %s did not stop within 15 s of cancel", args[0])
		}
	})
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if seen(sc.Text()) {
			go io.Copy(io.Discard, pr)
			return
		}
	}
	t.Fatalf("trunkd %v ended its output before it was ready", args)
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

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeOperationalEndpoints drives a real daemon: health, readiness,
// status with invalid files, registry metrics, and a file edit picked up.
func TestServeOperationalEndpoints(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"3528769.yaml", "Oktell.yaml"} {
		data, err := os.ReadFile(filepath.Join("../../examples/providers", name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), data, 0o600)
	}
	os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("code: broken\ndomain: sip.example.net\npwd: hunter2\nexpires: 1\n"), 0o600)
	base := startServe(t, "providers_dir: "+dir+"\nprobe:\n  enabled: false\n")
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, base+p); code != 200 {
			t.Errorf("%s: %d %s", p, code, body)
		}
	}
	var st struct {
		Registry struct {
			Providers    int `json:"providers"`
			InvalidFiles []struct {
				File     string `json:"file"`
				Problems []struct {
					Line    int    `json:"line"`
					Field   string `json:"field"`
					Problem string `json:"problem"`
				} `json:"problems"`
			} `json:"invalid_files"`
			LastReload string `json:"last_reload"`
		} `json:"registry"`
	}
	_, body := get(t, base+"/status")
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("status: %v\n%s", err, body)
	}
	inv := st.Registry.InvalidFiles
	if st.Registry.Providers != 2 || len(inv) != 1 || inv[0].File != "broken.yaml" || inv[0].Problems[0].Line != 4 ||
		inv[0].Problems[0].Field != "expires" || st.Registry.LastReload == "" {
		t.Errorf("status: %s", body)
	}
	if strings.Contains(body, "hunter2") || strings.Contains(body, "VeryStrongPassword") {
		t.Error("status shows a password")
	}
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{`trunkd_providers{state="enabled"} 2`, "trunkd_registry_invalid_files 1",
		"trunkd_registry_last_reload_success_timestamp_seconds "} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("code: broken\ndomain: sip.example.net\nenabled: 0\n"), 0o600)
	waitUntil(t, "the fixed file in /metrics", func() bool {
		_, m := get(t, base+"/metrics")
		return strings.Contains(m, `trunkd_providers{state="disabled"} 1`) && strings.Contains(m, "trunkd_registry_invalid_files 0")
	})
}
