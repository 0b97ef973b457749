package render

import "testing"

// The built-in templates with registrations say so, the others do not.
func TestRendersRegisteringBuiltins(t *testing.T) {
	want := map[string]bool{"kamailio/uacreg": true, "asterisk/pjsip.conf": true, "freeswitch/gateways.xml": true,
		"kamailio/dispatcher.list": false, "kamailio/version": false}
	for name, w := range want {
		got, err := TargetConfig{Template: name}.RendersRegistering()
		if err != nil || got != w {
			t.Errorf("%s: %v, %v; want %v", name, got, err, w)
		}
	}
}
