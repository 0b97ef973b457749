package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// heldSecrets is a registry codec whose Encode blocks until release is
// closed: a write that holds the registry, as an open on a hung file
// system would.
type heldSecrets struct{ entered, release chan struct{} }

func (h heldSecrets) Decode(_ string, data []byte) ([]byte, error) { return data, nil }

func (h heldSecrets) Encode(_ string, plain, _ []byte) ([]byte, error) {
	close(h.entered)
	<-h.release
	return plain, nil
}

// TestHealthzReportsStuckRegistry: /healthz answers 503 while a write has
// held the registry beyond StuckAfter, and 200 again once it is released
// (issue 9: a provider file swapped for a FIFO froze the registry while
// /healthz said 200).
func TestHealthzReportsStuckRegistry(t *testing.T) {
	held := heldSecrets{entered: make(chan struct{}), release: make(chan struct{})}
	release := sync.OnceFunc(func() { close(held.release) })
	t.Cleanup(release) // a failed wait must not leave the write blocked
	reg, err := registry.Open(registry.Options{Dir: t.TempDir(), Logger: discardLogger(), Secrets: held, StuckAfter: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Options{Registry: reg, Logger: discardLogger()}))
	t.Cleanup(srv.Close)
	healthz := func() (int, string) {
		res, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	if code, body := healthz(); code != 200 {
		t.Fatalf("idle registry: %d %s", code, body)
	}
	done := make(chan error, 1)
	go func() {
		p := registry.Default()
		p.Code, p.Domain = "held", "sip.example.net"
		_, err := reg.Create(p)
		done <- err
	}()
	<-held.entered
	var body string
	waitFor(t, "/healthz to answer 503 while the write holds the registry", 30*time.Second, func() bool {
		var code int
		code, body = healthz()
		return code == http.StatusServiceUnavailable
	})
	if !strings.Contains(body, `"status": "stuck"`) || !strings.Contains(body, "held the registry for") {
		t.Errorf("503 body %s", body)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if code, body := healthz(); code != 200 {
		t.Fatalf("released registry: %d %s", code, body)
	}
}
