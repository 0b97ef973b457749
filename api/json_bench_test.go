package api

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/trunkd/trunkd/registry"
)

// The benchmarks of this file put each hand-written JSON piece of the
// package against encoding/json doing the same work (same input, same
// output bytes or values, checked before timing). Issue 12's rule: a
// piece stays only while it is at least 1.5× faster; doc.go lists the
// kept ones with their figure. Run them with
// go test -run '^$' -bench 'JSON' -benchmem -count 5 ./api/.

// benchProvider is the seed's first provider, parsed from its example file.
func benchProvider(b *testing.B) *registry.Provider {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("..", "examples", "providers", "3528769.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	p, err := registry.Parse("3528769.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	return &p
}

// sameBytes fails the benchmark unless both encoders wrote the same bytes.
func sameBytes(b *testing.B, hand, std []byte) {
	b.Helper()
	if !bytes.Equal(hand, std) {
		b.Fatalf("outputs differ:\n%s\n%s", hand, std)
	}
}

// BenchmarkJSONString: appendJSONString against json.Marshal on every
// string value of the seed provider.
func BenchmarkJSONString(b *testing.B) {
	p := benchProvider(b)
	var strs []string
	for _, f := range registry.Fields {
		if f.Kind != registry.KindInt {
			strs = append(strs, f.Text(p))
		}
	}
	encode := func(buf []byte) []byte {
		for _, s := range strs {
			m, _ := json.Marshal(s)
			buf = append(buf, m...)
		}
		return buf
	}
	hand := func(buf []byte) []byte {
		for _, s := range strs {
			buf = appendJSONString(buf, s)
		}
		return buf
	}
	sameBytes(b, hand(nil), encode(nil))
	buf := make([]byte, 0, 4096)
	b.Run("hand", func(b *testing.B) {
		for b.Loop() {
			buf = hand(buf[:0])
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			buf = encode(buf[:0])
		}
	})
}

// BenchmarkJSONEntity: appendEntity against json.MarshalIndent on one
// full provider, indented as the seed shows it.
func BenchmarkJSONEntity(b *testing.B) {
	p := benchProvider(b)
	std, _ := json.MarshalIndent(p, "", "  ")
	sameBytes(b, appendEntity(nil, p, shapeFull, false, ""), std)
	b.Run("hand", func(b *testing.B) {
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			buf = appendEntity(buf[:0], p, shapeFull, false, "")
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.MarshalIndent(p, "", "  "); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchFilter is a filter parameter using every form of the language.
const benchFilter = `{"enabled":1,"lic":{"siptrunks":{"$gte":5}},"transport":["tcp","tls"],"code":{"$like":"trunk-*"},"ext.ct":{"$lt":"2030-01-01T00:00:00Z"}}`

// BenchmarkJSONQuery: parseJSON (the query parameters' parser, which keeps
// object members in order) against decoding into any with UseNumber.
func BenchmarkJSONQuery(b *testing.B) {
	std := func() any {
		dec := json.NewDecoder(bytes.NewReader([]byte(benchFilter)))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			b.Fatal(err)
		}
		return v
	}
	v, err := parseJSON(benchFilter)
	if err != nil {
		b.Fatal(err)
	}
	if got, want := jvalueAny(v), std(); !reflect.DeepEqual(got, want) {
		b.Fatalf("values differ:\n%v\n%v", got, want)
	}
	b.Run("hand", func(b *testing.B) {
		for b.Loop() {
			if _, err := parseJSON(benchFilter); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			std()
		}
	})
}

// jvalueAny is v as encoding/json decodes it into any with UseNumber.
func jvalueAny(v jvalue) any {
	switch v.kind {
	case jBool:
		return v.text == "true"
	case jNumber:
		return json.Number(v.text)
	case jString:
		return v.text
	case jArray:
		out := []any{}
		for _, it := range v.items {
			out = append(out, jvalueAny(it))
		}
		return out
	case jObject:
		out := map[string]any{}
		for _, m := range v.members {
			out[m.key] = jvalueAny(m.val)
		}
		return out
	}
	return nil
}

// benchBody is a POST body with strings, integers and both kinds of group.
const benchBody = `{"code":"acme","domain":"acme.example","pwd":"secret-1","transport":"tls","proxyport":5061,` +
	`"serveridx":11,"lic":{"siptrunks":5},"opts":{"title":"Acme","comment":"bench"}}`

// BenchmarkJSONBody: decodeEntity (a strict token walk: repeated fields,
// nulls and dotted keys refused, fields kept in the order sent) applied to
// the defaults, against json.Unmarshal of the same body onto the defaults.
func BenchmarkJSONBody(b *testing.B) {
	hand := func() registry.Provider {
		body, err := decodeEntity([]byte(benchBody))
		if err != nil {
			b.Fatal(err)
		}
		p := registry.Default()
		body.apply(&p)
		return p
	}
	std := func() registry.Provider {
		p := registry.Default()
		if err := json.Unmarshal([]byte(benchBody), &p); err != nil {
			b.Fatal(err)
		}
		return p
	}
	if got, want := hand(), std(); got != want {
		b.Fatalf("values differ:\n%+v\n%+v", got, want)
	}
	b.Run("hand", func(b *testing.B) {
		for b.Loop() {
			hand()
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			std()
		}
	})
}

// listItem is the list's shape (no pwd, no opts.comment) as a Go type, for
// encoding/json.
type listItem struct {
	ID                 string       `json:"id"`
	Code               string       `json:"code"`
	Enabled            int          `json:"enabled"`
	Username           string       `json:"username"`
	Login              string       `json:"login"`
	Domain             string       `json:"domain"`
	ProxyAddr          string       `json:"proxyaddr"`
	ProxyPort          int          `json:"proxyport"`
	Transport          string       `json:"transport"`
	AlternativeProxies string       `json:"alternative_proxies"`
	ExtAddrs           string       `json:"extaddrs"`
	ServerIdx          int          `json:"serveridx"`
	Reg                int          `json:"reg"`
	Expires            int          `json:"expires"`
	PingMode           string       `json:"pingmode"`
	PingSrv            string       `json:"pingsrv"`
	PingTimeout        int          `json:"pingtimeout"`
	LocalDomain        string       `json:"localdomain"`
	Media              int          `json:"media"`
	Reinvite           int          `json:"reinvite"`
	Translit           int          `json:"translit"`
	Lic                registry.Lic `json:"lic"`
	TrunksOut          int          `json:"trunksout"`
	Opts               struct {
		Title string `json:"title"`
	} `json:"opts"`
	Ext registry.Ext `json:"ext"`
}

func listItemOf(p *registry.Provider) listItem {
	it := listItem{ID: p.ID, Code: p.Code, Enabled: p.Enabled, Username: p.Username, Login: p.Login,
		Domain: p.Domain, ProxyAddr: p.ProxyAddr, ProxyPort: p.ProxyPort, Transport: p.Transport,
		AlternativeProxies: p.AlternativeProxies, ExtAddrs: p.ExtAddrs, ServerIdx: p.ServerIdx, Reg: p.Reg,
		Expires: p.Expires, PingMode: p.PingMode, PingSrv: p.PingSrv, PingTimeout: p.PingTimeout,
		LocalDomain: p.LocalDomain, Media: p.Media, Reinvite: p.Reinvite, Translit: p.Translit,
		Lic: p.Lic, TrunksOut: p.TrunksOut, Ext: p.Ext}
	it.Opts.Title = p.Opts.Title
	return it
}

// BenchmarkJSONListPage: a page of 100 list items from the view's
// per-provider cache (the list path), against encoding them again with
// appendEntity and with json.MarshalIndent.
func BenchmarkJSONListPage(b *testing.B) {
	reg, err := registry.Open(registry.Options{Dir: benchDir(b, 1000), Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	var c viewCache
	v := c.get(reg)
	page := identityWindow(len(v.entries), 100, 100)
	cachedQ, maskQ := listQuery{}, listQuery{mask: &shapeList}
	std := func() []byte {
		items := make([]listItem, len(page))
		for j, i := range page {
			items[j] = listItemOf(v.entries[i].p)
		}
		out, _ := json.MarshalIndent(items, "", "  ")
		return append(out, '\n')
	}
	sameBytes(b, v.appendPage(nil, page, &cachedQ), std())
	sameBytes(b, v.appendPage(nil, page, &maskQ), std())
	buf := make([]byte, 0, 128<<10)
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			buf = v.appendPage(buf[:0], page, &cachedQ)
		}
	})
	b.Run("hand", func(b *testing.B) {
		for b.Loop() {
			buf = v.appendPage(buf[:0], page, &maskQ)
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			std()
		}
	})
}

// BenchmarkJSONSingle: GET /{id}'s body and ETag from the view's
// per-provider cache, against encoding the entity with json.MarshalIndent
// and hashing it for each request.
func BenchmarkJSONSingle(b *testing.B) {
	p := benchProvider(b)
	key := new([32]byte)
	e := &entry{p: p}
	std := func() ([]byte, string) {
		full, _ := json.MarshalIndent(p, "", "  ")
		return full, etagOf(key, full)
	}
	full, etag := std()
	if one := e.single(key); !bytes.Equal(one.full, full) || one.etag != etag {
		b.Fatalf("outputs differ:\n%s %s\n%s %s", one.full, one.etag, full, etag)
	}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			e.single(key)
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			std()
		}
	})
}
