package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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

// TestServeProbeAdvertiseFlag: --probe-advertise overrides probe.advertise,
// so a Kubernetes pod can pass its IP from the downward API ($(POD_IP) in
// args) while the config file stays a ConfigMap.
func TestServeProbeAdvertiseFlag(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "trunkd.yaml")
	if err := os.WriteFile(cfg, []byte("providers_dir: "+dir+"\nprobe:\n  enabled: true\n  listen: 127.0.0.1:0\n  advertise: 192.0.2.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var base string
	serveInBackground(t, []string{"serve", "--config", cfg, "--listen", "127.0.0.1:0", "--probe-advertise", "192.0.2.7"}, func(line string) bool {
		base = strings.TrimPrefix(line, "trunkd listening on ")
		return base != line
	})
	_, body := get(t, base+"/status")
	if !strings.Contains(body, `"advertise": "192.0.2.7:`) && !strings.Contains(body, `"advertise":"192.0.2.7:`) {
		t.Errorf("/status does not show the advertised address 192.0.2.7:\n%s", body)
	}
}
