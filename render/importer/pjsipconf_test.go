package importer

import (
	"reflect"
	"testing"
)

// TestStripComments follows Asterisk's config.c: ";" ends the line unless
// escaped "\;", ";--" ... "--;" is a (nested) block comment.
func TestStripComments(t *testing.T) {
	for _, c := range []struct {
		line      string
		depth     int
		want      string
		wantDepth int
	}{
		{"password=abc ; comment", 0, "password=abc ", 0},
		{`outbound_proxy=sip:sbc.example:5060\;lr`, 0, "outbound_proxy=sip:sbc.example:5060;lr", 0},
		{`password=a\;b\;c;comment\;x`, 0, "password=a;b;c", 0},
		{`password=a\\;b`, 0, `password=a\;b`, 0},
		{"key=v ;-- block", 0, "key=v ", 1},
		{"still in the block", 1, "", 1},
		{"end of block --; key=v", 1, " key=v", 0},
		{"a;-- one --;b;-- two --;c ; tail", 0, "abc ", 0},
		{";-- outer ;-- inner --; still outer --;x=1", 0, "x=1", 0},
		{";---not a block comment", 0, "", 0},
		{"plain=value", 0, "plain=value", 0},
	} {
		got, depth := stripComments(c.line, c.depth)
		if got != c.want || depth != c.wantDepth {
			t.Errorf("stripComments(%q, %d) = %q, %d; want %q, %d", c.line, c.depth, got, depth, c.want, c.wantDepth)
		}
	}
}

// TestConfTemplates: "[name](tpl)" copies tpl's options first, "(!)"
// marks a template, "(+)" adds to the section of that name, "=>" is "=".
func TestConfTemplates(t *testing.T) {
	res := &Result{}
	cp := newConfParser(res)
	cp.parse(Source{Name: "t.conf", Data: []byte(`
[base](!)
type=endpoint
context=a
[mid](!,base)
allow=ulaw
[acme](mid)
context => b
[acme](+)
from_domain = sip.acme.example
[orphan](missing)
type=aor
`)})
	var got []string
	for _, s := range cp.sections {
		if s.template {
			continue
		}
		for _, o := range s.opts {
			got = append(got, s.name+":"+o.key+"="+o.value)
		}
	}
	want := []string{"acme:type=endpoint", "acme:context=a", "acme:allow=ulaw", "acme:context=b", "acme:from_domain=sip.acme.example"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("options %q\nwant %q", got, want)
	}
	if len(res.Issues) != 2 || res.Issues[0].Line != 11 || res.Issues[0].Severity != Error {
		t.Errorf("issues %v, want the missing template at line 11 and the option outside a section", res.Issues)
	}
}

func TestParseSIPAddr(t *testing.T) {
	for _, c := range []struct {
		in   string
		want sipAddr
		tr   string
	}{
		{"sip:1001@sip.acme.example", sipAddr{Scheme: "sip", User: "1001", Host: "sip.acme.example"}, ""},
		{"sip:sbc.acme.example:5060;lr", sipAddr{Scheme: "sip", Host: "sbc.acme.example", Port: 5060}, ""},
		{"<sips:[2001:db8::1]:5061>", sipAddr{Scheme: "sips", Host: "2001:db8::1", Port: 5061}, "tls"},
		{"sip:edge.example;transport=TCP?x=y", sipAddr{Scheme: "sip", Host: "edge.example"}, "tcp"},
		{"sbc.example:5080", sipAddr{Host: "sbc.example", Port: 5080}, ""},
		{"203.0.113.5", sipAddr{Host: "203.0.113.5"}, ""},
	} {
		got, err := parseSIPAddr(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got.transport() != c.tr {
			t.Errorf("%q: transport %q, want %q", c.in, got.transport(), c.tr)
		}
		got.TransportParam = ""
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %+v, want %+v", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"tel:+15551234", "sip:", "sip:@host", "sip:bad host"} {
		if _, err := parseSIPAddr(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
