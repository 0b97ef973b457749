package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func tokensYAML(name, secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "tokens:\n  - name: " + name + "\n    role: admin\n    sha256: " + hex.EncodeToString(sum[:]) + "\n"
}

func statusWith(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	rq, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	rq.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestReloadSwapsTokensOrKeepsThem: the reload endpoint and SIGHUP read
// the tokens file again; a broken file keeps the running tokens and says
// why in /status and the gauge.
func TestReloadSwapsTokensOrKeepsThem(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.yaml")
	writeTokens := func(text string) {
		if err := os.WriteFile(tokens, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeTokens(tokensYAML("first", "secret-one"))
	providers, _ := filepath.Abs(filepath.Join("..", "..", "examples", "providers"))
	base := startServe(t, "providers_dir: "+providers+"\nauth:\n  tokens_file: "+tokens+"\nprobe:\n  enabled: false\n")
	list := base + "/rest/v1/uc/providers?limit=1"
	if code, body := statusWith(t, "GET", list, "secret-one"); code != 200 {
		t.Fatalf("first token: %d %s", code, body)
	}

	writeTokens(tokensYAML("second", "secret-two"))
	if code, body := statusWith(t, "POST", base+"/rest/v1/reload", "secret-one"); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if code, _ := statusWith(t, "GET", list, "secret-one"); code != 401 {
		t.Fatalf("the replaced token still works: %d", code)
	}
	if code, _ := statusWith(t, "GET", list, "secret-two"); code != 200 {
		t.Fatalf("the new token does not work: %d", code)
	}

	writeTokens("tokens:\n  - name: broken\n    role: emperor\n")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the gauge shows the failed reload", func() bool {
		_, m := get(t, base+"/metrics")
		return strings.Contains(m, "trunkd_config_last_reload_successful 0")
	})
	if code, _ := statusWith(t, "GET", list, "secret-two"); code != 200 {
		t.Fatalf("a broken tokens file took the running token away: %d", code)
	}
	_, st := get(t, base+"/status")
	var status struct {
		Config struct {
			Successful bool   `json:"last_reload_successful"`
			Error      string `json:"last_error"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(st), &status); err != nil {
		t.Fatal(err)
	}
	if status.Config.Successful || !strings.Contains(status.Config.Error, "role must be") {
		t.Fatalf("/status config: %+v", status.Config)
	}
	code, body := statusWith(t, "POST", base+"/rest/v1/reload", "secret-two")
	if code != 409 || !strings.Contains(body, "stays in force") || !strings.Contains(body, "emperor") {
		t.Fatalf("reload of a broken file: %d %s", code, body)
	}
}

// TestRestartOnly: a changed section (or log.format) is named, in the
// config's order; what Reload swaps (auth, log.level) is not.
func TestRestartOnly(t *testing.T) {
	old := &config{Listen: "127.0.0.1:8080", ProvidersDir: "providers"}
	same := *old
	same.Auth.StatusPageRequiresToken = true
	same.Log.Level = "debug"
	if got := restartOnly(old, &same); len(got) != 0 {
		t.Errorf("auth and log.level changed: restart pending %q, want none", got)
	}
	idx := 1
	changed := *old
	changed.ProvidersDir = "other"
	changed.ServerIndex = &idx
	changed.HTTP.MaxConnections = 10
	changed.Log.Format = "json"
	changed.Git = &gitConfig{}
	changed.Demo.AdminToken = true
	want := "providers_dir server_index http log.format git demo"
	if got := strings.Join(restartOnly(old, &changed), " "); got != want {
		t.Errorf("restart pending %q, want %q", got, want)
	}
}
