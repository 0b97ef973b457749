package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// The demo tokens of examples/tokens.yaml.
const (
	adminToken  = "demo-admin-token"
	writerToken = "demo-writer-token"
	readerToken = "demo-reader-token"
)

const (
	sipnetID  = "c581b67c-016c-d219-b121-50e54938780c"
	oktellID  = "58563833-016c-d21b-070f-50e54938780c"
	sipnetPwd = "VeryStrongPassword"
)

// env is an API server over a real providers directory.
type env struct {
	t    *testing.T
	dir  string
	reg  *registry.Registry
	srv  *httptest.Server
	logs *syncBuffer
	opts Options // what srv serves, for tests that serve it another way
}

type envOption func(*Options)

// seedDir copies the seed's two example providers (and extra files) into
// a temporary providers directory.
func seedDir(t testing.TB, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"3528769.yaml", "Oktell.yaml"} {
		copyFile(t, filepath.Join("..", "examples", "providers", name), filepath.Join(dir, name))
	}
	for name, content := range extra {
		writeFile(t, filepath.Join(dir, name), content)
	}
	return dir
}

// newEnv copies the seed's two example providers (and extra files) into a
// temporary providers directory and serves the API over it.
func newEnv(t *testing.T, extra map[string]string, opts ...envOption) *env {
	t.Helper()
	dir := seedDir(t, extra)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	reg, err := registry.Open(registry.Options{Dir: dir, Logger: log})
	if err != nil {
		t.Fatalf("open registry: %v", err)
	}
	tokens, err := LoadTokens(filepath.Join("..", "examples", "tokens.yaml"))
	if err != nil {
		t.Fatalf("load example tokens: %v", err)
	}
	o := Options{Registry: reg, Tokens: tokens, Logger: log, Version: "test", ServerIndex: registry.AnyServer}
	for _, opt := range opts {
		opt(&o)
	}
	srv := httptest.NewServer(New(o))
	t.Cleanup(srv.Close)
	return &env{t: t, dir: dir, reg: reg, srv: srv, logs: logs, opts: o}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(data))
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// resp is one HTTP exchange's outcome.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) String() string { return string(r.body) }

// json decodes the body into v or fails the test.
func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode response %q: %v", r.body, err)
	}
}

// errorBody decodes an error response and checks its shape.
func (r resp) errorBody(t *testing.T) errorBody {
	t.Helper()
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error response %d is not {error_code, error_message}: %q: %v", r.status, r.body, err)
	}
	if e.Code != 1000+r.status {
		t.Fatalf("error_code %d for status %d", e.Code, r.status)
	}
	return e
}

// req is a request to send; body is sent as is when a string, else as JSON.
type req struct {
	method, path, token string
	body                any
	header              map[string]string
}

func (e *env) do(rq req) resp {
	e.t.Helper()
	return doHTTP(e.t, e.srv.URL, rq)
}

func doHTTP(t testing.TB, base string, rq req) resp {
	t.Helper()
	var body io.Reader
	switch b := rq.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Errorf("encode request body: %v", err)
			return resp{}
		}
		body = bytes.NewReader(data)
	}
	hr, err := http.NewRequest(rq.method, base+rq.path, body)
	if err != nil {
		t.Errorf("build request: %v", err)
		return resp{}
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if rq.token != "" {
		hr.Header.Set("Authorization", "Bearer "+rq.token)
	}
	for k, v := range rq.header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	// Errorf, not Fatalf: concurrent tests call this from their goroutines.
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Errorf("%s %s: %v", rq.method, rq.path, err)
		return resp{}
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Errorf("%s %s: read body: %v", rq.method, rq.path, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: data}
}

// get is a GET with a token.
func (e *env) get(path, token string) resp {
	e.t.Helper()
	return e.do(req{method: http.MethodGet, path: path, token: token})
}

// provider reads one provider as admin.
func (e *env) provider(id string) map[string]any {
	e.t.Helper()
	r := e.get(collectionPath+"/"+id, adminToken)
	if r.status != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", id, r.status, r.body)
	}
	var m map[string]any
	r.json(e.t, &m)
	return m
}

// fileOf parses the file that holds provider id now, as the registry would.
func (e *env) fileOf(id string) (registry.Provider, string) {
	e.t.Helper()
	name := e.reg.Snapshot().FileOf(id)
	if name == "" {
		e.t.Fatalf("no file holds provider %s", id)
	}
	data, err := os.ReadFile(filepath.Join(e.dir, name))
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := registry.Parse(name, data)
	if err != nil {
		e.t.Fatalf("file %s is invalid: %v\n%s", name, err, data)
	}
	return p, string(data)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// providerYAML is a minimal valid provider file.
func providerYAML(code, domain string, extra ...string) string {
	return "code: " + code + "\ndomain: " + domain + "\npwd: secret-" + code + "\n" + strings.Join(extra, "\n") + "\n"
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func registryDerived(code string) string { return registry.DeriveID(code) }
