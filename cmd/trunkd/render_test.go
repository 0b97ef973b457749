package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// renderConfig writes a config whose render targets are the five built-in
// templates with outputs in out, plus extra YAML lines for the render section.
func renderConfig(t *testing.T, providers, out, extra string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "providers_dir: %s\nserver_index: 11\nprobe:\n  enabled: false\nrender:\n%s  targets:\n", providers, extra)
	for _, tmpl := range []string{"kamailio/uacreg", "kamailio/version", "kamailio/dispatcher.list", "asterisk/pjsip.conf", "freeswitch/gateways.xml"} {
		fmt.Fprintf(&b, "    - name: %s\n      template: %s\n      output: %s\n", strings.ReplaceAll(tmpl, "/", "-"), tmpl, filepath.Join(out, tmpl))
	}
	path := filepath.Join(t.TempDir(), "trunkd.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRenderOnceExamples renders the example providers with every built-in
// template, as a providers repository's CI would.
func TestRenderOnceExamples(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "render", "--config", renderConfig(t, "../../examples/providers", out, ""), "--once")
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if n := strings.Count(stdout, "\tok\t"); n != 5 {
		t.Errorf("%d targets ok, want 5:\n%s", n, stdout)
	}
	uacreg, err := os.ReadFile(filepath.Join(out, "kamailio/uacreg"))
	if err != nil {
		t.Fatal(err)
	}
	// demo-local, 3528769 and Oktell register on server 11; the disabled
	// backup and the reg: 0 peering are left out.
	if got := strings.Count(string(uacreg), "\n"); got != 4 {
		t.Errorf("uacreg has %d lines, want header + 3 rows:\n%s", got, uacreg)
	}
	if strings.Contains(stderr, "VeryStrongPassword") {
		t.Error("a password reached the log")
	}
}

// TestRenderOnceFailures: invalid providers render nothing, a failing
// reload and a held-back drop exit 1, usage errors exit 2.
func TestRenderOnceFailures(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	for _, c := range []string{"a1", "a2", "a3"} {
		os.WriteFile(filepath.Join(dir, c+".yaml"), []byte("code: "+c+"\nusername: u\npwd: p\ndomain: sip.example.net\nserveridx: 11\n"), 0o600)
	}
	cfg := renderConfig(t, dir, out, "")
	if code, stdout, stderr := runCmd(t, "render", "--config", cfg, "--once"); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("code: bad\ndomain: sip.example.net\nexpires: 1\n"), 0o600)
	code, _, stderr := runCmd(t, "render", "--config", cfg, "--once")
	if code != 1 || !strings.Contains(stderr, "bad.yaml:3: expires") || !strings.Contains(stderr, "nothing rendered") {
		t.Errorf("invalid provider: exit %d, stderr %s", code, stderr)
	}
	os.Remove(filepath.Join(dir, "bad.yaml"))
	for _, c := range []string{"a1", "a2"} {
		os.Remove(filepath.Join(dir, c+".yaml"))
	}
	code, stdout, stderr := runCmd(t, "render", "--config", cfg, "--once")
	if code != 1 || !strings.Contains(stderr, "held back") || !strings.Contains(stdout, "held_back") {
		t.Errorf("drop of 2 of 3: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runCmd(t, "render", "--config", cfg, "--once", "--confirm-drop"); code != 0 {
		t.Errorf("--confirm-drop: exit %d\n%s%s", code, stdout, stderr)
	}
	failing := renderConfig(t, dir, t.TempDir(), "")
	data, _ := os.ReadFile(failing)
	os.WriteFile(failing, []byte(strings.Replace(string(data), "template: kamailio/version\n", "template: kamailio/version\n      reload_cmd: echo reload broke; exit 3\n", 1)), 0o600)
	code, _, stderr = runCmd(t, "render", "--config", failing, "--once")
	if code != 1 || !strings.Contains(stderr, "exit status 3") {
		t.Errorf("failing reload: exit %d, stderr %s", code, stderr)
	}
	for _, args := range [][]string{{"render", "--config", cfg}, {"render", "--once"}, {"render", "--config", cfg, "--once", "extra"}} {
		if code, _, _ := runCmd(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	// In a cluster the owners decide which trunks register: a one-off
	// render would register every trunk on this node.
	data, _ = os.ReadFile(cfg)
	// (a cluster's registering targets need a fence action)
	data = []byte(strings.ReplaceAll(string(data), "      output: ", "      fence_cmd: 'true'\n      unfence_cmd: 'true'\n      output: "))
	clustered := filepath.Join(t.TempDir(), "trunkd.yaml")
	os.WriteFile(clustered, append(data, "cluster:\n  node: n1\n  etcd:\n    endpoints: ['http://127.0.0.1:1']\n"...), 0o600)
	if code, _, stderr := runCmd(t, "render", "--config", clustered, "--once"); code != 2 || !strings.Contains(stderr, "has a cluster: section") {
		t.Errorf("render --once with cluster: exit %d, stderr %s", code, stderr)
	}
}

// TestServeRendersAndConfirmsDrop: the daemon renders on start, shows the
// targets in /status and /metrics, holds a large drop back and applies it
// when an admin confirms it over the API.
func TestServeRendersAndConfirmsDrop(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	for _, c := range []string{"b1", "b2", "b3"} {
		os.WriteFile(filepath.Join(dir, c+".yaml"), []byte("code: "+c+"\nusername: u\npwd: secret-"+c+"\ndomain: sip.example.net\nserveridx: 11\n"), 0o600)
	}
	tokens := filepath.Join(t.TempDir(), "tokens.yaml")
	// sha256 of "demo-admin-token", as in examples/tokens.yaml.
	os.WriteFile(tokens, []byte("tokens:\n  - name: admin\n    role: admin\n    sha256: 91c16f0d6cc1bec3c3603972182a07c66ff4fa71618a975e963d6dbe42b6dd37\n"), 0o600)
	cfgPath := renderConfig(t, dir, out, "")
	cfgText, _ := os.ReadFile(cfgPath)
	base := startServe(t, string(cfgText)+"auth:\n  tokens_file: "+tokens+"\n")
	uacreg := filepath.Join(out, "kamailio/uacreg")
	rows := func() int {
		data, _ := os.ReadFile(uacreg)
		return strings.Count(string(data), "\n") - 1
	}
	waitUntil(t, "the first render", func() bool { return rows() == 3 })

	for _, c := range []string{"b1", "b2"} {
		os.Remove(filepath.Join(dir, c+".yaml"))
	}
	var st struct {
		Render struct {
			Targets []struct {
				Name     string `json:"name"`
				State    string `json:"state"`
				HeldBack *struct {
					RemovedList []string `json:"removed_list"`
				} `json:"held_back"`
			} `json:"targets"`
		} `json:"render"`
	}
	var body string
	waitUntil(t, "the drop to be held back", func() bool {
		_, body = get(t, base+"/status")
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("status: %v\n%s", err, body)
		}
		return len(st.Render.Targets) == 5 && st.Render.Targets[0].State == "held_back"
	})
	if got := strings.Join(st.Render.Targets[0].HeldBack.RemovedList, ","); got != "b1,b2" || strings.Contains(body, "secret-") {
		t.Errorf("held back %s; status %s", got, body)
	}
	if _, metrics := get(t, base+"/metrics"); !strings.Contains(metrics, `trunkd_render_drop_held{target="kamailio-uacreg"} 1`) {
		t.Error("trunkd_render_drop_held not 1 in /metrics")
	}
	req, _ := http.NewRequest("POST", base+"/rest/v1/render/kamailio-uacreg/confirm", nil)
	req.Header.Set("Authorization", "Bearer demo-admin-token")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("confirm: %d", res.StatusCode)
	}
	waitUntil(t, "the confirmed drop", func() bool { return rows() == 1 })
}
