package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// GET …/{id}/history lists the commits of the provider's file, newest
// first, API writes with their author and field names, a human's commit
// with none, paged by offset and limit with X-Total-Count.
func TestServeProviderHistory(t *testing.T) {
	rem := newGitRemote(t)
	base := startServe(t, gitServeConfig(t, rem, writeTokens(t, "alice", "bob"), "secrets:\n  allow_plaintext: true\n"))
	url := base + "/rest/v1/uc/providers"
	status, hdr, body := call(t, "POST", url, "alice", `{"code":"acme","domain":"acme.example.org"}`)
	if status != http.StatusOK {
		t.Fatalf("POST: %d %s", status, body)
	}
	id := strings.TrimPrefix(hdr.Get("Location"), "/rest/v1/uc/providers/")
	if status, _, body := call(t, "PATCH", url+"/"+id, "bob", `{"pwd":"hist-Secret-9","expires":300}`); status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", status, body)
	}
	// A view before the human's commit: the page's cached last changes
	// must follow the head when it moves.
	if row := statusRow(t, base, "acme"); !strings.Contains(row, "by bob</span>") {
		t.Errorf("status page row of acme without bob's PATCH as its last change:\n%s", row)
	}
	rem.commit(t, "providers/acme.yaml", strings.Replace(readRemote(t, rem, "providers/acme.yaml"), "acme.example.org", "human.example.org", 1), "human: move acme")
	var hist []struct {
		SHA, Author, Message string
		Fields               []string
	}
	waitUntil(t, "the human's commit in the history", func() bool {
		status, _, body := call(t, "GET", url+"/"+id+"/history", "alice", "")
		if status != http.StatusOK {
			t.Fatalf("history: %d %s", status, body)
		}
		if err := json.Unmarshal([]byte(body), &hist); err != nil {
			t.Fatal(err)
		}
		return len(hist) == 3
	})
	got := []string{}
	for _, h := range hist {
		got = append(got, h.Author+"|"+strings.Join(h.Fields, ",")+"|"+strings.SplitN(h.Message, "\n", 2)[0])
	}
	want := []string{"Human||human: move acme", "bob|pwd,expires|PATCH acme: pwd, expires", "alice|code,domain|POST acme: code, domain"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(hist[0].SHA) != 40 {
		t.Errorf("sha %q", hist[0].SHA)
	}
	status, hdr, body = call(t, "GET", url+"/"+id+"/history?offset=1&limit=1", "alice", "")
	if status != http.StatusOK || hdr.Get("X-Total-Count") != "3" || !strings.Contains(body, "PATCH acme") || strings.Contains(body, "POST acme") {
		t.Errorf("page 2 of 1: %d total=%q %s", status, hdr.Get("X-Total-Count"), body)
	}
	if status, _, body := call(t, "GET", url+"/nope/history", "alice", ""); status != http.StatusNotFound {
		t.Errorf("history of an unknown provider: %d %s", status, body)
	}
	// The status page shows each provider's last change and its author.
	if row := statusRow(t, base, "acme"); !strings.Contains(row, "by Human</span>") || !strings.Contains(row, "changed <time") {
		t.Errorf("status page row of acme without the human's change:\n%s", row)
	}
}

// statusRow is the status page's table row of the trunk with code.
func statusRow(t *testing.T, base, code string) string {
	t.Helper()
	status, page := get(t, base+"/")
	if status != http.StatusOK {
		t.Fatalf("status page: %d", status)
	}
	_, row, _ := strings.Cut(page, `<tr data-code="`+code+`">`)
	row, _, _ = strings.Cut(row, "</tr>")
	return row
}

// readRemote is a file at the remote's head.
func readRemote(t *testing.T, rem *gitRemote, name string) string {
	t.Helper()
	humanGit(t, rem.human, "pull", "--quiet", "--rebase", "origin", "main")
	data, err := os.ReadFile(filepath.Join(rem.human, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// With an hour's poll, a human push reaches the API through the trigger
// endpoint and through each forge's webhook; a wrong signature is a 401
// and triggers nothing.
func TestServeGitTriggerAndWebhooks(t *testing.T) {
	rem := newGitRemote(t)
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	secret := "hook-s3cret"
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := startServe(t, gitPollConfig(t, rem, writeTokens(t, "alice"), "1h", "  webhook_secret_file: "+secretFile+"\n"))
	hook := func(forge, header, value, body string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/rest/v1/git/webhook/"+forge, strings.NewReader(body))
		req.Header.Set(header, value)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	sign := func(body string) string {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		return hex.EncodeToString(mac.Sum(nil))
	}
	payload := `{"ref":"refs/heads/main"}`
	steps := []struct {
		code    string
		trigger func() int
	}{
		{"t1", func() int { s, _, _ := call(t, "POST", base+"/rest/v1/git/sync", "alice", ""); return s }},
		{"t2", func() int { return hook("github", "X-Hub-Signature-256", "sha256="+sign(payload), payload) }},
		{"t3", func() int { return hook("gitea", "X-Gitea-Signature", sign(payload), payload) }},
		{"t4", func() int { return hook("gitlab", "X-Gitlab-Token", secret, payload) }},
	}
	for _, st := range steps {
		rem.commit(t, "providers/"+st.code+".yaml", "code: "+st.code+"\ndomain: "+st.code+".example.org\n", "human: add "+st.code)
		if code := st.trigger(); code != http.StatusAccepted {
			t.Fatalf("trigger for %s: %d", st.code, code)
		}
		waitUntil(t, st.code+" in the API after the trigger", func() bool { return hasCode(t, base, st.code) })
	}
	for _, bad := range []struct{ forge, header, value string }{
		{"github", "X-Hub-Signature-256", "sha256=" + sign(payload+" ")},
		{"gitea", "X-Gitea-Signature", "00"},
		{"gitlab", "X-Gitlab-Token", "wrong"},
	} {
		if code := hook(bad.forge, bad.header, bad.value, payload); code != http.StatusUnauthorized {
			t.Errorf("%s webhook with a wrong signature: %d", bad.forge, code)
		}
	}
}
