package render

import (
	"encoding/xml"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/trunkd/trunkd/registry"
)

// renderWith creates the providers in a real registry and renders one
// built-in template over them (no server index).
func renderWith(t *testing.T, tmplName string, vars map[string]string, ps ...registry.Provider) (string, error) {
	t.Helper()
	reg := openRegistry(t, t.TempDir())
	for _, p := range ps {
		if _, err := reg.Create(p); err != nil {
			t.Fatalf("create provider %s: %v", p.Code, err)
		}
	}
	return renderData(t, tmplName, vars, reg.Snapshot())
}

func renderData(t *testing.T, tmplName string, vars map[string]string, snap *registry.Snapshot) (string, error) {
	t.Helper()
	tg, err := newTarget(TargetConfig{Name: "t", Template: tmplName, Output: "unused", Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	var outs trunkOutputs
	tg.outs = &outs
	set := outs.get(snap, -1, nil)
	if len(set.failed) > 0 {
		return "", set.failed[0].err
	}
	out, err := renderStrict(tg, tg.parsed, newData("t", -1, vars, set))
	return string(out), err
}

// provider returns a valid registering provider with the given code.
func provider(code string) registry.Provider {
	p := registry.Default()
	p.Code, p.Username, p.Pwd, p.Domain = code, code, code+"-pw", "sip."+code+".example"
	p.ProxyAddr, p.ProxyPort = "sbc."+code+".example", 5060
	return p
}

// parseDBText reads a db_text table as Kamailio does: ':' separates
// columns, backslash escapes \\ \: \n \r \t \0, any other escape fails.
func parseDBText(t *testing.T, text string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	ncols := len(strings.Fields(lines[0]))
	var rows [][]string
	for _, line := range lines[1:] {
		var cols []string
		var cur strings.Builder
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch {
			case c == ':':
				cols = append(cols, cur.String())
				cur.Reset()
			case c == '\\' && i+1 < len(line):
				i++
				m := map[byte]byte{'\\': '\\', ':': ':', 'n': '\n', 'r': '\r', 't': '\t', '0': 0}
				v, ok := m[line[i]]
				if !ok {
					t.Fatalf("db_text would reject the table: escape \\%c in %q", line[i], line)
				}
				cur.WriteByte(v)
			case c == '\\':
				t.Fatalf("db_text would reject the table: trailing backslash in %q", line)
			default:
				cur.WriteByte(c)
			}
		}
		cols = append(cols, cur.String())
		if len(cols) != ncols {
			t.Fatalf("row has %d columns, header %d: %q", len(cols), ncols, line)
		}
		rows = append(rows, cols)
	}
	return rows
}

func TestDBTextEscapeRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", `p:w\x`, "a\\:b", ":::", "\\", "tab\there", "nl\nand\rcr", "nul\x00", `\0\n`} {
		rows := parseDBText(t, "a(string) b(string) \n"+escapeDBText(s)+":end\n")
		if rows[0][0] != s || rows[0][1] != "end" {
			t.Errorf("escapeDBText(%q) read back as %q", s, rows[0])
		}
	}
}

// TestKamailioValuesStayInTheirColumn: a password full of db_text
// separators lands in auth_password and nowhere else.
func TestKamailioValuesStayInTheirColumn(t *testing.T) {
	pw := `p:w\x\\:y\:z`
	p := provider("kilo")
	p.Pwd = pw
	out, err := renderWith(t, "kamailio/uacreg", nil, p, provider("lima"))
	if err != nil {
		t.Fatal(err)
	}
	rows := parseDBText(t, out)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2:\n%s", len(rows), out)
	}
	if rows[0][1] != "kilo" || rows[0][8] != pw || rows[0][10] != "sip:sbc.kilo.example:5060" || rows[0][11] != "600" {
		t.Errorf("row = %q", rows[0])
	}
	if rows[1][1] != "lima" || rows[1][8] != "lima-pw" {
		t.Errorf("row = %q", rows[1])
	}

	// A code that could break the Contact or an attribute list is refused,
	// naming the trunk.
	bad := provider("ok")
	bad.Code = "mike:1"
	if err := refusedTwice(t, "kamailio/uacreg", bad, "code"); !strings.Contains(err.Error(), `trunk "mike:1"`) {
		t.Errorf("code with ':': err = %v", err)
	}
	user := provider("november")
	user.Username = "a@b"
	if err := refusedTwice(t, "kamailio/uacreg", user, "username"); !strings.Contains(err.Error(), "SIP URI user") {
		t.Errorf("username with '@': err = %v", err)
	}
}

// parseAsterisk reads an Asterisk config file as main/config.c does: ';'
// starts a comment unless escaped as '\;' (the backslash is dropped),
// a line starting with '[' opens a section (name up to the first ']'),
// other lines are name=value with white space trimmed.
func parseAsterisk(t *testing.T, text string) []asteriskSection {
	t.Helper()
	var secs []asteriskSection
	for _, raw := range strings.Split(text, "\n") {
		var line strings.Builder
		for i := 0; i < len(raw); i++ {
			if raw[i] == ';' {
				if i > 0 && raw[i-1] == '\\' {
					s := line.String()
					line.Reset()
					line.WriteString(s[:len(s)-1])
					line.WriteByte(';')
					continue
				}
				break
			}
			line.WriteByte(raw[i])
		}
		l := strings.TrimSpace(line.String())
		switch {
		case l == "":
		case l[0] == '[':
			end := strings.IndexByte(l, ']')
			if end < 0 {
				t.Fatalf("unterminated section header %q", l)
			}
			secs = append(secs, asteriskSection{name: l[1:end], vals: map[string]string{}})
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || len(secs) == 0 {
				t.Fatalf("line outside a section or without '=': %q", l)
			}
			// Asterisk reads "key=>value" as "key=value".
			secs[len(secs)-1].vals[strings.TrimSpace(k)] = strings.TrimSpace(strings.TrimPrefix(v, ">"))
		}
	}
	return secs
}

type asteriskSection struct {
	name string
	vals map[string]string
}

// TestAsteriskValuesStayInTheirPlace: ';' (comment), '[' (section) and a
// multi-line comment opener in a password or user stay inside the value.
func TestAsteriskValuesStayInTheirPlace(t *testing.T) {
	pw := `x;y[z]\;w ;-- not a comment [evil]`
	p := provider("oscar")
	p.Pwd, p.Login = pw, "u;ser"
	out, err := renderWith(t, "asterisk/pjsip.conf", nil, p)
	if err != nil {
		t.Fatal(err)
	}
	secs := parseAsterisk(t, out)
	var names []string
	for _, s := range secs {
		names = append(names, s.name+"/"+s.vals["type"])
	}
	want := "oscar-auth/auth oscar-reg/registration oscar/aor oscar/endpoint oscar-identify/identify"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("sections %s, want %s\n%s", got, want, out)
	}
	if secs[0].vals["password"] != pw || secs[0].vals["username"] != "u;ser" {
		t.Errorf("auth section read back as %v", secs[0].vals)
	}
	if got := secs[1].vals["outbound_proxy"]; got != "sip:sbc.oscar.example:5060;lr" {
		t.Errorf("outbound_proxy read back as %q", got)
	}

	// What the parser cannot represent is refused without echoing the value.
	for _, bad := range []string{"line\nbreak", " leading", "trailing\t"} {
		_, err := escapePJSIP(bad)
		if err == nil || strings.Contains(err.Error(), bad) {
			t.Errorf("escapePJSIP(%q) err = %v", bad, err)
		}
	}
	// A value that begins with '>' is written after a space, so that
	// "password=>x" does not read as "password=x".
	arrow := provider("oscar")
	arrow.Pwd = ">arrow"
	out, err = renderWith(t, "asterisk/pjsip.conf", nil, arrow)
	if err != nil {
		t.Fatal(err)
	}
	if got := parseAsterisk(t, out)[0].vals["password"]; got != ">arrow" {
		t.Errorf("password >arrow read back as %q", got)
	}
	// A newline cannot pass the registry's validation; a hand-built trunk
	// shows the template refuses it too.
	nl := provider("papa")
	nl.Pwd = "two\n[lines]"
	tg, _ := newTarget(TargetConfig{Name: "t", Template: "asterisk/pjsip.conf", Output: "unused"})
	tr, _ := newTrunk(&nl)
	if _, err := renderStrict(tg, tg.parsed, &Data{Trunks: []*Trunk{&tr}, Vars: map[string]string{}}); err == nil || strings.Contains(err.Error(), "two") {
		t.Errorf("password with a newline: err = %v", err)
	}
	sec := provider("ok")
	sec.Code = "quebec]\n[evil"
	if _, err := renderStrict(tg, tg.parsed, &Data{Trunks: []*Trunk{mustTrunk(t, &sec)}, Vars: map[string]string{}}); err == nil {
		t.Error("code with ']' rendered as a pjsip section name")
	}
}

func mustTrunk(t *testing.T, p *registry.Provider) *Trunk {
	t.Helper()
	tr, err := newTrunk(p)
	if err != nil {
		t.Fatal(err)
	}
	return &tr
}

type fsInclude struct {
	Gateways []struct {
		Name   string `xml:"name,attr"`
		Params []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"param"`
	} `xml:"gateway"`
}

// TestFreeSWITCHValuesStayInTheirPlace: XML specials and '$' survive as
// data; the pre-processor's "$${" never appears; "${" is refused.
func TestFreeSWITCHValuesStayInTheirPlace(t *testing.T) {
	pw := `<&>"'/><param name="x" value="$$y$`
	p := provider("romeo")
	p.Pwd = pw
	out, err := renderWith(t, "freeswitch/gateways.xml", nil, p)
	if err != nil {
		t.Fatal(err)
	}
	var inc fsInclude
	if err := xml.Unmarshal([]byte(out), &inc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, out)
	}
	if len(inc.Gateways) != 1 || inc.Gateways[0].Name != "romeo" {
		t.Fatalf("gateways %+v", inc.Gateways)
	}
	params := map[string]string{}
	for _, pr := range inc.Gateways[0].Params {
		if _, dup := params[pr.Name]; dup {
			t.Errorf("param %s twice", pr.Name)
		}
		params[pr.Name] = pr.Value
	}
	if params["password"] != pw || params["username"] != "romeo" || params["register-proxy"] != "sbc.romeo.example:5060" {
		t.Errorf("params read back as %v", params)
	}
	if strings.Contains(out, "$") {
		t.Errorf("a raw '$' reached the file; the pre-processor could expand it:\n%s", out)
	}
	for _, bad := range []string{"a${b}", "$${b}", "ctl\x01"} {
		q := provider("sierra")
		q.Pwd = bad
		err := refusedTwice(t, "freeswitch/gateways.xml", q, "pwd")
		if strings.Contains(err.Error(), bad) {
			t.Errorf("password %q: err = %v", bad, err)
		}
	}
}

// TestDispatcherAttributesStayInTheirPlace: the code becomes the duid
// attribute only when it cannot split the attribute list.
func TestDispatcherAttributesStayInTheirPlace(t *testing.T) {
	p := provider("tango")
	p.PingSrv = "ping.tango.example:5070"
	p.Transport = "tcp"
	p.PingMode = "options"
	out, err := renderWith(t, "kamailio/dispatcher.list", nil, p)
	if err != nil {
		t.Fatal(err)
	}
	want := `1 sip:sbc.tango.example:5060;transport=tcp 24 0 duid=tango;obproxy="sip:ping.tango.example:5070;transport=tcp"`
	if !strings.Contains(out, want+"\n") {
		t.Errorf("dispatcher line missing %q in\n%s", want, out)
	}
	for _, code := range []string{"a;b", "a b", "a=b", "#a", `a"b`} {
		q := provider("ok")
		q.Code = code
		refusedTwice(t, "kamailio/dispatcher.list", q, "code")
	}
}

// TestHostsStayInTheirPlace: templates write hosts unescaped, so a host
// that could split a dispatcher line or a URI (an IPv6 zone with spaces,
// ';', '"', '<', '#') must never reach them: the registry refuses it in
// every host field, and a plain zone renders.
func TestHostsStayInTheirPlace(t *testing.T) {
	ok := provider("uniform")
	ok.ProxyAddr = "fe80::1%eth0"
	out, err := renderWith(t, "kamailio/dispatcher.list", nil, ok)
	if err != nil || !strings.Contains(out, "1 sip:[fe80::1%eth0]:5060 0 0 duid=uniform\n") {
		t.Fatalf("plain zone: err %v\n%s", err, out)
	}
	set := map[string]func(*registry.Provider, string){
		"domain":              func(p *registry.Provider, h string) { p.Domain = h },
		"proxyaddr":           func(p *registry.Provider, h string) { p.ProxyAddr = h },
		"localdomain":         func(p *registry.Provider, h string) { p.LocalDomain = h },
		"pingsrv":             func(p *registry.Provider, h string) { p.PingSrv = "[" + h + "]:5060" },
		"alternative_proxies": func(p *registry.Provider, h string) { p.AlternativeProxies = "udp:[" + h + "]:5060" },
		"extaddrs":            func(p *registry.Provider, h string) { p.ExtAddrs = h },
	}
	for field, f := range set {
		for _, zone := range []string{"x 8 0 duid=evil", `a;b"c<d`, "a#b"} {
			p := provider("uniform")
			f(&p, "fe80::1%"+zone)
			probs := registry.Validate(&p)
			if len(probs) == 0 || probs[0].Field != field {
				t.Errorf("%s with zone %q: the registry let it through to the templates: %v", field, zone, probs)
			}
		}
	}
}

// TestDigestUserWithAt: a login like "1001@sip.example" (common at
// providers) renders in every engine; a quote cannot reach Kamailio's
// unescaped Authorization header.
func TestDigestUserWithAt(t *testing.T) {
	p := provider("victor")
	p.Login = "1001@sip.victor.example"
	for _, tmpl := range []string{"kamailio/uacreg", "asterisk/pjsip.conf", "freeswitch/gateways.xml"} {
		out, err := renderWith(t, tmpl, nil, p)
		if err != nil || !strings.Contains(out, "1001@sip.victor.example") {
			t.Errorf("%s: %v\n%s", tmpl, err, out)
		}
	}
	if rows := parseDBText(t, mustRender(t, "kamailio/uacreg", p)); rows[0][7] != "1001@sip.victor.example" {
		t.Errorf("auth_username %q", rows[0][7])
	}
	for _, bad := range []string{`a"b`, `a\b`, "a\x01b"} {
		q := provider("whiskey")
		q.Login = bad
		if err := refusedTwice(t, "kamailio/uacreg", q, "login"); strings.Contains(err.Error(), bad) {
			t.Errorf("login %q: err = %v", bad, err)
		}
	}
}

// refusedTwice checks both lines of defence against a value an engine
// cannot take: the registry refuses p in field, and the template, given a
// trunk built by hand around the registry, fails naming the trunk. It
// returns the template's error.
func refusedTwice(t *testing.T, tmpl string, p registry.Provider, field string) error {
	t.Helper()
	if probs := registry.Validate(&p); len(probs) == 0 || probs[0].Field != field {
		t.Errorf("registry: %s %+v: problems %v, want one for %s", tmpl, p, probs, field)
	}
	tg, err := newTarget(TargetConfig{Name: "t", Template: tmpl, Output: "unused"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = renderStrict(tg, tg.parsed, &Data{Trunks: []*Trunk{mustTrunk(t, &p)}, Registering: []*Trunk{mustTrunk(t, &p)}, Vars: map[string]string{}})
	if err == nil {
		t.Fatalf("template %s rendered %+v", tmpl, p)
	}
	return err
}

func mustRender(t *testing.T, tmpl string, ps ...registry.Provider) string {
	t.Helper()
	out, err := renderWith(t, tmpl, nil, ps...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCheckSIPUser(t *testing.T) {
	for _, ok := range []string{"1001", "+4930123456", "a.b-c_d!~*'()&=+$,;?/", "%41b"} {
		if _, err := checkSIPUser(ok); err != nil {
			t.Errorf("checkSIPUser(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a@b", "a b", `a"b`, `a\b`, "a:b", "%4", "%zz", "a<b"} {
		if _, err := checkSIPUser(bad); err == nil {
			t.Errorf("checkSIPUser(%q) accepted", bad)
		}
	}
}

// TestMissingKeyIsAnError: templates run with missingkey=error.
func TestMissingKeyIsAnError(t *testing.T) {
	tmpl, err := parseTemplate("x", `{{.Vars.nope}}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = execute(tmpl, &Data{Vars: map[string]string{}})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing key: err = %v", err)
	}
	var execErr error = err
	if errors.Unwrap(execErr) == nil && !strings.Contains(err.Error(), "map has no entry") {
		t.Errorf("unexpected error %v", err)
	}
}

// TestTrunkHasEveryProviderField: templates see every provider field
// under its Go name, with the same type.
func TestTrunkHasEveryProviderField(t *testing.T) {
	pt, tt := reflect.TypeOf(registry.Provider{}), reflect.TypeOf(Trunk{})
	for i := range pt.NumField() {
		f := pt.Field(i)
		g, ok := tt.FieldByName(f.Name)
		if !ok || g.Type != f.Type || len(g.Index) != 1 {
			t.Errorf("Trunk lacks provider field %s %s", f.Name, f.Type)
		}
	}
	p := provider("uniform")
	p.Lic.SipTrunks, p.Opts.Title = 7, "title"
	tr := mustTrunk(t, &p)
	pv, tv := reflect.ValueOf(p), reflect.ValueOf(*tr)
	for i := range pt.NumField() {
		name := pt.Field(i).Name
		if !reflect.DeepEqual(pv.Field(i).Interface(), tv.FieldByName(name).Interface()) {
			t.Errorf("Trunk.%s = %v, provider has %v", name, tv.FieldByName(name), pv.Field(i))
		}
	}
}
