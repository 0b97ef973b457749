package importer_test

import (
	"testing"

	"github.com/trunkd/trunkd/render/importer"
)

// TestLinkGuesses pins how objects without an explicit link find their
// endpoint (same name, outbound_auth, a -reg name) and what happens to
// identifies and registrations that name nothing or an undefined or
// duplicated endpoint; an option of an object two trunks share is
// reported for each.
func TestLinkGuesses(t *testing.T) {
	conf := `
[same]
type=registration
client_uri=sip:same@sip.same.example
server_uri=sip:sip.same.example
[same]
type=endpoint
from_domain=sip.same.example
[byname-reg]
type=registration
client_uri=sip:bn@sip.byname.example
server_uri=sip:sip.byname.example
[byname]
type=endpoint
from_domain=sip.byname.example
[shared-auth]
type=auth
username=sa
password=x
nonce_lifetime=32
[a1]
type=endpoint
outbound_auth=shared-auth
from_domain=sip.a1.example
[a2]
type=endpoint
outbound_auth=shared-auth
from_domain=sip.a2.example
[solo-auth]
type=auth
username=so
password=x
[solo]
type=endpoint
outbound_auth=solo-auth
[solo-account]
type=registration
outbound_auth=solo-auth
client_uri=sip:so@sip.solo.example
[ambiguous]
type=registration
outbound_auth=shared-auth
client_uri=sip:sa@sip.a1.example
[id-none]
type=identify
match=192.0.2.1
[id-missing]
type=identify
endpoint=nowhere
match=192.0.2.2
[twice]
type=endpoint
from_domain=sip.twice.example
[twice]
type=endpoint
from_domain=sip.twice.example
[id-twice]
type=identify
endpoint=twice
match=192.0.2.3
[reg-twice]
type=registration
endpoint=twice
client_uri=sip:t@sip.twice.example
`
	res := importer.Asterisk([]importer.Source{{Name: "link.conf", Data: []byte(conf)}}, importer.Options{ServerIndex: 1})
	want := `link.conf:2: same: warning: registration [same] linked to the endpoint of the same name (the registration has no endpoint=)
link.conf:9: byname: warning: registration [byname-reg] linked by its name (the registration has no endpoint=)
link.conf:20: a1: warning: auth [shared-auth] option nonce_lifetime is not imported: no provider field or template setting holds it
link.conf:20: a2: warning: auth [shared-auth] option nonce_lifetime is not imported: no provider field or template setting holds it
link.conf:36: solo: warning: registration [solo-account] linked by its outbound_auth, the endpoint's too (the registration has no endpoint=)
link.conf:40: ambiguous: error: registration [ambiguous] is linked to no endpoint (no endpoint=, and no endpoint shares its name or outbound_auth): not imported
link.conf:44: warning: identify [id-none] has no endpoint=: it matches nothing in Asterisk either, not imported
link.conf:49: warning: identify [id-missing] names endpoint "nowhere", which is not defined: not imported
link.conf:54: error: endpoint [twice] is defined twice (first at link.conf:51): Asterisk keeps only one, which one is ambiguous; neither is imported
link.conf:59: warning: identify [id-twice] names endpoint "twice", which is not defined: not imported
link.conf:63: reg-twice: error: registration [reg-twice] names endpoint "twice", which is not defined: the registration is not imported
`
	if got := issueLines(res.Issues); got != want {
		t.Errorf("issues:\n%swant:\n%s", got, want)
	}
	if got := codes(res.Trunks); len(got) != 5 || got[0] != "a1" || got[4] != "solo" {
		t.Errorf("imported %q, want a1 a2 byname same solo", got)
	}
}
