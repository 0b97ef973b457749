package registry

// Kind is the JSON type of a provider field.
type Kind int

// The kinds of provider fields.
const (
	KindString Kind = iota // a JSON string
	KindInt                // a JSON integer
	KindTime               // a JSON string holding a Timestamp
)

// Field describes one leaf of the provider entity, addressed by its dotted
// path ("code", "lic.siptrunks", "ext.ct"). The table is the one place that
// maps names to struct members; decoding, node edits, the API's query
// language and flat output all go through it.
type Field struct {
	Path string
	Kind Kind
	str  func(*Provider) *string
	num  func(*Provider) *int
	ts   func(*Provider) *Timestamp
}

// Value returns the field's value in p: a string, an int or a Timestamp.
func (f *Field) Value(p *Provider) any {
	switch f.Kind {
	case KindInt:
		return *f.num(p)
	case KindTime:
		return *f.ts(p)
	default:
		return *f.str(p)
	}
}

// Text returns the field's value in p as YAML/flat text.
func (f *Field) Text(p *Provider) string {
	switch f.Kind {
	case KindInt:
		return itoa(*f.num(p))
	case KindTime:
		return f.ts(p).String()
	default:
		return *f.str(p)
	}
}

// SetString sets a KindString field of p.
func (f *Field) SetString(p *Provider, s string) { *f.str(p) = s }

// SetInt sets a KindInt field of p.
func (f *Field) SetInt(p *Provider, n int) { *f.num(p) = n }

// Fields lists every leaf field in the seed's order.
var Fields = []*Field{
	strField("id", func(p *Provider) *string { return &p.ID }),
	strField("code", func(p *Provider) *string { return &p.Code }),
	intField("enabled", func(p *Provider) *int { return &p.Enabled }),
	strField("username", func(p *Provider) *string { return &p.Username }),
	strField("login", func(p *Provider) *string { return &p.Login }),
	strField("pwd", func(p *Provider) *string { return &p.Pwd }),
	strField("domain", func(p *Provider) *string { return &p.Domain }),
	strField("proxyaddr", func(p *Provider) *string { return &p.ProxyAddr }),
	intField("proxyport", func(p *Provider) *int { return &p.ProxyPort }),
	strField("transport", func(p *Provider) *string { return &p.Transport }),
	strField("alternative_proxies", func(p *Provider) *string { return &p.AlternativeProxies }),
	strField("extaddrs", func(p *Provider) *string { return &p.ExtAddrs }),
	intField("serveridx", func(p *Provider) *int { return &p.ServerIdx }),
	intField("reg", func(p *Provider) *int { return &p.Reg }),
	intField("expires", func(p *Provider) *int { return &p.Expires }),
	strField("pingmode", func(p *Provider) *string { return &p.PingMode }),
	strField("pingsrv", func(p *Provider) *string { return &p.PingSrv }),
	intField("pingtimeout", func(p *Provider) *int { return &p.PingTimeout }),
	strField("localdomain", func(p *Provider) *string { return &p.LocalDomain }),
	intField("media", func(p *Provider) *int { return &p.Media }),
	intField("reinvite", func(p *Provider) *int { return &p.Reinvite }),
	intField("translit", func(p *Provider) *int { return &p.Translit }),
	intField("lic.siptrunks", func(p *Provider) *int { return &p.Lic.SipTrunks }),
	intField("trunksout", func(p *Provider) *int { return &p.TrunksOut }),
	strField("opts.title", func(p *Provider) *string { return &p.Opts.Title }),
	strField("opts.comment", func(p *Provider) *string { return &p.Opts.Comment }),
	timeField("ext.ct", func(p *Provider) *Timestamp { return &p.Ext.CT }),
	timeField("ext.lwt", func(p *Provider) *Timestamp { return &p.Ext.LWT }),
}

// Groups are the composite fields of the entity and the leaves under each.
var Groups = map[string][]string{
	"lic":  {"siptrunks"},
	"opts": {"title", "comment"},
	"ext":  {"ct", "lwt"},
}

var fieldByPath = func() map[string]*Field {
	m := make(map[string]*Field, len(Fields))
	for _, f := range Fields {
		m[f.Path] = f
	}
	return m
}()

// FieldByPath returns the field with the given dotted path, or nil.
func FieldByPath(path string) *Field { return fieldByPath[path] }

func strField(path string, f func(*Provider) *string) *Field {
	return &Field{Path: path, Kind: KindString, str: f}
}

func intField(path string, f func(*Provider) *int) *Field {
	return &Field{Path: path, Kind: KindInt, num: f}
}

func timeField(path string, f func(*Provider) *Timestamp) *Field {
	return &Field{Path: path, Kind: KindTime, ts: f}
}
