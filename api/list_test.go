package api

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/trunkd/trunkd/registry"
)

// listFixture adds four providers to the seed's two; the default order is
// by code: 3528769, Oktell, alpha, beta, delta, gamma.
var listFixture = map[string]string{
	"a1.yaml": providerYAML("alpha", "a.example.com", "serveridx: 1", "trunksout: 10", "lic: {siptrunks: 2}", "pingmode: options", "opts: {title: Alpha, comment: secret note}"),
	"b2.yaml": providerYAML("beta", "b.example.com", "enabled: 0", "serveridx: 2", "trunksout: 10", "lic: {siptrunks: 7}", "transport: tcp", "opts: {title: Beta}"),
	"c3.yaml": providerYAML("gamma", "c.example.net", "serveridx: 2", "trunksout: 5", "lic: {siptrunks: 7}", "transport: tls", `opts: {title: "Gamma?"}`),
	"d4.yaml": providerYAML("delta", "d.example.net", "serveridx: 11", "trunksout: 10"),
}

// byIDOrder sorts codes by their providers' ids, the tie-break order.
func byIDOrder(codes ...string) []string {
	id := func(c string) string {
		switch c {
		case "3528769":
			return sipnetID
		case "Oktell":
			return oktellID
		}
		return registry.DeriveID(c)
	}
	sort.Slice(codes, func(i, j int) bool { return id(codes[i]) < id(codes[j]) })
	return codes
}

func TestList(t *testing.T) {
	e := newEnv(t, listFixture)
	all := []string{"3528769", "Oktell", "alpha", "beta", "delta", "gamma"}
	cases := []struct {
		name  string
		query string
		codes []string
		total int
		keys  []string // exact keys of every item, when set
	}{
		{"all, by code", "", all, 6, nil},
		{"equality", `filter={"enabled":0}`, []string{"beta"}, 1, nil},
		{"two keys are ANDed", `filter={"enabled":1,"serveridx":11}`, []string{"3528769", "Oktell", "delta"}, 3, nil},
		{"dotted path", `filter={"lic.siptrunks":7}`, []string{"beta", "gamma"}, 2, nil},
		{"nested group", `filter={"lic":{"siptrunks":7}}`, []string{"beta", "gamma"}, 2, nil},
		{"array is any of", `filter={"transport":["tcp","tls"]}`, []string{"3528769", "beta", "gamma"}, 3, nil},
		{"range", `filter={"trunksout":{"$gte":10,"$lt":9999}}`, []string{"alpha", "beta", "delta"}, 3, nil},
		{"$eq", `filter={"code":{"$eq":"beta"}}`, []string{"beta"}, 1, nil},
		{"$ne", `filter={"code":{"$ne":"alpha"}}`, []string{"3528769", "Oktell", "beta", "delta", "gamma"}, 5, nil},
		{"$gt on text", `filter={"code":{"$gt":"beta"}}`, []string{"delta", "gamma"}, 2, nil},
		{"$lte", `filter={"trunksout":{"$lte":5}}`, []string{"3528769", "gamma"}, 2, nil},
		{"$in", `filter={"code":{"$in":["alpha","nobody"]}}`, []string{"alpha"}, 1, nil},
		{"$nin", `filter={"code":{"$nin":["alpha","beta"]}}`, []string{"3528769", "Oktell", "delta", "gamma"}, 4, nil},
		{"$like *", `filter={"code":{"$like":"*a"}}`, []string{"alpha", "beta", "delta", "gamma"}, 4, nil},
		{"$like ?", `filter={"code":{"$like":"?eta"}}`, []string{"beta"}, 1, nil},
		{"$like suffix", `filter={"domain":{"$like":"*.example.net"}}`, []string{"delta", "gamma"}, 2, nil},
		{"$like escape", `filter={"opts.title":{"$like":"Gamma\\?"}}`, []string{"gamma"}, 1, nil},
		{"$like no match", `filter={"opts.title":{"$like":"Gamma\\*"}}`, nil, 0, nil},
		{"time $lt", `filter={"ext.ct":{"$lt":"2020-01-01T00:00:00Z"}}`, []string{"3528769", "Oktell"}, 2, nil},
		{"time equality, other offset", `filter={"ext.ct":"2019-08-27T11:03:14.84+03:00"}`, []string{"3528769"}, 1, nil},
		{"empty filter object", `filter={}`, all, 6, nil},
		{"desc, ties by id", `order=-trunksout`, slices.Concat([]string{"Oktell"}, byIDOrder("alpha", "beta", "delta"), []string{"gamma", "3528769"}), 6, nil},
		{"json order", `order=["trunksout",{"code":"desc"}]`, []string{"3528769", "gamma", "delta", "beta", "alpha", "Oktell"}, 6, nil},
		{"comma order", `order=transport,-code`, []string{"beta", "3528769", "gamma", "delta", "alpha", "Oktell"}, 6, nil},
		{"asc ties by id", `order=lic.siptrunks`, slices.Concat([]string{"delta", "alpha", "3528769"}, byIDOrder("beta", "gamma"), []string{"Oktell"}), 6, nil},
		{"window", `offset=1&limit=2`, []string{"Oktell", "alpha"}, 6, nil},
		{"offset past the end", `offset=10`, nil, 6, nil},
		{"limit 0", `limit=0`, nil, 6, nil},
		{"filter, order, page", `filter={"enabled":1}&order=[{"lic.siptrunks":"desc"}]&limit=2`, []string{"Oktell", "gamma"}, 5, nil},
		{"filter, order, second page", `filter={"enabled":1}&order=-lic.siptrunks&offset=2&limit=2`, []string{"3528769", "alpha"}, 5, nil},
		{"mask", `mask=code,lic&filter={"code":"alpha"}`, nil, 1, []string{"code", "lic"}},
		{"mask keeps entity order", `mask=ext.lwt, code ,id&filter={"code":"alpha"}`, nil, 1, []string{"id", "code", "ext"}},
		{"mask group without comment", `mask=opts&filter={"code":"alpha"}`, nil, 1, []string{"opts"}},
		{"flat", `flat=true&mask=code,lic,opts,ext&filter={"code":"alpha"}`, nil, 1, []string{"code", "lic.siptrunks", "opts.title", "ext.ct", "ext.lwt"}},
		{"empty params are absent", `filter=&mask=&order=&offset=&limit=&flat=`, all, 6, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get(collectionPath+"?"+escapeQuery(tc.query), readerToken)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var items []map[string]any
			r.json(t, &items)
			if got := r.header.Get("X-Total-Count"); got != itoa(tc.total) {
				t.Errorf("X-Total-Count %s, want %d", got, tc.total)
			}
			if tc.keys != nil {
				checkKeys(t, r.body, tc.keys)
				return
			}
			var codes []string
			for _, it := range items {
				codes = append(codes, it["code"].(string))
			}
			if !slices.Equal(codes, tc.codes) {
				t.Errorf("codes %v, want %v", codes, tc.codes)
			}
			if strings.Contains(string(r.body), "secret") || strings.Contains(string(r.body), "pwd") {
				t.Errorf("list leaks pwd or opts.comment: %s", r.body)
			}
		})
	}
}

// escapeQuery percent-encodes the values of a readable query.
func escapeQuery(q string) string {
	if q == "" {
		return ""
	}
	var parts []string
	for _, kv := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		parts = append(parts, k+"="+url.QueryEscape(v))
	}
	return strings.Join(parts, "&")
}

func itoa(n int) string { return strconv.Itoa(n) }

// orderedKeysOfArray returns the keys of each object of a JSON array, in
// document order.
func orderedKeysOfArray(t *testing.T, body []byte) [][]string {
	t.Helper()
	v, err := parseJSON(string(body))
	if err != nil || v.kind != jArray {
		t.Fatalf("not a JSON array: %v: %s", err, body)
	}
	var out [][]string
	for _, it := range v.items {
		out = append(out, objectKeys(it))
	}
	return out
}

func objectKeys(v jvalue) []string {
	var keys []string
	for _, m := range v.members {
		keys = append(keys, m.key)
	}
	return keys
}

// checkKeys asserts that every object of a JSON array has exactly keys, in order.
func checkKeys(t *testing.T, body []byte, keys []string) {
	t.Helper()
	items := orderedKeysOfArray(t, body)
	if len(items) == 0 {
		t.Fatalf("no items: %s", body)
	}
	for _, got := range items {
		if !slices.Equal(got, keys) {
			t.Errorf("keys %v, want %v in %s", got, keys, body)
		}
	}
}

func TestListErrors(t *testing.T) {
	e := newEnv(t, listFixture)
	cases := []struct {
		query string
		want  string // in the error message
	}{
		{`filter=notjson`, "filter: malformed JSON"},
		{`filter=[1]`, "filter: must be a JSON object"},
		{`filter={"code":"a"} x`, "filter: unexpected data"},
		{`filter={"pwd":"x"}`, "filter: pwd cannot be filtered on"},
		{`filter={"opts.comment":""}`, "filter: opts.comment cannot be filtered on"},
		{`filter={"opts":{"comment":""}}`, "filter: opts.comment cannot be filtered on"},
		{`filter={"nope":1}`, `filter: unknown field "nope"`},
		{`filter={"proxyport":"5060"}`, "filter: proxyport: must be an integer, got a string"},
		{`filter={"proxyport":5060.5}`, "filter: proxyport: must be an integer"},
		{`filter={"code":5}`, "filter: code: must be a string, got a number"},
		{`filter={"code":null}`, "filter: code: must be a string, got null"},
		{`filter={"code":{"$regex":"x"}}`, `filter: code: unknown operator "$regex"`},
		{`filter={"code":{"$in":"x"}}`, "filter: code: $in takes an array"},
		{`filter={"code":{"$eq":["x"]}}`, "filter: code: must be a string, got an array"},
		{`filter={"code":{"$eq":"x","name":"y"}}`, `filter: code: "name" is not an operator`},
		{`filter={"code":{}}`, "filter: code: an empty object"},
		{`filter={"proxyport":{"$like":"5*"}}`, "filter: proxyport: $like applies to text fields only"},
		{`filter={"lic":5}`, "filter: lic is a group of fields"},
		{`filter={"ext.ct":"yesterday"}`, "filter: ext.ct: not an RFC 3339 time"},
		{`filter=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, "filter: nested deeper"},
		{`order=pwd`, "order: cannot order by pwd"},
		{`order=opts.comment`, "order: cannot order by opts.comment"},
		{`order=lic`, "order: lic is a group of fields"},
		{`order=nope`, `order: unknown field "nope"`},
		{`order=code,,id`, "order: empty field name"},
		{`order=[{"code":"up"}]`, `order: code: direction must be "asc" or "desc"`},
		{`order=[5]`, "order: items must be field names"},
		{`order=code,-code`, "order: code is named twice"},
		{`order={"code":"asc"}`, "order: must be a JSON array"},
		{`order=["code"`, "order: malformed JSON"},
		{`mask=pwd`, "mask: pwd cannot be selected"},
		{`mask=opts.comment`, "mask: opts.comment cannot be selected"},
		{`mask=nope`, `mask: unknown field "nope"`},
		{`mask=code,,id`, "mask: empty field name"},
		{`offset=-1`, "offset: must be a non-negative integer"},
		{`limit=abc`, "limit: must be a non-negative integer"},
		{`limit=1.5`, "limit: must be a non-negative integer"},
		{`limit=+3`, "limit: must be a non-negative integer"},
		{`offset=99999999999999999999999`, "offset: integer out of range"},
		{`flat=yes`, "flat: must be true or false"},
		{`unknown=1`, `unknown query parameter "unknown"`},
		{`limit=1&limit=2`, `query parameter "limit" given more than once`},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			for _, token := range []string{adminToken, readerToken} {
				r := e.get(collectionPath+"?"+escapeQuery(tc.query), token)
				if r.status != http.StatusBadRequest {
					t.Fatalf("status %d, want 400: %s", r.status, r.body)
				}
				if msg := r.errorBody(t).Message; !strings.Contains(msg, tc.want) {
					t.Errorf("message %q does not contain %q", msg, tc.want)
				}
			}
		})
	}
	r := e.get(collectionPath+"?mask=%zz", readerToken)
	if r.status != http.StatusBadRequest || !strings.Contains(r.errorBody(t).Message, "malformed query string") {
		t.Errorf("bad escape: %d %s", r.status, r.body)
	}
}
