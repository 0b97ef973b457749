package importer_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/trunkd/trunkd/render/importer"
)

// secret is the password of every trunk in the error cases: it must never
// appear in an issue.
const secret = "Zq9-very-secret"

// peer is a complete registering pjsip trunk "ok" that every Asterisk
// error case carries along: it must still be imported.
const peer = `
[ok-auth]
type=auth
username=ok
password=` + secret + `
[ok]
type=registration
outbound_auth=ok-auth
server_uri=sip:sip.ok.example
client_uri=sip:ok@sip.ok.example
endpoint=ok
[ok]
type=aor
contact=sip:sip.ok.example
[ok]
type=endpoint
aors=ok
outbound_auth=ok-auth
`

// errorCase is one input that cannot be (fully) imported.
type errorCase struct {
	name, format string
	input        string
	vars         map[string]string
	wantIssue    string   // a substring of an Error issue
	wantLine     int      // its line
	notImported  []string // Result.NotImported
	imported     []string // codes of the trunks that still come through
}

var errorCases = []errorCase{
	{name: "missing auth section", format: "asterisk", input: peer + `
[t1]
type=endpoint
aors=t1
outbound_auth=t1-auth
[t1]
type=aor
contact=sip:sip.t1.example
`, wantIssue: `outbound_auth names "t1-auth", but there is no type=auth section`, wantLine: 23, notImported: []string{"t1"}, imported: []string{"ok"}},

	{name: "md5_cred only", format: "asterisk", input: peer + `
[t2-auth]
type=auth
auth_type=md5
username=t2
md5_cred=0123456789abcdef0123456789abcdef
realm=sip.t2.example
[t2]
type=endpoint
outbound_auth=t2-auth
aors=t2
[t2]
type=aor
contact=sip:sip.t2.example
`, wantIssue: "auth_type=md5: the md5_cred hash cannot be turned back into a password", wantLine: 22, notImported: []string{"t2"}, imported: []string{"ok"}},

	{name: "userpass with md5_cred only", format: "asterisk", input: peer + `
[t3-auth]
type=auth
username=t3
md5_cred=0123456789abcdef0123456789abcdef
[t3]
type=endpoint
outbound_auth=t3-auth
from_domain=sip.t3.example
`, wantIssue: "holds only a hashed credential", wantLine: 23, notImported: []string{"t3"}, imported: []string{"ok"}},

	{name: "unknown transport protocol", format: "asterisk", input: peer + `
[transport-ws]
type=transport
protocol=wss
[t4]
type=endpoint
transport=transport-ws
aors=t4
[t4]
type=aor
contact=sip:sip.t4.example
`, wantIssue: `transport "wss" (protocol of transport [transport-ws]) is not one trunkd knows`, wantLine: 22, notImported: []string{"t4"}, imported: []string{"ok"}},

	{name: "unknown transport in a URI", format: "asterisk", input: peer + `
[t5]
type=endpoint
aors=t5
[t5]
type=aor
contact=sip:sip.t5.example\;transport=sctp
`, wantIssue: `transport "sctp" (aor contact) is not one trunkd knows`, wantLine: 25, notImported: []string{"t5"}, imported: []string{"ok"}},

	{name: "duplicate endpoint", format: "asterisk", input: peer + `
[dup]
type=endpoint
aors=ok
[dup]
type=endpoint
aors=ok
`, wantIssue: "endpoint [dup] is defined twice (first at asterisk:20)", wantLine: 23, notImported: []string{"dup"}, imported: []string{"ok"}},

	{name: "include", format: "asterisk", input: peer + `
#include pjsip_trunks.conf
`, wantIssue: "#include pjsip_trunks.conf is not followed", wantLine: 20, imported: []string{"ok"}},

	{name: "wizard", format: "asterisk", input: peer + `
[wiz]
type=wizard
sends_auth=yes
sends_registrations=yes
remote_hosts=sip.wiz.example
outbound_auth/username=wiz
outbound_auth/password=` + secret + `
`, wantIssue: "type=wizard objects are not imported", wantLine: 20, notImported: []string{"wiz"}, imported: []string{"ok"}},

	{name: "registration without endpoint", format: "asterisk", input: peer + `
[lonely]
type=registration
server_uri=sip:sip.lonely.example
client_uri=sip:l@sip.lonely.example
`, wantIssue: "registration [lonely] is linked to no endpoint", wantLine: 20, notImported: []string{"lonely"}, imported: []string{"ok"}},

	{name: "tel URI", format: "asterisk", input: peer + `
[t6]
type=registration
client_uri=tel:+15551234
server_uri=sip:sip.t6.example
endpoint=t6
[t6]
type=endpoint
from_domain=sip.t6.example
`, wantIssue: "tel: URIs are not SIP URIs", wantLine: 22, notImported: []string{"t6"}, imported: []string{"ok"}},

	{name: "password in a URI", format: "asterisk", input: peer + `
[t7]
type=registration
client_uri=sip:t7:` + secret + `@sip.t7.example
server_uri=sip:sip.t7.example
endpoint=t7
[t7]
type=endpoint
from_domain=sip.t7.example
`, wantIssue: `client_uri: cannot use "sip:t7:***@sip.t7.example": the URI holds a password`, wantLine: 22, notImported: []string{"t7"}, imported: []string{"ok"}},

	{name: "unresolved $${var} password", format: "freeswitch", input: `<include>
  <gateway name="acme">
    <param name="username" value="1001"/>
    <param name="password" value="$${acme_password}"/>
    <param name="proxy" value="sip.acme.example"/>
  </gateway>
  <gateway name="ok">
    <param name="username" value="ok"/>
    <param name="password" value="` + secret + `"/>
    <param name="proxy" value="sip.ok.example"/>
  </gateway>
</include>`, wantIssue: "password refers to $${acme_password}, which no X-PRE-PROCESS set in the given files defines", wantLine: 4, notImported: []string{"acme"}, imported: []string{"ok"}},

	{name: "runtime ${var} password", format: "freeswitch", input: `<include><gateway name="rt">
    <param name="username" value="1001"/>
    <param name="password" value="${sofia_secret}"/>
    <param name="proxy" value="sip.rt.example"/>
  </gateway></include>`, wantIssue: "holds the runtime variable ${sofia_secret}", wantLine: 3, notImported: []string{"rt"}},

	{name: "unknown register-transport", format: "freeswitch", input: `<include><gateway name="ws">
    <param name="username" value="1001"/>
    <param name="password" value="` + secret + `"/>
    <param name="proxy" value="sip.ws.example"/>
    <param name="register-transport" value="wss"/>
  </gateway></include>`, wantIssue: `transport "wss" (from register-transport) is not one trunkd knows`, wantLine: 5, notImported: []string{"ws"}},

	{name: "duplicate gateway", format: "freeswitch", input: `<include>
  <gateway name="twice"><param name="register" value="false"/><param name="proxy" value="198.51.100.1"/></gateway>
  <gateway name="twice"><param name="register" value="false"/><param name="proxy" value="198.51.100.2"/></gateway>
</include>`, wantIssue: `gateway "twice" is defined twice (first at freeswitch:2)`, wantLine: 3, notImported: []string{"twice"}},

	{name: "registering gateway without username", format: "freeswitch", input: `<include><gateway name="nouser">
    <param name="password" value="` + secret + `"/>
    <param name="proxy" value="sip.nouser.example"/>
  </gateway></include>`, wantIssue: "a registering gateway needs username", wantLine: 1, notImported: []string{"nouser"}},

	{name: "X-PRE-PROCESS include", format: "freeswitch", input: `<profile name="external">
  <gateways>
    <X-PRE-PROCESS cmd="include" data="external/*.xml"/>
  </gateways>
</profile>`, wantIssue: "X-PRE-PROCESS include external/*.xml is not followed", wantLine: 3},

	{name: "malformed XML", format: "freeswitch", input: `<include>
  <gateway name="broken">
    <param name="password" value="` + secret + `>
</include>`, wantIssue: "not well-formed XML", wantLine: 3},
}

// TestErrors: each input reports an Error issue at the right line, the
// trunk at fault is listed as not imported, the others still come
// through, and no issue ever holds the password.
func TestErrors(t *testing.T) {
	for _, c := range errorCases {
		t.Run(c.name, func(t *testing.T) {
			res, err := importer.Import(c.format, []importer.Source{{Name: c.format, Data: []byte(c.input)}}, importer.Options{ServerIndex: 11, Vars: c.vars})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Failed() {
				t.Errorf("Failed() is false")
			}
			found := false
			for _, i := range res.Issues {
				if i.Severity == importer.Error && strings.Contains(i.Msg, c.wantIssue) && i.Line == c.wantLine {
					found = true
				}
				if strings.Contains(i.String(), secret) {
					t.Errorf("an issue holds the password: %s", i)
				}
			}
			if !found {
				t.Errorf("no error %q at line %d in:\n%s", c.wantIssue, c.wantLine, issueLines(res.Issues))
			}
			if !reflect.DeepEqual(res.NotImported, c.notImported) {
				t.Errorf("not imported %q, want %q", res.NotImported, c.notImported)
			}
			if got := codes(res.Trunks); !reflect.DeepEqual(got, c.imported) {
				t.Errorf("imported %q, want %q", got, c.imported)
			}
		})
	}
}

// TestVarsResolvePassword: the gateway imports once vars.xml gives the
// variable; a "$${" written with character references is no pre-processor
// reference (FreeSWITCH's pre-processor reads the raw text) but still a
// runtime ${variable}, which is refused.
func TestVarsResolvePassword(t *testing.T) {
	gw := `<include><gateway name="acme">
    <param name="username" value="1001"/>
    <param name="password" value="$${acme_password}"/>
    <param name="proxy" value="sip.acme.example"/>
  </gateway>
  <gateway name="literal">
    <param name="username" value="2002"/>
    <param name="password" value="a&#36;&#36;{b}c"/>
    <param name="proxy" value="sip.literal.example"/>
  </gateway></include>`
	vars, issues := importer.ParseFreeSWITCHVars(importer.Source{Name: "vars.xml", Data: []byte(`<include>
  <!-- <X-PRE-PROCESS cmd="set" data="acme_password=commented-out"/> -->
  <X-PRE-PROCESS cmd="set" data="acme_password=` + secret + `"/>
</include>`)})
	if len(issues) > 0 {
		t.Fatal(issueLines(issues))
	}
	res := importer.FreeSWITCH([]importer.Source{{Name: "acme.xml", Data: []byte(gw)}}, importer.Options{ServerIndex: -1, Vars: vars})
	if len(res.Trunks) != 1 || res.Trunks[0].Provider.Pwd != secret {
		t.Fatalf("trunks %v, want acme with the vars.xml password; issues:\n%s", codes(res.Trunks), issueLines(res.Issues))
	}
	want := "acme.xml:8: literal: error: password holds the runtime variable ${b}, whose value is not in the configuration: write the value into the provider by hand\n"
	if got := issueLines(res.Issues); got != want {
		t.Errorf("issues:\n%swant:\n%s", got, want)
	}
}
