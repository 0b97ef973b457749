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

// Every form of naming the field counts; a field of another name, a
// string or a comment does not.
func TestRefersToRegistering(t *testing.T) {
	for text, want := range map[string]bool{
		`{{.Registers}}`: true,
		`{{range $t := .Trunks}}{{$t.Registers}}{{end}}`:                   true,
		`{{(index .Trunks 0).Registering}}`:                                true,
		`{{with .Trunks}}x{{else}}{{len $.Registering}}{{end}}`:            true,
		`{{define "a"}}{{if .Registers}}r{{end}}{{end}}{{template "a" .}}`: true,
		`{{template "x"}}{{define "x"}}{{end}}`:                            false,
		`{{.Reg}} Registers {{"Registers"}} {{/* .Registers */}}`:          false,
	} {
		tmpl, err := parseTemplate("t", text, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := false
		for _, tt := range tmpl.Templates() {
			got = got || (tt.Tree != nil && refersToRegistering(tt.Tree.Root))
		}
		if got != want {
			t.Errorf("%s: %v, want %v", text, got, want)
		}
	}
}
