package api

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// panicking is a StatusSection whose JSON panics, to exercise recovery.
type panicking struct{}

func (panicking) StatusName() string           { return "boom" }
func (panicking) MarshalJSON() ([]byte, error) { panic("status source exploded") }

func TestErrorShapeEverywhere(t *testing.T) {
	e := newEnv(t, nil, func(o *Options) { o.Status = []StatusSection{panicking{}} })
	cases := []struct {
		name   string
		method string
		path   string
		status int
		want   string
		allow  string
	}{
		{"unknown path", "GET", "/nope", 404, "no such endpoint: /nope", ""},
		{"trailing slash", "GET", collectionPath + "/", 404, "no such endpoint", ""},
		{"unknown nested path", "GET", collectionPath + "/" + sipnetID + "/nope", 404, "no such endpoint", ""},
		{"PUT on the collection", "PUT", collectionPath, 405, "method PUT is not allowed", "GET, HEAD, POST, LOOKUP"},
		{"POST on an entity", "POST", collectionPath + "/" + sipnetID, 405, "method POST is not allowed", "GET, HEAD, PATCH, DELETE"},
		{"LOOKUP on an entity", "LOOKUP", collectionPath + "/" + sipnetID, 405, "method LOOKUP is not allowed", "GET, HEAD, PATCH, DELETE"},
		{"unknown method", "BREW", collectionPath, 405, "method BREW is not allowed", "GET, HEAD, POST, LOOKUP"},
		{"DELETE /healthz", "DELETE", "/healthz", 405, "not allowed", "GET, HEAD"},
		{"recovered panic", "GET", "/status", 500, "internal error", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(req{method: tc.method, path: tc.path, token: adminToken})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if msg := r.errorBody(t).Message; !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not contain %q", msg, tc.want)
			}
			if got := r.header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
	if logs := e.logs.String(); !strings.Contains(logs, "panic while serving a request") || !strings.Contains(logs, "status source exploded") {
		t.Errorf("no log line for the panic:\n%s", logs)
	}
	if r := e.get("/healthz", ""); r.status != 200 {
		t.Errorf("healthz after a panic: %d", r.status)
	}
}

func TestOperationalEndpoints(t *testing.T) {
	e := newEnv(t, map[string]string{"broken.yaml": "code: broken\ndomain: \"\"\npwd: broken-secret-pwd\n"})
	for _, path := range []string{"/healthz", "/readyz", "/status", "/metrics", "/rest/v1/openapi.json"} {
		r := e.get(path, "")
		if r.status != 200 {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
		if strings.Contains(r.String(), "broken-secret-pwd") || strings.Contains(r.String(), sipnetPwd) {
			t.Errorf("%s leaks a password", path)
		}
	}
	if r := e.get("/status", ""); !strings.Contains(r.String(), `"file": "broken.yaml"`) {
		t.Errorf("/status does not report the invalid file: %s", r.body)
	}

	locked := newEnv(t, nil, func(o *Options) { o.StatusAuth = true })
	if r := locked.get("/status", ""); r.status != 401 {
		t.Errorf("/status with StatusAuth and no token: %d", r.status)
	}
	if r := locked.get("/status", readerToken); r.status != 200 {
		t.Errorf("/status with StatusAuth and a token: %d", r.status)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name   string
		header string
		status int
		want   string
	}{
		{"missing", "", 401, "authentication required"},
		{"basic", "Basic ZGVtbzpkZW1v", 401, "authentication required"},
		{"empty bearer", "Bearer ", 401, "authentication required"},
		{"wrong token", "Bearer demo-reader-tokenX", 401, "invalid token"},
		{"hash instead of token", "Bearer e18b5e53f72af866db11e3ad05e4054cb109d0a55191674df0cb1c438d88d315", 401, "invalid token"},
		{"scheme is case-insensitive", "bearer " + readerToken, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(req{method: "GET", path: collectionPath, header: map[string]string{"Authorization": tc.header}})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 401 {
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
				}
				if msg := r.errorBody(t).Message; !strings.Contains(msg, tc.want) {
					t.Errorf("message %q does not contain %q", msg, tc.want)
				}
			}
		})
	}

	none := newEnv(t, nil, func(o *Options) { o.Tokens = nil })
	if r := none.get(collectionPath, adminToken); r.status != 401 {
		t.Errorf("no tokens configured: %d, want 401", r.status)
	}
}

// probed is a StateSource over a fixed map.
// probed is a prober that reports the given trunk states.
func probed(states map[string]string) Prober {
	f := &fakeProber{states: map[string]TrunkState{}}
	for id, reg := range states {
		f.states[id] = TrunkState{Registration: RegistrationState{State: reg}}
	}
	return f
}

// confirmer records confirmations; "held" is the only target with a held render.
type confirmer struct{ confirmed []string }

func (c *confirmer) ConfirmDrop(target string) error {
	switch target {
	case "held":
		c.confirmed = append(c.confirmed, target)
		return nil
	case "idle":
		return errors.New("nothing is held back")
	}
	return fmt.Errorf("%w: %q", ErrNoTarget, target)
}

func TestStateAndConfirm(t *testing.T) {
	conf := &confirmer{}
	prober := probed(map[string]string{sipnetID: "registered"})
	e := newEnv(t, nil, func(o *Options) { o.Prober, o.Confirm = prober, conf })
	bare := newEnv(t, nil)
	cases := []struct {
		name   string
		env    *env
		method string
		path   string
		token  string
		status int
		want   string
	}{
		{"state", e, "GET", collectionPath + "/" + sipnetID + "/state", readerToken, 200, `"registration": "registered"`},
		{"state not probed", e, "GET", collectionPath + "/" + oktellID + "/state", readerToken, 404, "is not probed"},
		{"state unknown id", e, "GET", collectionPath + "/00000000-0000-0000-0000-000000000000/state", readerToken, 404, "not found"},
		{"state without prober", bare, "GET", collectionPath + "/" + sipnetID + "/state", readerToken, 404, "prober is not running"},
		{"state needs a token", e, "GET", collectionPath + "/" + sipnetID + "/state", "", 401, "authentication required"},
		{"confirm", e, "POST", "/rest/v1/render/held/confirm", adminToken, 200, `"status": "confirmed"`},
		{"confirm nothing held", e, "POST", "/rest/v1/render/idle/confirm", adminToken, 409, "nothing is held back"},
		{"confirm unknown target", e, "POST", "/rest/v1/render/other/confirm", adminToken, 404, "no such render target"},
		{"confirm by a writer", e, "POST", "/rest/v1/render/held/confirm", writerToken, 403, "needs admin"},
		{"confirm without token", e, "POST", "/rest/v1/render/held/confirm", "", 401, "authentication required"},
		{"confirm without render", bare, "POST", "/rest/v1/render/held/confirm", adminToken, 404, "rendering is not configured"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.env.do(req{method: tc.method, path: tc.path, token: tc.token})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if r.status >= 400 {
				if msg := r.errorBody(t).Message; !strings.Contains(msg, tc.want) {
					t.Errorf("message %q does not contain %q", msg, tc.want)
				}
			} else if !strings.Contains(r.String(), tc.want) {
				t.Errorf("body %s does not contain %q", r.body, tc.want)
			}
		})
	}
	if len(conf.confirmed) != 1 {
		t.Errorf("confirmations: %v", conf.confirmed)
	}
}
