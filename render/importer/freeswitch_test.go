package importer

import (
	"reflect"
	"testing"
)

// TestExpand: pre-processor references resolve, also inside the values of
// variables; a reference nobody sets is named and left out; references
// that refer to each other without end are reported, not followed forever.
func TestExpand(t *testing.T) {
	ref := func(name string) string { return refOpen + name + refClose }
	vars := map[string]string{
		"host": "sip.acme.example", "port": "5080", "addr": ref("host") + ":" + ref("port"),
		"a": ref("b"), "b": ref("a"), "hole": "x" + ref("nobody") + "y",
	}
	for _, c := range []struct {
		in, want string
		missing  []string
	}{
		{"plain", "plain", nil},
		{"sip:" + ref("host"), "sip:sip.acme.example", nil},
		{ref("addr") + ";lr", "sip.acme.example:5080;lr", nil},
		{"<" + ref("hole") + ref("gone") + ">", "<xy>", []string{"gone", "nobody"}},
		{ref("a"), "", []string{"(variables that refer to each other without end)"}},
	} {
		got, missing := expand(c.in, vars)
		if c.want != "" && got != c.want || !reflect.DeepEqual(missing, c.missing) {
			t.Errorf("expand(%q) = %q, %q; want %q, %q", c.in, got, missing, c.want, c.missing)
		}
	}
}

// TestOneLine: a line break or other control character (an XML attribute
// may hold one) is escaped, so that one issue stays one line.
func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain":             "plain",
		"two\nlines\r\tend": `two\nlines\r\tend`,
		"bell\a and ü":      `bell\a and ü`,
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
