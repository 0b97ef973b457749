package api

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/trunkd/trunkd/registry"
)

func TestCreate(t *testing.T) {
	e := newEnv(t, nil)
	body := `{"code":"acme","domain":"sip.acme.example","pwd":"acme-password-1","proxyport":5070,"lic":{"siptrunks":4},"opts":{"comment":"night shift"},"ext":{"ct":"1999-01-01T00:00:00Z","junk":[1]}}`
	r := e.do(req{method: http.MethodPost, path: collectionPath, token: adminToken, body: body})
	if r.status != http.StatusOK {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	var got registry.Provider
	r.json(t, &got)
	if got.ID != registry.DeriveID("acme") || got.Pwd != "acme-password-1" || got.ProxyPort != 5070 || got.Lic.SipTrunks != 4 || got.Opts.Comment != "night shift" {
		t.Errorf("created entity: %+v", got)
	}
	if got.Enabled != 1 || got.Transport != "udp" || got.Expires != 600 || got.PingTimeout != 10 || got.Reinvite != 1 {
		t.Errorf("defaults not applied: %+v", got)
	}
	if got.Ext.CT.Year() == 1999 || got.Ext.CT != got.Ext.LWT {
		t.Errorf("ext from the client was not ignored: %+v", got.Ext)
	}
	if loc := r.header.Get("Location"); loc != collectionPath+"/"+got.ID {
		t.Errorf("Location %q", loc)
	}
	if r.header.Get("ETag") != e.get(collectionPath+"/"+got.ID, adminToken).header.Get("ETag") {
		t.Error("POST's ETag differs from GET's")
	}
	onDisk, _ := e.fileOf(got.ID)
	if onDisk.Code != "acme" || onDisk.Pwd != "acme-password-1" || onDisk.ProxyPort != 5070 {
		t.Errorf("file content: %+v", onDisk)
	}

	// A writer may create but never sees pwd.
	r = e.do(req{method: http.MethodPost, path: collectionPath, token: writerToken,
		body: `{"id":"11111111-2222-3333-4444-555555555555","code":"w1","domain":"w1.example","pwd":"writer-secret"}`})
	if r.status != http.StatusOK || strings.Contains(r.String(), "writer-secret") || strings.Contains(r.String(), `"pwd"`) {
		t.Fatalf("writer POST: %d %s", r.status, r.body)
	}
	if p := e.provider("11111111-2222-3333-4444-555555555555"); p["pwd"] != "writer-secret" {
		t.Errorf("the writer's pwd was not stored: %v", p["pwd"])
	}
}

func TestCreateErrors(t *testing.T) {
	e := newEnv(t, nil)
	big := `{"code":"big","domain":"big.example","opts":{"comment":"` + strings.Repeat("x", maxBody) + `"}}`
	cases := []struct {
		name   string
		token  string
		ctype  string // "" means application/json
		body   string
		status int
		want   string
	}{
		{"no token", "", "", `{"code":"x","domain":"x.example"}`, 401, "authentication required"},
		{"bad token", "nope", "", `{"code":"x","domain":"x.example"}`, 401, "invalid token"},
		{"reader", readerToken, "", `{"code":"x","domain":"x.example"}`, 403, "role reader may not create providers"},
		{"no content type", writerToken, "-", `{"code":"x","domain":"x.example"}`, 415, "Content-Type must be application/json"},
		{"text/plain", writerToken, "text/plain", `{"code":"x","domain":"x.example"}`, 415, "Content-Type must be application/json"},
		{"latin1", writerToken, "application/json; charset=latin1", `{"code":"x","domain":"x.example"}`, 415, "charset must be utf-8"},
		{"over 1 MiB", writerToken, "", big, 413, "larger than 1 MiB"},
		{"empty body", writerToken, "", ``, 400, "request body is empty"},
		{"malformed", writerToken, "", `{"code":`, 400, "malformed JSON"},
		{"not an object", writerToken, "", `["code"]`, 400, "must be a provider entity (a JSON object), got an array"},
		{"trailing data", writerToken, "", `{"code":"x","domain":"x.example"} {}`, 400, "unexpected data after the JSON object"},
		{"unknown field", writerToken, "", `{"code":"x","domain":"x.example","colour":"red"}`, 400, `unknown field "colour"`},
		{"unknown nested field", writerToken, "", `{"code":"x","domain":"x.example","lic":{"channels":1}}`, 400, `unknown field "lic.channels"`},
		{"flat key", writerToken, "", `{"code":"x","domain":"x.example","lic.siptrunks":1}`, 400, `unknown field "lic.siptrunks": nest it`},
		{"string for integer", writerToken, "", `{"code":"x","domain":"x.example","proxyport":"5060"}`, 400, "proxyport: must be an integer, got a string"},
		{"decimal for integer", writerToken, "", `{"code":"x","domain":"x.example","proxyport":5060.0}`, 400, "proxyport: must be an integer, got a decimal number"},
		{"huge integer", writerToken, "", `{"code":"x","domain":"x.example","trunksout":1e400}`, 400, "trunksout: must be an integer"},
		{"integer out of range", writerToken, "", `{"code":"x","domain":"x.example","trunksout":99999999999999999999}`, 400, "trunksout: integer out of range"},
		{"number for string", writerToken, "", `{"code":3528770,"domain":"x.example"}`, 400, "code: must be a string, got a number"},
		{"bool for integer", writerToken, "", `{"code":"x","domain":"x.example","enabled":true}`, 400, "enabled: must be an integer, got a boolean"},
		{"null", writerToken, "", `{"code":"x","domain":"x.example","username":null}`, 400, "username: must be a string, got null"},
		{"group not an object", writerToken, "", `{"code":"x","domain":"x.example","lic":5}`, 400, "lic: must be an object, got a number"},
		{"field twice", writerToken, "", `{"code":"x","domain":"x.example","code":"y"}`, 400, "code: field given twice"},
		{"pwd wrong type", writerToken, "", `{"code":"x","domain":"x.example","pwd":12345}`, 400, "pwd: must be a string, got a number"},
		{"invalid UTF-8", writerToken, "", "{\"code\":\"x\xff\",\"domain\":\"x.example\"}", 400, "not valid UTF-8"},
		{"missing code and domain", writerToken, "", `{"username":"u"}`, 400, "code: is required; domain: is required"},
		{"invalid values", writerToken, "", `{"code":"x","domain":"x.example","transport":"sctp","enabled":2}`, 400, `enabled: must be 0 or 1, got 2; transport: must be one of udp, tcp, tls, got "sctp"`},
		{"bad id", writerToken, "", `{"id":"not-a-uuid","code":"x","domain":"x.example"}`, 400, "id: must be a UUID"},
		{"duplicate code", writerToken, "", `{"code":"Oktell","domain":"x.example"}`, 409, `code "Oktell" is already used`},
		{"duplicate id", writerToken, "", `{"id":"` + oktellID + `","code":"new","domain":"x.example"}`, 409, "id " + oktellID + " is already used"},
		{"query parameter", writerToken, "", `{"code":"x","domain":"x.example"}`, 400, `unknown query parameter "mask"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			switch tc.ctype {
			case "-":
				h["Content-Type"] = ""
			case "":
			default:
				h["Content-Type"] = tc.ctype
			}
			path := collectionPath
			if tc.name == "query parameter" {
				path += "?mask=code"
			}
			r := e.do(req{method: http.MethodPost, path: path, token: tc.token, body: tc.body, header: h})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if msg := r.errorBody(t).Message; !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not contain %q", msg, tc.want)
			}
		})
	}
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	if len(names) != 2 {
		t.Errorf("failed creates left files behind: %v", names)
	}
}
