package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trunkd/trunkd/registry"
)

// startFakeProvider runs `trunkd fakeprovider` with the example users on a
// free loopback port until the test ends and returns its address.
func startFakeProvider(t *testing.T) string {
	t.Helper()
	var addr string
	args := []string{"fakeprovider", "--listen", "127.0.0.1:0", "--users", "../../examples/fakeprovider-users.yaml"}
	serveInBackground(t, args, func(line string) bool {
		// "fakeprovider listening on udp and tcp 127.0.0.1:PORT (realm …)"
		rest, ok := strings.CutPrefix(line, "fakeprovider listening on udp and tcp ")
		if f := strings.Fields(rest); ok && len(f) > 0 {
			addr = f[0]
		}
		return addr != ""
	})
	return addr
}

// writeTrunks writes a providers directory with a good and a bad trunk to
// addr and a config file using it; it returns the config path.
func writeTrunks(t *testing.T, addr, extra string) (cfg, dir string) {
	t.Helper()
	dir = t.TempDir()
	host, port, _ := strings.Cut(addr, ":")
	for code, pwd := range map[string]string{"demo-ok": "alice-secret", "demo-bad": "not-alice-secret"} {
		text := "code: " + code + "\nusername: alice\npwd: " + pwd + "\ndomain: demo.trunkd.test\nproxyaddr: " + host +
			"\nproxyport: " + port + "\nexpires: 60\npingmode: options\npingtimeout: 5\n"
		if err := os.WriteFile(filepath.Join(dir, code+".yaml"), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg = filepath.Join(t.TempDir(), "trunkd.yaml")
	if err := os.WriteFile(cfg, []byte("providers_dir: "+dir+"\n"+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, dir
}

func TestProbeCommand(t *testing.T) {
	cfg, _ := writeTrunks(t, startFakeProvider(t), "probe:\n  timeout: 1s\n")
	code, out, errOut := runCmd(t, "probe", "--config", cfg, "demo-ok")
	if code != 0 {
		t.Fatalf("probe demo-ok exited %d:\n%s%s", code, out, errOut)
	}
	for _, want := range []string{">>> REGISTER to udp:", "<<< 401 Unauthorized", `response="***"`, "<<< 200 OK",
		">>> OPTIONS to udp:", "registration: registered (200 OK)", "ping (options): up (200 OK)", "result: OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "alice-secret") {
		t.Fatal("probe printed the password")
	}
	code, out, _ = runCmd(t, "probe", "--config", cfg, "demo-bad")
	if code != 1 || !strings.Contains(out, "registration: rejected (401") || !strings.Contains(out, "result: FAILED") {
		t.Fatalf("probe demo-bad exited %d:\n%s", code, out)
	}
	if strings.Contains(out, "not-alice-secret") {
		t.Fatal("probe printed the password")
	}
	if code, _, errOut := runCmd(t, "probe", "--config", cfg, "nope"); code != 2 || !strings.Contains(errOut, `"nope"`) {
		t.Fatalf("unknown trunk: exit %d, %s", code, errOut)
	}
	if code, _, _ := runCmd(t, "probe", "demo-ok"); code != 2 {
		t.Fatalf("missing --config: exit %d", code)
	}
}

func TestFakeProviderUsage(t *testing.T) {
	if code, _, errOut := runCmd(t, "fakeprovider", "--listen", "127.0.0.1:0"); code != 2 || !strings.Contains(errOut, "usage") {
		t.Fatalf("missing --users: exit %d %s", code, errOut)
	}
	bad := filepath.Join(t.TempDir(), "users.yaml")
	os.WriteFile(bad, []byte("users:\n  - {user: alice}\n"), 0o600)
	if code, _, errOut := runCmd(t, "fakeprovider", "--users", bad); code != 2 || !strings.Contains(errOut, "users file") {
		t.Fatalf("bad users file: exit %d %s", code, errOut)
	}
}

// TestServeProbes drives the daemon's prober wiring: state endpoint,
// /status summary and metrics of the probed trunks.
func TestServeProbes(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens.yaml")
	// sha256 of "demo-admin-token", as in examples/tokens.yaml.
	os.WriteFile(tokens, []byte("tokens:\n  - name: admin\n    role: admin\n    sha256: 91c16f0d6cc1bec3c3603972182a07c66ff4fa71618a975e963d6dbe42b6dd37\n"), 0o600)
	cfg, _ := writeTrunks(t, startFakeProvider(t), "auth:\n  tokens_file: "+tokens+"\nprobe:\n  enabled: true\n  timeout: 1s\n")
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := startServe(t, string(text))
	waitUntil(t, "both trunks checked in /metrics", func() bool {
		_, m := get(t, base+"/metrics")
		return strings.Contains(m, `trunkd_provider_registered{code="demo-ok"} 1`) &&
			strings.Contains(m, `trunkd_provider_registered{code="demo-bad"} 0`) &&
			strings.Contains(m, `trunkd_provider_reachable{code="demo-ok"} 1`)
	})
	req, _ := http.NewRequest("GET", base+"/rest/v1/uc/providers/"+registry.DeriveID("demo-ok")+"/state", nil)
	req.Header.Set("Authorization", "Bearer demo-admin-token")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var st struct {
		Code         string `json:"code"`
		Registration struct {
			State    string `json:"state"`
			LastCode int    `json:"last_code"`
		} `json:"registration"`
		Ping struct {
			State string `json:"state"`
		} `json:"ping"`
	}
	if err := json.Unmarshal(body, &st); err != nil || res.StatusCode != 200 {
		t.Fatalf("state: %d %s", res.StatusCode, body)
	}
	if st.Code != "demo-ok" || st.Registration.State != "registered" || st.Registration.LastCode != 200 || st.Ping.State != "up" {
		t.Fatalf("state: %s", body)
	}
	_, status := get(t, base+"/status")
	var sum struct {
		Probe struct {
			RegisterMode string         `json:"register_mode"`
			Trunks       int            `json:"trunks"`
			Registration map[string]int `json:"registration"`
		} `json:"probe"`
	}
	if err := json.Unmarshal([]byte(status), &sum); err != nil || sum.Probe.RegisterMode != "query" || sum.Probe.Trunks != 2 ||
		sum.Probe.Registration["registered"] != 1 || sum.Probe.Registration["rejected"] != 1 || strings.Contains(status, "alice-secret") {
		t.Fatalf("status: %s", status)
	}
}
