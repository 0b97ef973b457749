package templates

import (
	"strings"
	"testing"
)

func TestNamesAndLookup(t *testing.T) {
	want := "asterisk/pjsip.conf freeswitch/gateways.xml kamailio/dispatcher.list kamailio/uacreg kamailio/version"
	if got := strings.Join(Names(), " "); got != want {
		t.Fatalf("Names() = %s, want %s", got, want)
	}
	for _, n := range Names() {
		if text, ok := Lookup(n); !ok || text == "" {
			t.Errorf("Lookup(%q) = %v", n, ok)
		}
	}
	for _, bad := range []string{"", "kamailio", "kamailio/uacreg.tmpl", "kamailio/nope", "../templates/kamailio/uacreg"} {
		if _, ok := Lookup(bad); ok {
			t.Errorf("Lookup(%q) found a template", bad)
		}
	}
}

// TestDBTextHeadersEndWithASpace: Kamailio's db_text headers, as shipped,
// end with a space; an editor that strips it would break the table.
func TestDBTextHeadersEndWithASpace(t *testing.T) {
	for _, n := range []string{"kamailio/uacreg", "kamailio/version"} {
		text, _ := Lookup(n)
		found := false
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "id(int,auto) ") {
				found = true
				if !strings.HasSuffix(line, "(int) ") && !strings.HasSuffix(line, "(string) ") {
					t.Errorf("%s: header %q does not end with a space", n, line)
				}
			}
		}
		if !found {
			t.Errorf("%s: no db_text header", n)
		}
	}
}
