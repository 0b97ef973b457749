package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// exampleSpec is one example request of testdata/apidoc/examples.json.
// Everything is optional: by default an operation's example is sent by the
// least role the router accepts, with the document's body example, and
// must answer the operation's first 2xx status.
type exampleSpec struct {
	Title    string            `json:"title"`     // a query example's heading
	Note     string            `json:"note"`      // shown above the example
	Role     string            `json:"role"`      // none, reader, writer or admin
	Path     map[string]string `json:"path"`      // path parameter values
	Query    [][2]string       `json:"query"`     // name, value; in this order
	Header   [][2]string       `json:"header"`    // "$ETAG": the resource's current ETag
	Body     json.RawMessage   `json:"body"`      // the request body
	Status   int               `json:"status"`    // the status it must answer
	OmitBody string            `json:"omit_body"` // why the response body is not shown
	Skip     string            `json:"skip"`      // why it is shown but not sent
}

// examplesFile is testdata/apidoc/examples.json.
type examplesFile struct {
	Base           string                 `json:"base"`        // the URL in the curl commands
	Now            time.Time              `json:"now"`         // the registry's clock
	PathParams     map[string]string      `json:"path_params"` // default path parameter values
	Held           string                 `json:"held_render"` // the render target held back
	Operations     map[string]exampleSpec `json:"operations"`  // by operationId
	QueryOperation string                 `json:"query_operation"`
	Queries        []exampleSpec          `json:"queries"` // query language examples
}

// docExample is an example request with the answer the daemon gave.
type docExample struct {
	Title, Note, Role, Skip  string
	Curl                     string
	Response                 string // status line, chosen headers and the body
	spec                     exampleSpec
	opID, base, method, path string
	status                   int
	body                     string // the request body
	etag                     bool   // a header carries $ETAG
}

// exchange sends an example to the server at base and returns the answer;
// vars are the shell variables of the curl command (tokens, ETAG).
type exchange func(t *testing.T, base string, ex *docExample, vars map[string]string) resp

// roleTokens are the demo tokens of examples/tokens.yaml by role, and the
// shell variables the curl commands read them from.
var roleTokens = map[string]struct{ token, envVar string }{
	"reader": {readerToken, "READER_TOKEN"},
	"writer": {writerToken, "WRITER_TOKEN"},
	"admin":  {adminToken, "ADMIN_TOKEN"},
}

func loadExamples(path string) (*examplesFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the API examples: %w", err)
	}
	var f examplesFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return &f, nil
}

// heldRender is a render target with a render held back by the drop guard.
type heldRender string

func (h heldRender) ConfirmDrop(target string) error {
	if target != string(h) {
		return ErrNoTarget
	}
	return nil
}

// docReloader reloads nothing, successfully.
type docReloader struct{}

func (docReloader) Reload(context.Context) error { return nil }

// docHistory is a provider history of two commits, an API write and a
// human's push.
type docHistory struct{}

func (docHistory) History(_ context.Context, _ string, offset, limit int) ([]Commit, int, error) {
	all := []Commit{
		{SHA: "5f0c2e9d4b1a7c3e8f6d2b0a9c8e7f1d3b5a4c6e", Author: "provisioning", Time: time.Date(2019, 9, 2, 10, 14, 0, 0, time.UTC),
			Message: "PATCH Oktell: pwd, expires\n\nTrunkd-Fields: pwd, expires"},
		{SHA: "a3b9d1e7c5f2086e4d2c1b0a9f8e7d6c5b4a3928", Author: "Jane Operator", Time: time.Date(2019, 8, 30, 16, 2, 0, 0, time.UTC),
			Message: "Oktell: move to the new SBC"},
	}
	return all[min(offset, len(all)):min(offset+limit, len(all))], len(all), nil
}

// docSync triggers nothing.
type docSync struct{}

func (docSync) Trigger() {}

// docWebhookSecret is the webhook secret of the doc server.
const docWebhookSecret = "webhook-secret"

// newDocServer serves the API over the seed's two providers in a fresh
// directory, with the example tokens and the given clock.
func newDocServer(t *testing.T, now time.Time, held string) *httptest.Server {
	t.Helper()
	reg, err := registry.Open(registry.Options{Dir: seedDir(t, nil), Logger: discardLogger(), Clock: registry.ClockFunc(func() time.Time { return now })})
	if err != nil {
		t.Fatalf("open registry: %v", err)
	}
	tokens, err := LoadTokens(filepath.Join("..", "examples", "tokens.yaml"))
	if err != nil {
		t.Fatalf("load example tokens: %v", err)
	}
	o := Options{Registry: reg, Tokens: tokens, Logger: discardLogger(), Version: "apidoc"}
	if held != "" {
		o.Confirm = heldRender(held)
	}
	o.Reload = docReloader{}
	o.History, o.Sync, o.WebhookSecret = docHistory{}, docSync{}, []byte(docWebhookSecret)
	srv := httptest.NewServer(New(o))
	t.Cleanup(srv.Close)
	return srv
}

// probeRoles finds, for every operation, the least role the router lets
// through (no token, reader, writer, admin): the first whose answer to a
// bodyless request is neither 401 nor 403. Unknown ids keep the writes
// from changing anything. It checks the document's security against it.
func probeRoles(t *testing.T, d *apiDoc, ops []*docOp) {
	srv := newDocServer(t, time.Now(), "")
	for _, op := range ops {
		path := op.Path
		for _, p := range op.Params {
			if p.In == "path" {
				path = strings.ReplaceAll(path, "{"+p.Name+"}", "00000000-0000-4000-8000-000000000000")
			}
		}
		op.Role = ""
		for _, role := range []string{"none", "reader", "writer", "admin"} {
			r := doHTTP(t, srv.URL, req{method: op.Method, path: path, token: roleTokens[role].token})
			if r.status != http.StatusUnauthorized && r.status != http.StatusForbidden {
				op.Role = role
				break
			}
		}
		switch {
		case op.Role == "":
			d.problemf("%s %s: every role is refused (401/403)", op.Method, op.Path)
		case op.Public != (op.Role == "none"):
			d.problemf("%s %s: openapi.json says public=%v but the router lets %s through", op.Method, op.Path, op.Public, op.Role)
		}
	}
}

// buildExamples attaches to every operation its example and builds the
// query examples; what the examples file names must exist.
func buildExamples(d *apiDoc, m *docModel, f *examplesFile) {
	m.Base = f.Base
	byID := map[string]*docOp{}
	for _, op := range m.Ops {
		byID[op.ID] = op
		op.Example = d.example(op, f.Operations[op.ID], f)
	}
	for id := range f.Operations {
		if byID[id] == nil {
			d.problemf("examples.json has an example for %s, which openapi.json does not have", id)
		}
	}
	qop := byID[f.QueryOperation]
	if qop == nil {
		d.problemf("examples.json: query_operation %q is not in openapi.json", f.QueryOperation)
		return
	}
	for _, spec := range f.Queries {
		m.Queries = append(m.Queries, d.example(qop, spec, f))
	}
}

func (d *apiDoc) example(op *docOp, spec exampleSpec, f *examplesFile) *docExample {
	ex := &docExample{Title: spec.Title, Note: spec.Note, Skip: spec.Skip, spec: spec, opID: op.ID, base: f.Base, method: op.Method,
		path: op.Path, status: spec.Status, Role: spec.Role}
	if ex.Role == "" {
		ex.Role = op.Role
	}
	if _, ok := roleTokens[ex.Role]; !ok && ex.Role != "none" {
		d.problemf("%s example: unknown role %q", op.ID, ex.Role)
	}
	for _, p := range op.Params {
		if p.In != "path" {
			continue
		}
		v, ok := spec.Path[p.Name]
		if !ok {
			v, ok = f.PathParams[p.Name]
		}
		if !ok {
			d.problemf("%s example: no value for the path parameter %s", op.ID, p.Name)
		}
		ex.path = strings.ReplaceAll(ex.path, "{"+p.Name+"}", url.PathEscape(v))
	}
	d.exampleBody(op, ex)
	if ex.status == 0 {
		ex.status = firstSuccess(op)
	}
	if !slices.ContainsFunc(op.Responses, func(r docResponse) bool { return r.Status == fmt.Sprint(ex.status) }) {
		d.problemf("%s example answers %d, which openapi.json does not list", op.ID, ex.status)
	}
	for _, h := range spec.Header {
		ex.etag = ex.etag || strings.Contains(h[1], "$ETAG")
	}
	ex.Curl = curlCommand(f.Base, ex)
	return ex
}

// exampleBody is the spec's body, or the document's example when the
// operation takes a body and the spec gives none.
func (d *apiDoc) exampleBody(op *docOp, ex *docExample) {
	raw := []byte(ex.spec.Body)
	if len(raw) == 0 && op.Body != nil && op.bodyExample != nil {
		raw = []byte(encodeOrdered(op.bodyExample))
	}
	if len(raw) == 0 {
		if op.Body != nil && op.Body.Required {
			d.problemf("%s example: the operation needs a body and neither examples.json nor openapi.json gives one", op.ID)
		}
		return
	}
	v, err := decodeOrdered(raw)
	if err != nil {
		d.problemf("%s example: body: %v", op.ID, err)
		return
	}
	ex.body = encodeOrdered(v)
}

func firstSuccess(op *docOp) int {
	for _, r := range op.Responses {
		var n int
		if _, err := fmt.Sscan(r.Status, &n); err == nil && n >= 200 && n < 300 {
			return n
		}
	}
	return 0
}

// runExamples sends every example that is not skipped to a fresh server,
// in document order (query examples first, on the untouched seed), checks
// its status (and the error shape of an error) and records the answer.
func runExamples(t *testing.T, d *apiDoc, m *docModel, f *examplesFile, send exchange) {
	srv := newDocServer(t, f.Now, f.Held)
	all := slices.Clone(m.Queries)
	for _, op := range m.Ops {
		all = append(all, op.Example)
	}
	for _, ex := range all {
		if ex.Skip != "" {
			continue
		}
		vars := map[string]string{}
		for _, rt := range roleTokens {
			vars[rt.envVar] = rt.token
		}
		if ex.etag {
			vars["ETAG"] = doHTTP(t, srv.URL, req{method: http.MethodGet, path: ex.path, token: adminToken}).header.Get("ETag")
		}
		r := send(t, srv.URL, ex, vars)
		if r.status != ex.status {
			d.problemf("%s example %q (%s %s): answered %d, want %d: %s", ex.opID, ex.Title, ex.method, ex.path, r.status, ex.status, r.body)
		}
		if r.status >= 400 {
			checkErrorShape(d, ex, r)
		}
		ex.Response = responseText(r, ex.spec.OmitBody)
	}
}

func checkErrorShape(d *apiDoc, ex *docExample, r resp) {
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Code != 1000+r.status || e.Message == "" {
		d.problemf("%s example %q: %d is not {error_code: %d, error_message}: %s", ex.opID, ex.Title, r.status, 1000+r.status, r.body)
	}
}

// shownHeaders are the response headers the examples show, in this order.
var shownHeaders = []string{"Content-Type", "Cache-Control", "ETag", "Location", "X-Total-Count", "Allow"}

// responseText shows an answer as HTTP: status line, the headers that
// matter (an ETag is per process, so it is shown as "<etag>") and the
// body when it is JSON and not omitted.
func responseText(r resp, omit string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\n", r.status, http.StatusText(r.status))
	for _, h := range shownHeaders {
		v := r.header.Get(h)
		if v == "" {
			continue
		}
		if h == "ETag" {
			v = `"<etag>"`
		}
		fmt.Fprintf(&b, "%s: %s\n", h, v)
	}
	ct := r.header.Get("Content-Type")
	switch {
	case len(r.body) == 0:
	case omit != "":
		fmt.Fprintf(&b, "\n[body omitted: %s]\n", omit)
	case !strings.HasPrefix(ct, "application/json"):
		fmt.Fprintf(&b, "\n[%s body omitted]\n", strings.TrimSpace(strings.Split(ct, ";")[0]))
	default:
		b.WriteString("\n" + strings.TrimRight(string(r.body), "\n") + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
