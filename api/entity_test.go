package api

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
)

func TestGet(t *testing.T) {
	e := newEnv(t, nil)
	path := collectionPath + "/" + sipnetID
	cases := []struct {
		name   string
		query  string
		token  string
		status int
		keys   []string // exact top-level keys, in order
		want   string   // in the body
	}{
		{"admin sees pwd", "", adminToken, 200, nil, `"pwd": "VeryStrongPassword"`},
		{"writer sees opts.comment", "", writerToken, 200, nil, `"comment": ""`},
		{"mask", "mask=code,opts", readerToken, 200, []string{"code", "opts"}, `"comment": ""`},
		{"mask entity order", "mask=lic,id", adminToken, 200, []string{"id", "lic"}, ""},
		{"flat", "flat=true&mask=code,lic", readerToken, 200, []string{"code", "lic.siptrunks"}, `"lic.siptrunks": 5`},
		{"flat all for admin", "flat=1", adminToken, 200, nil, `"ext.lwt": "2019-08-27T08:03:14.84Z"`},
		{"mask pwd is 400 for admin", "mask=code,pwd", adminToken, 400, nil, "mask: pwd cannot be selected"},
		{"mask pwd is 400 for reader", "mask=pwd", readerToken, 400, nil, "mask: pwd cannot be selected"},
		{"unknown parameter", "filter={}", readerToken, 400, nil, `unknown query parameter "filter"`},
		{"no token", "", "", 401, nil, "authentication required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get(path+"?"+escapeQuery(tc.query), tc.token)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if r.status != 200 {
				if msg := r.errorBody(t).Message; !strings.Contains(msg, tc.want) {
					t.Errorf("message %q does not contain %q", msg, tc.want)
				}
				return
			}
			if !strings.Contains(r.String(), tc.want) {
				t.Errorf("body does not contain %q: %s", tc.want, r.body)
			}
			if tc.token != adminToken && strings.Contains(r.String(), sipnetPwd) {
				t.Errorf("pwd leaked to %s: %s", tc.token, r.body)
			}
			if tc.keys != nil {
				v, err := parseJSON(r.String())
				if err != nil {
					t.Fatal(err)
				}
				if got := objectKeys(v); !slices.Equal(got, tc.keys) {
					t.Errorf("keys %v, want %v", got, tc.keys)
				}
			}
		})
	}

	r := e.get(collectionPath+"/00000000-0000-0000-0000-000000000000", readerToken)
	if r.status != 404 || !strings.Contains(r.errorBody(t).Message, "not found") {
		t.Errorf("unknown id: %d %s", r.status, r.body)
	}
	r = e.get(path, readerToken)
	etag := r.header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag %q", etag)
	}
	r = e.do(req{method: http.MethodGet, path: path, token: readerToken, header: map[string]string{"If-None-Match": `"other", ` + etag}})
	if r.status != http.StatusNotModified || len(r.body) != 0 {
		t.Errorf("If-None-Match: %d %s", r.status, r.body)
	}
	if e.get(path, adminToken).header.Get("ETag") != etag {
		t.Error("the ETag depends on the role")
	}
}

// patch sends a PATCH and returns the response.
func (e *env) patch(id, token, body string, header map[string]string) resp {
	e.t.Helper()
	return e.do(req{method: http.MethodPatch, path: collectionPath + "/" + id, token: token, body: body, header: header})
}

func TestPatch(t *testing.T) {
	e := newEnv(t, nil)
	etag := e.get(collectionPath+"/"+sipnetID, readerToken).header.Get("ETag")

	r := e.patch(sipnetID, writerToken, `{"id":"`+sipnetID+`","proxyport":5070,"opts":{"title":"Main"},"ext":{"lwt":"2000-01-01T00:00:00Z"}}`, map[string]string{"If-Match": etag})
	if r.status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	if strings.Contains(r.String(), `"pwd"`) {
		t.Errorf("writer's PATCH response has pwd: %s", r.body)
	}
	var got registry.Provider
	r.json(t, &got)
	if got.ProxyPort != 5070 || got.Opts.Title != "Main" || got.Opts.Comment != "" || got.Username != "MyAccount" {
		t.Errorf("merged entity: %+v", got)
	}
	if !got.Ext.LWT.After(time.Date(2019, 8, 27, 8, 3, 14, 840e6, time.UTC)) || got.Ext.CT.String() != "2019-08-27T08:03:14.84Z" {
		t.Errorf("ext: %+v (lwt must advance, ct stay)", got.Ext)
	}
	if newTag := r.header.Get("ETag"); newTag == etag || newTag == "" {
		t.Errorf("ETag did not change: %q", newTag)
	}
	onDisk, text := e.fileOf(sipnetID)
	if onDisk.ProxyPort != 5070 || onDisk.Opts.Title != "Main" || onDisk.Pwd != sipnetPwd {
		t.Errorf("file: %+v", onDisk)
	}
	for _, keep := range []string{"# sipnet.ru trunk, main outbound route for server 11.", "# the SBC in front of sipnet.ru", "# Failover SBCs"} {
		if !strings.Contains(text, keep) {
			t.Errorf("file lost comment %q:\n%s", keep, text)
		}
	}
	if strings.Index(text, "proxyport:") > strings.Index(text, "transport:") {
		t.Errorf("key order changed:\n%s", text)
	}

	// The old ETag no longer matches.
	r = e.patch(sipnetID, writerToken, `{"proxyport":5080}`, map[string]string{"If-Match": etag})
	if r.status != http.StatusPreconditionFailed || !strings.Contains(r.errorBody(t).Message, "precondition failed") {
		t.Errorf("stale If-Match: %d %s", r.status, r.body)
	}
	// A writer may set the password; only an admin reads it back.
	r = e.patch(sipnetID, writerToken, `{"pwd":"rotated-secret-2"}`, nil)
	if r.status != 200 || strings.Contains(r.String(), "rotated-secret-2") {
		t.Errorf("pwd rotation: %d %s", r.status, r.body)
	}
	if p := e.provider(sipnetID); p["pwd"] != "rotated-secret-2" {
		t.Errorf("pwd after rotation: %v", p["pwd"])
	}
	r = e.patch(sipnetID, adminToken, `{"pwd":"rotated-secret-3"}`, map[string]string{"If-Match": "*"})
	if r.status != 200 || !strings.Contains(r.String(), `"pwd": "rotated-secret-3"`) {
		t.Errorf("admin PATCH response must carry pwd: %d %s", r.status, r.body)
	}
}

func TestPatchNoChangeWritesNothing(t *testing.T) {
	e := newEnv(t, nil)
	name := filepath.Join(e.dir, e.reg.Snapshot().FileOf(oktellID))
	data, _ := os.ReadFile(name)
	gen := e.reg.Snapshot().Generation()
	r := e.patch(oktellID, writerToken, `{"code":"Oktell","expires":180}`, nil)
	if r.status != 200 || !strings.Contains(r.String(), `"lwt": "2019-08-27T08:04:42.38Z"`) {
		t.Fatalf("no-op PATCH: %d %s", r.status, r.body)
	}
	after, _ := os.ReadFile(name)
	if string(after) != string(data) || e.reg.Snapshot().Generation() != gen {
		t.Error("a PATCH that changes nothing rewrote the file")
	}
}

func TestPatchErrors(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name   string
		id     string
		token  string
		body   string
		header map[string]string
		status int
		want   string
	}{
		{"other id", sipnetID, writerToken, `{"id":"` + oktellID + `"}`, nil, 400, "id is prohibited for modification"},
		{"invalid value", sipnetID, writerToken, `{"transport":"sctp"}`, nil, 400, "transport: must be one of udp, tcp, tls"},
		{"wrong type", sipnetID, writerToken, `{"proxyport":"5060"}`, nil, 400, "proxyport: must be an integer, got a string"},
		{"unknown field", sipnetID, writerToken, `{"port":5060}`, nil, 400, `unknown field "port"`},
		{"code taken", sipnetID, writerToken, `{"code":"Oktell"}`, nil, 409, `code "Oktell" is already used`},
		{"stale If-Match", sipnetID, writerToken, `{"expires":300}`, map[string]string{"If-Match": `"0123"`}, 412, "precondition failed"},
		{"weak If-Match", sipnetID, writerToken, `{"expires":300}`, map[string]string{"If-Match": `W/"0123"`}, 412, "precondition failed"},
		{"unknown id", "00000000-0000-0000-0000-000000000000", writerToken, `{"expires":300}`, nil, 404, "not found"},
		{"reader", sipnetID, readerToken, `{"expires":300}`, nil, 403, "role reader may not change providers"},
		{"no token", sipnetID, "", `{"expires":300}`, nil, 401, "authentication required"},
		{"not JSON", sipnetID, writerToken, `expires=300`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "Content-Type must be application/json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.patch(tc.id, tc.token, tc.body, tc.header)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if msg := r.errorBody(t).Message; !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not contain %q", msg, tc.want)
			}
		})
	}
	if p, _ := e.fileOf(sipnetID); p.Transport != "tcp" || p.Expires != 600 {
		t.Errorf("failed PATCHes changed the file: %+v", p)
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t, nil)
	file := filepath.Join(e.dir, e.reg.Snapshot().FileOf(oktellID))
	del := func(token string, header map[string]string) resp {
		return e.do(req{method: http.MethodDelete, path: collectionPath + "/" + oktellID, token: token, header: header})
	}
	cases := []struct {
		name   string
		token  string
		header map[string]string
		status int
		want   string
	}{
		{"no token", "", nil, 401, "authentication required"},
		{"reader", readerToken, nil, 403, "role reader may not delete providers"},
		{"stale If-Match", writerToken, map[string]string{"If-Match": `"stale"`}, 412, "precondition failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := del(tc.token, tc.header)
			if r.status != tc.status || !strings.Contains(r.errorBody(t).Message, tc.want) {
				t.Errorf("%d %s, want %d %q", r.status, r.body, tc.status, tc.want)
			}
		})
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("refused deletes removed the file: %v", err)
	}
	etag := e.get(collectionPath+"/"+oktellID, readerToken).header.Get("ETag")
	if r := del(writerToken, map[string]string{"If-Match": etag}); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("file still there: %v", err)
	}
	if r := e.get(collectionPath+"/"+oktellID, readerToken); r.status != 404 {
		t.Errorf("GET after DELETE: %d", r.status)
	}
	if r := del(writerToken, nil); r.status != 404 || !strings.Contains(r.errorBody(t).Message, "not found") {
		t.Errorf("second DELETE: %d %s", r.status, r.body)
	}
}

func TestLookup(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name   string
		token  string
		ctype  string
		body   string
		status int
		want   string
	}{
		{"by code", readerToken, "", `"3528769"`, 200, sipnetID},
		{"by id", readerToken, "", `"` + oktellID + `"`, 200, oktellID},
		{"exact only", readerToken, "", `"oktell"`, 404, "Lookup failed"},
		{"not a string", readerToken, "", `{"code":"Oktell"}`, 400, "LOOKUP body must be one JSON string"},
		{"number", readerToken, "", `3528769`, 400, "LOOKUP body must be one JSON string"},
		{"two values", readerToken, "", `"a" "b"`, 400, "LOOKUP body must be one JSON string"},
		{"empty", readerToken, "", ``, 400, "LOOKUP body must be one JSON string"},
		{"no token", "", "", `"Oktell"`, 401, "authentication required"},
		{"bad token", "demo-admin-token2", "", `"Oktell"`, 401, "invalid token"},
		{"not JSON", readerToken, "text/plain", `Oktell`, 415, "Content-Type must be application/json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.ctype != "" {
				h["Content-Type"] = tc.ctype
			}
			r := e.do(req{method: "LOOKUP", path: collectionPath, token: tc.token, body: tc.body, header: h})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if r.status == 200 {
				var ids []string
				r.json(t, &ids)
				if !slices.Equal(ids, []string{tc.want}) {
					t.Errorf("ids %v, want [%s]", ids, tc.want)
				}
				return
			}
			if msg := r.errorBody(t).Message; !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not contain %q", msg, tc.want)
			}
		})
	}
}
