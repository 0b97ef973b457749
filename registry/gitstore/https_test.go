package gitstore

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// An https remote (git http-backend behind a loopback TLS server that
// demands the token): clone and push with the token from token_file, which
// never lands in .git/config or an error; a wrong token is ErrUnavailable.
func TestHTTPSRemoteWithToken(t *testing.T) {
	rem := newRemote(t)
	gitRun(t, rem.bare, "config", "http.receivepack", "true")
	backend, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	const token = "tok-9f2c"
	cgiHandler := &cgi.Handler{Path: backend, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + filepath.Dir(rem.bare), "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "x-access-token" || p != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "token required", http.StatusUnauthorized)
			return
		}
		cgiHandler.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, ca, srv.Certificate().Raw)
	t.Setenv("GIT_SSL_CAINFO", ca)

	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, _ := openRepo(t, srv.URL+"/remote.git", filepath.Join(t.TempDir(), "wc"), func(c *Config, _ *Options) { c.TokenFile = tokenFile })
	sha, err := r.Commit(context.Background(), Signature{Name: "ops"}, writeFile(r, "b.yaml", "code: b\n", "create b"))
	if err != nil || rem.head(t) != sha {
		t.Fatalf("Commit over https = %s, %v (remote at %s)", sha, err, rem.head(t))
	}
	cfg, _ := os.ReadFile(filepath.Join(r.cfg.Workdir, ".git", "config"))
	if strings.Contains(string(cfg), token) {
		t.Errorf(".git/config holds the token:\n%s", cfg)
	}

	if err := os.WriteFile(tokenFile, []byte("wrong"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = r.Commit(context.Background(), Signature{Name: "ops"}, writeFile(r, "c.yaml", "code: c\n", "create c"))
	if !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("Commit with a wrong token = %v, want ErrUnavailable without the token", err)
	}
	assertClean(t, r)
}

func writePEM(t *testing.T, path string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}
