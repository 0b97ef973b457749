package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// Distinctive passwords of the status page fixtures: none may appear on the
// page (sipnetPwd and "oktell-secret" come with the seed files).
var pagePasswords = []string{sipnetPwd, "oktell-secret", "Pw-Beta-7f3c91-DoNotLeak", "Pw-Xss-55aa-DoNotLeak",
	"Pw-Disabled-31c7-DoNotLeak", "Pw-Other-8e21-DoNotLeak", "Pw-Broken-4d19-DoNotLeak", "Pw-Syntax-0b6e-DoNotLeak",
	"Pw-Typed-77c2-DoNotLeak"}

// xssTitle is a title that would run script if it reached the page
// unescaped; xssCode is its trunk's code (the registry keeps '<', '"' and
// the like out of codes, so only the title can carry markup).
const (
	xssCode  = `x+script.alert_c`
	xssTitle = `<script>alert('t')</script> & <b>co</b>`
)

// pageFixture adds to the two seed providers: a failing trunk, one with
// script in its code and title, a disabled one, one of another server
// index, and three invalid files.
var pageFixture = map[string]string{
	"beta.yaml": "code: beta-carrier\nusername: beta\nlogin: beta\npwd: Pw-Beta-7f3c91-DoNotLeak\n" +
		"domain: beta.example\nproxyaddr: 192.0.2.10\nserveridx: 11\nopts:\n  title: Beta carrier\n",
	"xss.yaml": "code: '" + xssCode + "'\nusername: x\npwd: Pw-Xss-55aa-DoNotLeak\ndomain: xss.example\n" +
		"serveridx: 11\nopts:\n  title: \"" + xssTitle + "\"\n",
	"disabled.yaml": "code: zz-disabled\nenabled: 0\nusername: d\npwd: Pw-Disabled-31c7-DoNotLeak\n" +
		"domain: disabled.example\nserveridx: 11\n",
	"other.yaml": "code: other-server\nusername: o\npwd: Pw-Other-8e21-DoNotLeak\ndomain: other.example\nserveridx: 12\n",
	"broken.yaml": "code: broken\nusername: b\npwd: Pw-Broken-4d19-DoNotLeak\ndomain: broken.example\n" +
		"proxyport: 99999\ntransport: carrier-pigeon\n",
	"syntax.yaml": "code: syntax\npwd: Pw-Syntax-0b6e-DoNotLeak\n  nested: [\n",
	"typed.yaml":  "code: typed\ndomain: typed.example\npwd: [Pw-Typed-77c2-DoNotLeak]\n",
}

// fakeProber reports fixed trunk states and a summary.
type fakeProber struct {
	states  map[string]TrunkState
	summary ProberSummary
}

func (f *fakeProber) TrunkState(id string) (TrunkState, bool) {
	st, ok := f.states[id]
	return st, ok
}

func (f *fakeProber) ProviderState(id string) (json.Marshaler, bool) {
	st, ok := f.states[id]
	if !ok {
		return nil, false
	}
	b, _ := json.Marshal(map[string]string{"registration": st.Registration.State})
	return json.RawMessage(b), true
}

func (f *fakeProber) Summary() ProberSummary { return f.summary }

// fakeRenderer reports fixed targets.
type fakeRenderer []RenderTarget

func (f fakeRenderer) RenderTargets() []RenderTarget { return f }

// pageStates returns the live states of the fixture's probed trunks as the
// prober would report them at now.
func pageStates(t *testing.T, e *env, now time.Time) map[string]TrunkState {
	t.Helper()
	at := func(d time.Duration) time.Time { return now.Add(d) }
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	snap := e.reg.Snapshot()
	beta, ok1 := snap.ByCode("beta-carrier")
	xss, ok2 := snap.ByCode(xssCode)
	if !ok1 || !ok2 {
		t.Fatalf("fixture providers not loaded; invalid: %+v", snap.Invalid())
	}
	return map[string]TrunkState{
		sipnetID: {Target: "tcp:212.53.40.40:5060",
			Targets: []string{"tcp:212.53.40.40:5060", "tcp:212.53.40.41:5060", "tcp:212.53.40.42:5060"},
			Registration: RegistrationState{State: "registered", Mode: "query", LastCode: 200, LastReason: "OK",
				LastCheck: at(-12 * time.Second), RTT: ms(41.2), Bindings: 2, BindingsSeen: at(-12 * time.Second), EngineBinding: "present"},
			Ping: PingState{Mode: "rn", State: "up", LastCheck: at(-3 * time.Second), RTT: ms(23.4)}},
		beta.ID: {Target: "udp:192.0.2.10:5060", Targets: []string{"udp:192.0.2.10:5060"},
			Registration: RegistrationState{State: "failing", Mode: "query", LastReason: "timeout",
				LastCheck: at(-20 * time.Second), ConsecutiveFailures: 3},
			Ping: PingState{Mode: "options", State: "down", LastCode: 503, LastReason: "Service Unavailable",
				LastCheck: at(-5 * time.Second), RTT: ms(183.4), ConsecutiveFailures: 4}},
		xss.ID: {Target: "udp:xss.example:5060", Targets: []string{"udp:xss-a.example:5060", "udp:xss.example:5060"},
			Registration: RegistrationState{State: "registered", Mode: "bind", LastCode: 200, LastReason: "OK",
				LastCheck: at(-2 * time.Second), RTT: ms(5.1), Bindings: 1, BindingsSeen: at(-2 * time.Second),
				ExpiresAt: at(45 * time.Second), EngineBinding: "missing"},
			Ping: PingState{Mode: "options", State: "unknown", LastCode: 200, LastReason: "OK",
				LastCheck: at(-1 * time.Second), RTT: ms(1.2)}},
	}
}

// pageProber is the prober's summary of the fixture.
func pageProber() ProberSummary {
	return ProberSummary{Listen: "127.0.0.1:5070", Advertise: "192.0.2.1:5070", RegisterMode: "query", Trunks: 4, Pending: 1}
}

// pageRender returns the render targets of the fixture at now.
func pageRender(now time.Time) fakeRenderer {
	at := func(d time.Duration) time.Time { return now.Add(d) }
	return fakeRenderer{
		{Name: "kamailio", Template: "kamailio-db_text", Output: "out/kamailio/uacreg", State: "ok", Trunks: 4,
			LastSuccess: at(-90 * time.Second), LastChange: at(-3 * time.Hour)},
		{Name: "asterisk", Template: "asterisk-pjsip", Output: "out/asterisk/pjsip_trunks.conf", State: "failed", Trunks: 4,
			LastSuccess: at(-2 * time.Hour), LastError: &RenderError{Time: at(-30 * time.Second), Stage: "check",
				Message: "check_cmd exited with status 1", Output: "line 3: unknown <option> ***"}, NextRetry: at(30 * time.Second),
			TrunkErrors: []TrunkRenderError{{Code: "beta-carrier", Reason: "template: no value for domain", Kept: true}}},
		{Name: "freeswitch", Template: "freeswitch-gateways", Output: "out/freeswitch/trunks.xml", State: "held_back", Trunks: 10,
			HeldBack: &HeldRender{Since: at(-5 * time.Minute), LiveTrunks: 10, NewTrunks: 4, Removed: 6,
				RemovedList: []string{"old-1", "old-2"}, Ratio: 0.6, MaxRatio: 0.5}},
	}
}

// newPageEnv serves the API over the page fixture with a prober and a
// renderer that report the states above, on server index 11.
func newPageEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	idx := 11
	var e *env
	prober := &fakeProber{summary: pageProber()}
	// One instant for the fixture's times and the page's clock: relative
	// times ("checked 12 s ago") do not depend on how long the test takes.
	now := time.Now()
	all := append([]envOption{func(o *Options) {
		o.ServerIndex = idx
		o.Prober = prober
		o.Render = pageRender(now)
		o.Clock = fixedClock{now}
	}}, opts...)
	e = newEnv(t, pageFixture, all...)
	prober.states = pageStates(t, e, now)
	return e
}

// fixedClock is a clock stopped at one instant.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// fetchPage GETs the page and checks the status and the headers of a 200.
func fetchPage(t *testing.T, e *env, path, token string) resp {
	t.Helper()
	r := e.get(path, token)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	for k, want := range map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
		"Content-Security-Policy": statusPageCSP, "X-Content-Type-Options": "nosniff"} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	return r
}

// wantCell checks that a cell's text holds every part.
func wantCell(t *testing.T, row tableRow, cell string, parts ...string) {
	t.Helper()
	got := row.cells[cell]
	for _, p := range parts {
		if !strings.Contains(got, p) {
			t.Errorf("row %q, cell %s: %q does not contain %q", row.attr["data-code"], cell, got, p)
		}
	}
}

// The trunks table lists every valid provider by code with its activity,
// registration, ping and target.
func TestStatusPageTrunks(t *testing.T) {
	e := newPageEnv(t)
	root := parseDOM(t, fetchPage(t, e, "/", "").body)
	rows := tableRows(t, root, "trunk-table")
	var codes []string
	for _, r := range rows {
		codes = append(codes, r.attr["data-code"])
	}
	want := []string{"3528769", "Oktell", "beta-carrier", "other-server", xssCode, "zz-disabled"}
	if !slices.Equal(codes, want) {
		t.Fatalf("trunk rows %q, want %q (sorted by code)", codes, want)
	}
	by := rowByCode(rows)
	checkSipnetRow(t, by["3528769"])
	wantCell(t, by["Oktell"], "status", "active")
	wantCell(t, by["Oktell"], "reg", "not probed yet")
	b := by["beta-carrier"]
	wantCell(t, b, "trunk", "beta-carrier", "Beta carrier", "beta.yaml")
	wantCell(t, b, "reg", "failing", "timeout", "3 failed in a row")
	wantCell(t, b, "ping", "down", "503 Service Unavailable", "183 ms", "4 failed in a row")
	wantCell(t, b, "target", "udp:192.0.2.10:5060")
	if c := b.cells["target"]; c != "udp:192.0.2.10:5060" {
		t.Errorf("a single target shows more: %q", c)
	}
	x := by[xssCode]
	wantCell(t, x, "reg", "registered", "200 OK", "bind", "expires in 4")
	wantCell(t, x, "ping", "unknown", "1.20 ms")
	wantCell(t, x, "target", "udp:xss.example:5060 failed over order: udp:xss-a.example:5060, udp:xss.example:5060")
	wantCell(t, by["other-server"], "status", "serveridx 12")
	wantCell(t, by["other-server"], "reg", "not probed")
	wantCell(t, by["zz-disabled"], "status", "disabled")
	summary := root.all(func(n *domNode) bool { return n.hasClass("cards") })[0].textContent()
	for _, s := range []string{"Trunks 6 4 active", "Registered 2/3", "Reachable 1/3", "Invalid files 3", "Render targets ok 1/3"} {
		if !strings.Contains(summary, s) {
			t.Errorf("summary %q lacks %q", summary, s)
		}
	}
	if hint := root.byID("trunks").textContent(); !strings.Contains(hint, "1 of 4 trunks await their first checks") {
		t.Errorf("prober line missing: %q", hint)
	}
}

func checkSipnetRow(t *testing.T, r tableRow) {
	t.Helper()
	wantCell(t, r, "trunk", "3528769", "3528769.yaml")
	wantCell(t, r, "status", "active")
	wantCell(t, r, "reg", "registered", "200 OK", "query", "41.2 ms", "2 bindings", "checked 12 s ago")
	wantCell(t, r, "ping", "up", "rn", "23.4 ms", "checked 3 s ago")
	wantCell(t, r, "target", "tcp:212.53.40.40:5060 then: tcp:212.53.40.41:5060, tcp:212.53.40.42:5060")
	if strings.Contains(r.cells["reg"], "failed in a row") || strings.Contains(r.cells["target"], "failed over") {
		t.Errorf("no failures, yet: %q, %q", r.cells["reg"], r.cells["target"])
	}
}

// Invalid files are listed with line, field and problem, one row each.
func TestStatusPageInvalidFiles(t *testing.T) {
	e := newPageEnv(t)
	root := parseDOM(t, fetchPage(t, e, "/", "").body)
	rows := tableRows(t, root, "invalid-table")
	files := map[string][]tableRow{}
	for _, r := range rows {
		f := strings.Fields(r.cells["file"])[0]
		files[f] = append(files[f], r)
	}
	if len(files) != 3 || len(files["broken.yaml"]) != 2 || len(files["syntax.yaml"]) == 0 || len(files["typed.yaml"]) == 0 {
		t.Fatalf("invalid rows by file: %v", files)
	}
	fields := []string{files["broken.yaml"][0].cells["field"], files["broken.yaml"][1].cells["field"]}
	if !slices.Equal(fields, []string{"proxyport", "transport"}) {
		t.Errorf("broken.yaml fields %q", fields)
	}
	wantCell(t, files["broken.yaml"][1], "problem", "carrier-pigeon")
	wantCell(t, files["typed.yaml"][0], "field", "pwd") // the field's name, never its value
	if l := files["syntax.yaml"][0].cells["line"]; l != "3" {
		t.Errorf("syntax.yaml line %q, want 3", l)
	}
	if heading := root.byID("invalid").textContent(); !strings.Contains(heading, "Invalid files (3)") {
		t.Errorf("heading %q", heading)
	}
}

// Render targets show output, state, trunks, last success, last error
// (stage, message, command output) and a held-back drop.
func TestStatusPageRenderTargets(t *testing.T) {
	e := newPageEnv(t)
	root := parseDOM(t, fetchPage(t, e, "/", "").body)
	rows := tableRows(t, root, "render-table")
	if len(rows) != 3 {
		t.Fatalf("%d render rows", len(rows))
	}
	k, a, f := rows[0], rows[1], rows[2]
	wantCell(t, k, "name", "kamailio", "kamailio-db_text")
	wantCell(t, k, "output", "out/kamailio/uacreg")
	wantCell(t, k, "state", "ok")
	wantCell(t, k, "trunks", "4")
	wantCell(t, k, "success", "1 min ago", "file changed 3 h ago")
	wantCell(t, k, "error", "–")
	wantCell(t, a, "state", "failed", "retry in ")
	wantCell(t, a, "error", "check", "check_cmd exited with status 1", "30 s ago", "line 3: unknown <option> ***",
		"1 trunk not rendered:", "beta-carrier", "template: no value for domain", "(last good output kept)")
	wantCell(t, f, "held", "drop of 6 of 10 trunks", "60 % > max 50 %", "old-1", "old-2", "… and 4 more",
		"POST /rest/v1/render/freeswitch/confirm")
}

// A trunk whose credentials work while the registrar lists no binding of
// the SIP engine is marked; one with the engine's binding is not.
func TestStatusPageEngineBinding(t *testing.T) {
	e := newPageEnv(t)
	rows := rowByCode(tableRows(t, parseDOM(t, fetchPage(t, e, "/", "").body), "trunk-table"))
	wantCell(t, rows[xssCode], "reg", "engine not registered", "lists no binding of the SIP engine")
	if strings.Contains(rows["3528769"].cells["reg"], "engine not registered") {
		t.Errorf("a trunk with the engine's binding is marked: %q", rows["3528769"].cells["reg"])
	}
}

// No password of any provider, valid or invalid, reaches the page.
func TestStatusPageNoPassword(t *testing.T) {
	e := newPageEnv(t)
	for _, path := range []string{"/", "/?refresh=0"} {
		body := string(fetchPage(t, e, path, "").body)
		for _, pw := range pagePasswords {
			if strings.Contains(body, pw) {
				t.Errorf("GET %s shows the password %q", path, pw)
			}
		}
	}
}

// Code and title are text: script in them is escaped, never markup.
func TestStatusPageEscaping(t *testing.T) {
	e := newPageEnv(t)
	body := fetchPage(t, e, "/", "").body
	if strings.Contains(strings.ToLower(string(body)), "<script") {
		t.Fatalf("unescaped <script> in the page:\n%s", body)
	}
	root := parseDOM(t, body)
	if n := len(root.all(func(n *domNode) bool { return n.tag == "script" || n.tag == "b" })); n != 0 {
		t.Errorf("%d script or b elements from provider data", n)
	}
	row, ok := rowByCode(tableRows(t, root, "trunk-table"))[xssCode]
	if !ok {
		t.Fatal("no row for the code with script")
	}
	wantCell(t, row, "trunk", xssCode, xssTitle)
}

// The same flag (auth.status_page_requires_token) protects the page and
// /status: 401 without or with a bad token, 200 for any role.
func TestStatusPageAuth(t *testing.T) {
	open := newPageEnv(t)
	fetchPage(t, open, "/", "")
	e := newPageEnv(t, func(o *Options) { o.StatusAuth = true })
	for _, path := range []string{"/", "/status"} {
		for _, token := range []string{"", "not-a-token"} {
			r := e.get(path, token)
			if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("GET %s with token %q: %d %q, want 401 with WWW-Authenticate", path, token, r.status, r.body)
			}
			if strings.Contains(string(r.body), "trunkd status") {
				t.Errorf("GET %s: the 401 shows the page", path)
			}
		}
		for _, token := range []string{readerToken, writerToken, adminToken} {
			if r := e.get(path, token); r.status != http.StatusOK {
				t.Errorf("GET %s with a token: %d %s", path, r.status, r.body)
			}
		}
	}
	root := parseDOM(t, fetchPage(t, e, "/", readerToken).body)
	if n := len(tableRows(t, root, "trunk-table")); n != 6 {
		t.Errorf("authorised page shows %d trunks", n)
	}
}

// refresh sets the reload interval; 0 turns it off; anything else is 400.
func TestStatusPageRefresh(t *testing.T) {
	e := newPageEnv(t)
	refresh := func(path string) string {
		root := parseDOM(t, fetchPage(t, e, path, "").body)
		for _, m := range root.all(func(n *domNode) bool { return n.tag == "meta" }) {
			if strings.EqualFold(m.attr["http-equiv"], "refresh") {
				return m.attr["content"]
			}
		}
		return ""
	}
	for path, want := range map[string]string{"/": "10", "/?refresh=": "10", "/?refresh=60": "60", "/?refresh=0": ""} {
		if got := refresh(path); got != want {
			t.Errorf("GET %s: refresh %q, want %q", path, got, want)
		}
	}
	for _, path := range []string{"/?refresh=1", "/?refresh=3601", "/?refresh=-5", "/?refresh=+5", "/?refresh=x",
		"/?refresh=5&refresh=6", "/?other=1"} {
		r := e.get(path, "")
		if r.status != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", path, r.status)
			continue
		}
		r.errorBody(t)
	}
	if r := e.do(req{method: http.MethodPost, path: "/"}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", r.status)
	}
}

// Without a prober and a renderer the page says so instead of failing.
func TestStatusPageWithoutSources(t *testing.T) {
	e := newEnv(t, nil)
	root := parseDOM(t, fetchPage(t, e, "/", "").body)
	rows := tableRows(t, root, "trunk-table")
	if len(rows) != 2 {
		t.Fatalf("%d trunk rows", len(rows))
	}
	for _, r := range rows {
		wantCell(t, r, "reg", "prober off")
	}
	if s := root.byID("render").textContent(); !strings.Contains(s, "Rendering is not configured") {
		t.Errorf("render section: %q", s)
	}
	if s := root.byID("invalid").textContent(); !strings.Contains(s, "None: every file in") {
		t.Errorf("invalid section: %q", s)
	}
	if root.byID("render-table") != nil || root.byID("invalid-table") != nil {
		t.Error("empty sections show tables")
	}
}

// The page's responses conform to the OpenAPI document.
func TestStatusPageMatchesOpenAPI(t *testing.T) {
	e := newPageEnv(t, func(o *Options) { o.StatusAuth = true })
	v := newOpenAPIValidator(t)
	for _, c := range []struct{ path, token string }{{"/", readerToken}, {"/?refresh=0", readerToken},
		{"/?refresh=1", readerToken}, {"/", ""}} {
		rq, err := http.NewRequest(http.MethodGet, e.srv.URL+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.token != "" {
			rq.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := http.DefaultClient.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		if ok, errs := v.ValidateHttpResponse(rq, res); !ok {
			for _, ve := range errs {
				t.Errorf("GET %s → %d: %s: %s", c.path, res.StatusCode, ve.Message, ve.Reason)
			}
		}
		res.Body.Close()
	}
}

// TestStatusPageTrunkRegex: an active trunk outside the prober's
// trunk_regex says so instead of "not probed yet".
func TestStatusPageTrunkRegex(t *testing.T) {
	e := newEnv(t, nil, func(o *Options) {
		o.Prober = &fakeProber{summary: ProberSummary{Listen: "127.0.0.1:5070", TrunkRegex: "^Okt"}}
	})
	rows := rowByCode(tableRows(t, parseDOM(t, fetchPage(t, e, "/", "").body), "trunk-table"))
	wantCell(t, rows["3528769"], "reg", "not probed (outside probe.trunk_regex)")
	wantCell(t, rows["Oktell"], "reg", "not probed yet")
}
