package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trunkd/trunkd/registry"
)

// fuzzView is a view over the list fixture, for binding parsed queries.
func fuzzView(f *testing.F) *view {
	f.Helper()
	reg, err := registry.Open(registry.Options{Dir: seedDir(f, listFixture)})
	if err != nil {
		f.Fatal(err)
	}
	var c viewCache
	return c.get(reg)
}

// must400 fails unless err is nil or a 400.
func must400(t *testing.T, input string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if status, msg := statusOf(err); status != http.StatusBadRequest || msg == "" {
		t.Fatalf("input %q: status %d %q, want 400", input, status, msg)
	}
}

var filterSeeds = []string{
	`{}`, `{"code":"Oktell"}`, `{"enabled":1,"serveridx":11}`, `{"lic.siptrunks":7}`, `{"lic":{"siptrunks":7}}`,
	`{"transport":["tcp","tls"]}`, `{"trunksout":{"$gte":10,"$lt":9999}}`, `{"code":{"$like":"*a?"}}`,
	`{"code":{"$in":["a","b"]},"domain":{"$nin":[]}}`, `{"ext.ct":{"$lt":"2020-01-01T00:00:00Z"}}`,
	`{"pwd":"x"}`, `{"proxyport":"5060"}`, `{"code":null}`, `[1]`, `{"a":`, `{"lic":{"$eq":1}}`, `{"code":{"$like":"\\"}}`,
	`{"code":{"$eq":1e999}}`, `{"trunksout":-0}`, `{"opts":{"title":{"$ne":""}}}`,
}

func FuzzFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s)
	}
	v := fuzzView(f)
	f.Fuzz(func(t *testing.T, text string) {
		fl, err := parseFilter(text)
		must400(t, text, err)
		if err != nil {
			return
		}
		if match := fl.bind(v); match != nil {
			for i := range v.entries {
				match(i)
			}
		}
	})
}

var orderSeeds = []string{
	`code`, `-code`, `transport,-code`, `["code",{"ext.lwt":"desc"}]`, `[{"a":"asc","b":"desc"}]`, `[]`, `,`, `-`,
	`pwd`, `lic`, `["-trunksout"]`, `[{"code":"up"}]`, `{"code":"asc"}`, `[5]`, `code,code`, ` [ "id" ] `,
}

func FuzzOrder(f *testing.F) {
	for _, s := range orderSeeds {
		f.Add(s)
	}
	v := fuzzView(f)
	f.Fuzz(func(t *testing.T, text string) {
		keys, err := parseOrder(text)
		must400(t, text, err)
		if err != nil {
			return
		}
		perm := v.sortAll(keys)
		seen := make([]bool, len(perm))
		for _, i := range perm {
			if seen[i] {
				t.Fatalf("order %q: position %d twice", text, i)
			}
			seen[i] = true
		}
	})
}

var maskSeeds = []string{`id`, `code,lic`, `opts`, `ext.ct, id`, `pwd`, `opts.comment`, `,`, ``, `lic.siptrunks,lic`, `nope`, ` code `}

func FuzzMask(f *testing.F) {
	for _, s := range maskSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	v := fuzzView(f)
	f.Fuzz(func(t *testing.T, text string, flat bool) {
		for _, allowed := range []shape{shapeList, shapeRedacted, shapeFull} {
			sh, err := parseMask(text, allowed)
			must400(t, text, err)
			if err != nil {
				continue
			}
			for _, fld := range sh.fields {
				if fld.Path == "pwd" || !allowed.has(fld.Path) {
					t.Fatalf("mask %q selected %s", text, fld.Path)
				}
			}
			out := appendEntity(nil, v.entries[0].p, sh, flat, "")
			if !json.Valid(out) {
				t.Fatalf("mask %q: invalid JSON %s", text, out)
			}
		}
	})
}

var bodySeeds = []string{
	`{"code":"acme","domain":"acme.example"}`, `{"lic":{"siptrunks":5},"opts":{"title":"t","comment":"c"},"ext":{"x":[1,{}]}}`,
	`{"proxyport":"5060"}`, `{"proxyport":5060.0}`, `{"code":null}`, `{"code":"a","code":"b"}`, `[]`, `"x"`, ``, `{`,
	`{"lic.siptrunks":1}`, `{"trunksout":1e400}`, `{"enabled":true}`, `{"pwd":1}`, `{} {}`, "{\"code\":\"\xff\"}",
	`{"id":"c581b67c-016c-d219-b121-50e54938780c","expires":-1}`,
}

func FuzzDecodeEntity(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeEntity(data)
		must400(t, string(data), err)
		if err != nil {
			return
		}
		p := registry.Default()
		b.apply(&p)
		for _, l := range b.leaves {
			if got := l.field.Text(&p); l.field.Kind == registry.KindString && got != l.str {
				t.Fatalf("body %q: %s is %q after apply, want %q", data, l.field.Path, got, l.str)
			}
		}
	})
}

func FuzzDecodeLookup(f *testing.F) {
	for _, s := range []string{`"Oktell"`, `""`, `"a" "b"`, `["a"]`, `{"code":"a"}`, `3528769`, ``, `"\u00e9"`, "\"\xff\"", `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := decodeLookup(data)
		must400(t, string(data), err)
		if err == nil && !json.Valid(data) {
			t.Fatalf("%q accepted as %q but is not JSON", data, key)
		}
	})
}

// FuzzListQuery sends raw queries through the router: 200 or 400, always JSON.
func FuzzListQuery(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add("filter=" + url.QueryEscape(s))
	}
	for _, s := range orderSeeds {
		f.Add("order=" + url.QueryEscape(s) + "&limit=2&offset=1&flat=true")
	}
	f.Add("mask=code,lic&limit=-1")
	f.Add("%zz")
	v := fuzzView(f)
	s := &server{log: discardLogger()}
	f.Fuzz(func(t *testing.T, raw string) {
		rq := httptest.NewRequest(http.MethodGet, collectionPath, nil)
		rq.URL.RawQuery = raw
		w := httptest.NewRecorder()
		s.listOn(v, w, rq)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("query %q: status %d %s", raw, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("query %q: invalid JSON %s", raw, w.Body)
		}
	})
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\`, "<a&b>", "\x00\x1f\b\f\n\r\t", "\u2028\u2029", "\xff\xfe", "é€😀", "\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}

func FuzzWildcard(f *testing.F) {
	for _, s := range [][2]string{{"*a", "beta"}, {"?eta", "beta"}, {"a*b*c", "aXbYc"}, {`a\*`, "a*"}, {"**", ""}, {"?", "é"}, {`\`, `\`}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			t.Skip()
		}
		w, err := compileWildcard(pattern)
		if err != nil {
			t.Skip()
		}
		re := regexp.MustCompile("^(?s:" + wildcardRegexp(pattern) + ")$")
		if got, want := w.match(s), re.MatchString(s); got != want {
			t.Fatalf("pattern %q on %q: %v, regexp says %v", pattern, s, got, want)
		}
	})
}

// wildcardRegexp is an independent translation of a $like pattern.
func wildcardRegexp(pattern string) string {
	var b strings.Builder
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\\' && i+1 < len(rs):
			i++
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		case r == '*':
			b.WriteString(".*")
		case r == '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	return b.String()
}
