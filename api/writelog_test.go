package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/trunkd/trunkd/registry"
)

// TestWriteLogSaysWhetherActive: a write that stores a trunk this daemon
// will neither render nor probe (another serveridx, or disabled) says so
// in its log line, with the values that decide it; an active one says
// active=true.
func TestWriteLogSaysWhetherActive(t *testing.T) {
	e := newEnv(t, nil, func(o *Options) { o.ServerIndex = 11 })
	r := e.do(req{method: http.MethodPost, path: collectionPath, token: writerToken,
		body: `{"code":"acme","domain":"sip.acme.example","pwd":"acme-password-1"}`})
	if r.status != http.StatusOK {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	id := registry.DeriveID("acme")
	wantLine(t, e.logs.String(), "provider created", "active=false enabled=1 serveridx=0 server_index=11")

	if r := e.patch(id, writerToken, `{"serveridx":11}`, nil); r.status != http.StatusOK {
		t.Fatalf("PATCH serveridx: %d %s", r.status, r.body)
	}
	wantLine(t, e.logs.String(), "provider updated", "active=true")

	if r := e.patch(id, writerToken, `{"enabled":0}`, nil); r.status != http.StatusOK {
		t.Fatalf("PATCH enabled: %d %s", r.status, r.body)
	}
	wantLine(t, e.logs.String(), "provider updated", "active=false enabled=0 serveridx=11 server_index=11")
}

// wantLine fails unless the last log line with msg contains want.
func wantLine(t *testing.T, logs, msg, want string) {
	t.Helper()
	last := ""
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `msg="`+msg+`"`) {
			last = line
		}
	}
	if !strings.Contains(last, want) {
		t.Errorf("last %q log line lacks %q: %q\nlog:\n%s", msg, want, last, logs)
	}
}
