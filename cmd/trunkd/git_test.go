package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitRemote is a bare repository (the remote trunkd follows, by file://)
// and a human's clone of it that pushes with the real git CLI.
type gitRemote struct {
	bare, url, human string
	seeded           bool // main exists on the remote
}

func newGitRemote(t *testing.T) *gitRemote {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	root := t.TempDir()
	r := &gitRemote{bare: filepath.Join(root, "remote.git"), human: filepath.Join(root, "human")}
	r.url = "file://" + r.bare
	humanGit(t, root, "init", "--quiet", "--bare", "--initial-branch=main", r.bare)
	humanGit(t, root, "clone", "--quiet", r.url, r.human)
	humanGit(t, r.human, "checkout", "--quiet", "-b", "main")
	r.commit(t, "providers/a.yaml", "code: a\ndomain: a.example.org\n", "seed")
	return r
}

// humanGit runs git as a human, without the machine's git config.
func humanGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitCommand(dir, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return strings.TrimSpace(string(out))
}

// gitCommand is git as a human runs it in dir.
func gitCommand(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Human", "GIT_AUTHOR_EMAIL=human@example.org",
		"GIT_COMMITTER_NAME=Human", "GIT_COMMITTER_EMAIL=human@example.org")
	return cmd
}

// commit writes a file in the human's clone, commits and pushes it
// (rebasing onto what trunkd pushed meanwhile).
func (r *gitRemote) commit(t *testing.T, name, content, msg string) {
	t.Helper()
	p := filepath.Join(r.human, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	humanGit(t, r.human, "add", "--all")
	humanGit(t, r.human, "commit", "--quiet", "-m", msg)
	if r.seeded {
		humanGit(t, r.human, "pull", "--quiet", "--rebase", "origin", "main")
	}
	humanGit(t, r.human, "push", "--quiet", "origin", "HEAD:refs/heads/main")
	r.seeded = true
}

// writeTokens writes a tokens file with one token per name (role writer,
// the token is "tok-NAME") and returns its path.
func writeTokens(t *testing.T, names ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("tokens:\n")
	for _, n := range names {
		sum := sha256.Sum256([]byte("tok-" + n))
		b.WriteString("  - name: " + n + "\n    role: writer\n    sha256: " + hex.EncodeToString(sum[:]) + "\n")
	}
	path := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// gitServeConfig is a daemon config following rem (polling every 100ms),
// with extra appended.
func gitServeConfig(t *testing.T, rem *gitRemote, tokens, extra string) string {
	return gitPollConfig(t, rem, tokens, "100ms", extra)
}

// gitPollConfig is gitServeConfig with the poll interval given; extra may
// continue the git: section.
func gitPollConfig(t *testing.T, rem *gitRemote, tokens, poll, extra string) string {
	return "probe:\n  enabled: false\nauth:\n  tokens_file: " + tokens +
		"\ngit:\n  remote: " + rem.url + "\n  path: providers\n  workdir: " + filepath.Join(t.TempDir(), "wc") +
		"\n  poll: " + poll + "\n" + extra
}

// call sends an API request with token "tok-NAME"; it returns the status,
// the headers and the body.
func call(t *testing.T, method, url, name, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer tok-"+name)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// hasCode tells whether the provider list holds a provider with code.
func hasCode(t *testing.T, base, code string) bool {
	t.Helper()
	status, _, body := call(t, "GET", base+"/rest/v1/uc/providers", "alice", "")
	if status != http.StatusOK {
		t.Fatalf("list: %d %s", status, body)
	}
	var list []struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p.Code == code {
			return true
		}
	}
	return false
}

// The daemon with a git: section clones the remote, serves the providers
// folder inside it and follows the remote: a human's push reaches the API,
// and so does a change and a removal.
func TestServeFollowsGitRemote(t *testing.T) {
	rem := newGitRemote(t)
	base := startServe(t, gitServeConfig(t, rem, writeTokens(t, "alice"), ""))
	if !hasCode(t, base, "a") {
		t.Fatal("the provider of the clone is not served")
	}
	rem.commit(t, "providers/b.yaml", "code: b\ndomain: b.example.org\n", "human: add b")
	waitUntil(t, "the pushed provider b in the API", func() bool { return hasCode(t, base, "b") })
	humanGit(t, rem.human, "rm", "--quiet", "providers/a.yaml")
	rem.commit(t, "providers/b.yaml", "code: b\ndomain: b2.example.org\n", "human: drop a")
	waitUntil(t, "a removed by the push", func() bool { return !hasCode(t, base, "a") })
}

// With a git: section and no age recipients, a write carrying a password
// is refused as an invalid pwd (400, not a conflict: nothing on the server
// changed under the client) with a message naming the settings;
// allow_plaintext lets it through.
func TestServeGitRefusesPlaintextPassword(t *testing.T) {
	rem := newGitRemote(t)
	tokens := writeTokens(t, "alice")
	base := startServe(t, gitServeConfig(t, rem, tokens, ""))
	status, _, body := call(t, "POST", base+"/rest/v1/uc/providers", "alice", `{"code":"p","domain":"p.example.org","pwd":"s3cret-pass"}`)
	if status != http.StatusBadRequest || !strings.Contains(body, "pwd: would be stored in clear") || !strings.Contains(body, "secrets.allow_plaintext") ||
		strings.Contains(body, "s3cret-pass") {
		t.Fatalf("POST with pwd in clear: %d %s", status, body)
	}
	if status, _, body := call(t, "POST", base+"/rest/v1/uc/providers", "alice", `{"code":"q","domain":"q.example.org"}`); status != http.StatusOK {
		t.Fatalf("POST without pwd: %d %s", status, body)
	}

	base = startServe(t, gitServeConfig(t, rem, tokens, "secrets:\n  allow_plaintext: true\n"))
	if status, _, body := call(t, "POST", base+"/rest/v1/uc/providers", "alice", `{"code":"p","domain":"p.example.org","pwd":"s3cret-pass"}`); status != http.StatusOK {
		t.Fatalf("POST with allow_plaintext: %d %s", status, body)
	}
}

// ageRecipient makes an age key pair with the real age-keygen and returns
// the identity file and the recipient.
func ageRecipient(t *testing.T) (keyFile, recipient string) {
	t.Helper()
	if _, err := exec.LookPath("age-keygen"); err != nil {
		t.Skip("age-keygen not installed")
	}
	keyFile = filepath.Join(t.TempDir(), "age.key")
	out, err := exec.Command("age-keygen", "-o", keyFile).CombinedOutput()
	if err != nil {
		t.Fatalf("age-keygen: %v\n%s", err, out)
	}
	pub, err := exec.Command("age-keygen", "-y", keyFile).Output()
	if err != nil {
		t.Fatalf("age-keygen -y: %v", err)
	}
	return keyFile, strings.TrimSpace(string(pub))
}

// Every API write is a commit on the remote, authored by the token's name,
// its message naming the operation, the code and the fields; the remote's
// history never holds a password in clear.
func TestServeWritesAreCommits(t *testing.T) {
	rem := newGitRemote(t)
	keyFile, recipient := ageRecipient(t)
	base := startServe(t, gitServeConfig(t, rem, writeTokens(t, "alice", "bob"),
		"secrets:\n  age_identity_file: "+keyFile+"\n  age_recipients: ["+recipient+"]\n"))
	url := base + "/rest/v1/uc/providers"
	before := humanGit(t, rem.bare, "rev-list", "--count", "main")
	status, hdr, body := call(t, "POST", url, "alice", `{"code":"acme","domain":"acme.example.org","pwd":"first-Secret-1"}`)
	if status != http.StatusOK {
		t.Fatalf("POST: %d %s", status, body)
	}
	id := strings.TrimPrefix(hdr.Get("Location"), "/rest/v1/uc/providers/")
	if status, _, body := call(t, "PATCH", url+"/"+id, "bob", `{"domain":"b.example.org","pwd":"second-Secret-2"}`); status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", status, body)
	}
	if status, _, body := call(t, "DELETE", url+"/"+id, "alice", ""); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	log := humanGit(t, rem.bare, "log", "--format=%an|%s", "-3", "main")
	want := "alice|DELETE acme\nbob|PATCH acme: domain, pwd\nalice|POST acme: code, domain, pwd"
	if log != want {
		t.Errorf("remote log:\n%s\nwant:\n%s", log, want)
	}
	if after := humanGit(t, rem.bare, "rev-list", "--count", "main"); after == before {
		t.Errorf("no commits on the remote")
	}
	patches := humanGit(t, rem.bare, "log", "-p", "main")
	for _, pwd := range []string{"first-Secret-1", "second-Secret-2"} {
		if strings.Contains(patches, pwd) {
			t.Errorf("git log -p of the remote holds the password %q in clear", pwd)
		}
	}
	if !strings.Contains(patches, "ENC[AES256_GCM") {
		t.Errorf("git log -p shows no encrypted pwd:\n%s", patches)
	}
}

// With the remote gone, writes answer 503 with Retry-After and leave
// nothing behind, reads go on, and writes work again by themselves once
// the remote is back.
func TestServeGitRemoteDown(t *testing.T) {
	rem := newGitRemote(t)
	base := startServe(t, gitServeConfig(t, rem, writeTokens(t, "alice"), ""))
	url := base + "/rest/v1/uc/providers"
	head := humanGit(t, rem.bare, "rev-parse", "main")
	moved := rem.bare + ".away"
	if err := os.Rename(rem.bare, moved); err != nil {
		t.Fatal(err)
	}
	status, hdr, body := call(t, "POST", url, "alice", `{"code":"down","domain":"down.example.org"}`)
	if status != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(body, "unreachable") {
		t.Fatalf("POST with the remote down: %d Retry-After=%q %s", status, hdr.Get("Retry-After"), body)
	}
	if hasCode(t, base, "down") || !hasCode(t, base, "a") {
		t.Fatal("the failed write is served, or the reads stopped")
	}
	if err := os.Rename(moved, rem.bare); err != nil {
		t.Fatal(err)
	}
	if got := humanGit(t, rem.bare, "rev-parse", "main"); got != head {
		t.Fatalf("the remote moved while it was down: %s", got)
	}
	if status, _, body := call(t, "POST", url, "alice", `{"code":"down","domain":"down.example.org"}`); status != http.StatusOK {
		t.Fatalf("POST with the remote back: %d %s", status, body)
	}
	if !strings.Contains(humanGit(t, rem.bare, "log", "--format=%s", "-1", "main"), "POST down") {
		t.Error("the write after the remote came back is not on the remote")
	}
}

// The Kubernetes example's config loads: its git: section validates and
// its age recipient parses.
func TestKubernetesExampleConfigLoads(t *testing.T) {
	cfg, err := loadConfig(filepath.Join("..", "..", "examples", "kubernetes", "trunkd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Git == nil || cfg.Git.WebhookSecretFile == "" {
		t.Fatalf("no git: section with a webhook secret: %+v", cfg.Git)
	}
	cfg.Secrets.AgeIdentityFile = "" // the Secret's file is not here
	if _, err := newSecrets(cfg.Secrets, true, nil); err != nil {
		t.Fatal(err)
	}
}

// If-Match is judged against the remote's new head when a write is
// re-applied: the daemon has not seen a human's push yet (an hour's poll),
// the client's ETag matches the daemon's copy, the push is rejected, and
// on the new head the ETag no longer matches: 412, and nothing is pushed.
// Without If-Match the same write is re-applied on the human's commit.
func TestServeGitIfMatchOnNewHead(t *testing.T) {
	rem := newGitRemote(t)
	base := startServe(t, gitPollConfig(t, rem, writeTokens(t, "alice"), "1h", ""))
	status, hdr, body := call(t, "POST", base+"/rest/v1/uc/providers", "alice", `{"code":"im","domain":"im.example.org"}`)
	if status != http.StatusOK {
		t.Fatalf("POST: %d %s", status, body)
	}
	url := base + "/rest/v1/uc/providers/" + strings.TrimPrefix(hdr.Get("Location"), "/rest/v1/uc/providers/")
	_, hdr, _ = call(t, "GET", url, "alice", "")
	etag := hdr.Get("ETag")
	human := strings.Replace(readRemote(t, rem, "providers/im.yaml"), "im.example.org", "human.example.org", 1)
	rem.commit(t, "providers/im.yaml", human, "human: move im")
	head := humanGit(t, rem.bare, "rev-parse", "main")

	req, _ := http.NewRequest("PATCH", url, strings.NewReader(`{"expires":900}`))
	req.Header.Set("Authorization", "Bearer tok-alice")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("If-Match", etag)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("PATCH with the ETag of the old head: %d, want 412", res.StatusCode)
	}
	if got := humanGit(t, rem.bare, "rev-parse", "main"); got != head {
		t.Errorf("the refused write reached the remote")
	}
	if status, _, body := call(t, "PATCH", url, "alice", `{"expires":900}`); status != http.StatusOK || !strings.Contains(body, "human.example.org") {
		t.Errorf("PATCH without If-Match: %d %s", status, body)
	}
	if got := humanGit(t, rem.bare, "show", "main:providers/im.yaml"); !strings.Contains(got, "human.example.org") || !strings.Contains(got, "expires: 900") {
		t.Errorf("remote file:\n%s", got)
	}
}
