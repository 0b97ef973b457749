package sipcheck

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestBuildRegister(t *testing.T) {
	contact := sip.Uri{Scheme: "sip", User: "alice", Host: "192.0.2.10", Port: 5070}
	for _, c := range []struct {
		name      string
		r         registerRequest
		want, not []string
	}{
		{"query", registerRequest{domain: "sip.example", user: "alice", callID: "c1@trunkd", fromTag: "ft", cseq: 7,
			expires: noExpires, userAgent: "trunkd/test"},
			[]string{"REGISTER sip:sip.example SIP/2.0", "From: <sip:alice@sip.example>;tag=ft", "To: <sip:alice@sip.example>",
				"Call-ID: c1@trunkd", "CSeq: 7 REGISTER", "User-Agent: trunkd/test"},
			[]string{"Contact:", "Expires:"}},
		{"query after 423", registerRequest{domain: "sip.example", user: "alice", expires: 120},
			[]string{"Expires: 120"}, []string{"Contact:"}},
		{"bind", registerRequest{domain: "sip.example", user: "alice", contact: &contact, expires: 300},
			[]string{"Contact: <sip:alice@192.0.2.10:5070>", "Expires: 300"}, nil},
		{"un-register", registerRequest{domain: "sip.example", user: "alice", contact: &contact, expires: 0},
			[]string{"Contact: <sip:alice@192.0.2.10:5070>", "Expires: 0"}, nil},
		{"bind, registrar decides", registerRequest{domain: "sip.example", user: "alice", contact: &contact, expires: noExpires},
			[]string{"Contact: <sip:alice@192.0.2.10:5070>"}, []string{"Expires:"}},
	} {
		text := buildRegister(c.r).String()
		for _, w := range c.want {
			if !strings.Contains(text, w+"\r\n") {
				t.Errorf("%s: lacks %q:\n%s", c.name, w, text)
			}
		}
		for _, n := range c.not {
			if strings.Contains(text, n) {
				t.Errorf("%s: has %q:\n%s", c.name, n, text)
			}
		}
	}
}

func TestBuildOptions(t *testing.T) {
	tg := target{transport: "udp", host: "192.0.2.5", port: 5062}
	for _, c := range []struct {
		o    optionsRequest
		from string
	}{
		{optionsRequest{user: "alice", domain: "sip.example"}, "<sip:alice@sip.example>"},
		{optionsRequest{user: "alice", localDomain: "pbx.example", domain: "sip.example"}, "<sip:alice@pbx.example>"},
		{optionsRequest{domain: "sip.example", ourHost: "198.51.100.1"}, "<sip:trunkd@198.51.100.1>"},
		{optionsRequest{localDomain: "pbx.example", ourHost: "198.51.100.1"}, "<sip:trunkd@pbx.example>"},
	} {
		c.o.target = tg
		req := buildOptions(c.o)
		if got := req.From().Address.String(); "<"+got+">" != c.from {
			t.Errorf("%+v: From %s, want %s", c.o, got, c.from)
		}
		if req.Recipient.String() != "sip:192.0.2.5:5062" || req.To().Address.String() != req.Recipient.String() {
			t.Errorf("R-URI %s To %s", req.Recipient.String(), req.To().Address.String())
		}
	}
}
