package sipcheck

import (
	"errors"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func response(code int, reason string, hdrs ...string) answer {
	res := sip.NewResponse(code, reason)
	for i := 0; i+1 < len(hdrs); i += 2 {
		if hdrs[i] == "Contact" {
			c := sip.ContactHeader{Params: sip.NewParams()}
			name, err := sip.ParseAddressValue(hdrs[i+1], &c.Address, &c.Params)
			if err != nil {
				panic(err)
			}
			c.DisplayName = name
			res.AppendHeader(&c)
			continue
		}
		res.AppendHeader(sip.NewHeader(hdrs[i], hdrs[i+1]))
	}
	return answer{res: res, rtt: time.Millisecond}
}

func TestClassifyRegister(t *testing.T) {
	own := sip.Uri{Scheme: "sip", User: "alice", Host: "192.0.2.10", Port: 5070}
	other := "<sip:alice@203.0.113.7:5060>;expires=250"
	ours := "<sip:alice@192.0.2.10:5070;transport=udp>;expires=90"
	for _, c := range []struct {
		name       string
		a          answer
		own        *sip.Uri
		requested  int
		state      string
		code       int
		bindings   int
		granted    int
		retryAfter time.Duration
	}{
		{"query 200 lists the engine", response(200, "OK", "Contact", other), nil, noExpires, RegRegistered, 200, 1, 0, 0},
		{"bind 200: our contact's expires", response(200, "OK", "Contact", other, "Contact", ours, "Expires", "600"), &own, 300, RegRegistered, 200, 2, 90, 0},
		{"bind 200: Expires header", response(200, "OK", "Expires", "600"), &own, 300, RegRegistered, 200, 0, 600, 0},
		{"bind 200: as requested", response(200, "OK"), &own, 300, RegRegistered, 200, 0, 300, 0},
		{"bind 200: nothing asked", response(200, "OK"), &own, noExpires, RegRegistered, 200, 0, 3600, 0},
		{"401", response(401, "Unauthorized"), nil, noExpires, RegRejected, 401, 0, 0, 0},
		{"403", response(403, "Forbidden"), nil, noExpires, RegRejected, 403, 0, 0, 0},
		{"404", response(404, "Not Found"), nil, noExpires, RegRejected, 404, 0, 0, 0},
		{"407", response(407, "Proxy Authentication Required"), nil, noExpires, RegRejected, 407, 0, 0, 0},
		{"503 Retry-After", response(503, "Service Unavailable", "Retry-After", "120 (maintenance)"), nil, noExpires, RegFailing, 503, 0, 0, 120 * time.Second},
		{"500", response(500, "Server Internal Error"), nil, noExpires, RegFailing, 500, 0, 0, 0},
		{"302 is not followed", response(302, "Moved Temporarily"), nil, noExpires, RegFailing, 302, 0, 0, 0},
		{"timeout", answer{fail: timedOut, err: errors.New("no answer within 2s")}, nil, noExpires, RegFailing, 408, 0, 0, 0},
		{"transport", answer{fail: transport, err: errors.New("connection refused")}, nil, noExpires, RegFailing, 503, 0, 0, 0},
	} {
		out := classifyRegister(c.a, c.own, c.requested)
		if out.state != c.state || out.code != c.code || len(out.bindings) != c.bindings || out.granted != c.granted ||
			out.retryAfter != c.retryAfter || out.answered != (c.a.fail == answered) {
			t.Errorf("%s: %+v", c.name, out)
		}
	}
	out := classifyRegister(response(200, "OK", "Contact", other, "Contact", ours), &own, 300)
	if out.bindings[0].Own || !out.bindings[1].Own || out.bindings[0].Expires != 250 {
		t.Errorf("bindings %+v: only the second is ours", out.bindings)
	}
	if out := classifyRegister(answer{fail: canceled}, nil, 0); !out.canceled {
		t.Errorf("canceled: %+v", out)
	}
}

func TestMinExpiresRetry(t *testing.T) {
	for _, c := range []struct {
		a         answer
		requested int
		n         int
		ok        bool
	}{
		{response(423, "Interval Too Brief", "Min-Expires", "120"), 60, 120, true},
		{response(423, "Interval Too Brief", "Min-Expires", "120"), noExpires, 120, true},
		{response(423, "Interval Too Brief", "Min-Expires", "60"), 60, 60, false},
		{response(423, "Interval Too Brief"), 60, -1, false},
		{response(200, "OK", "Min-Expires", "120"), 60, 0, false},
	} {
		if n, ok := minExpiresRetry(c.a, c.requested); n != c.n || ok != c.ok {
			t.Errorf("%d %v after %d: %d %v, want %d %v", c.a.res.StatusCode, c.a.res.GetHeader("Min-Expires"), c.requested, n, ok, c.n, c.ok)
		}
	}
}

func TestClassifyPings(t *testing.T) {
	tg := target{transport: "udp", host: "192.0.2.5", port: 5060}
	alive, err := parseCodeSet(defaultAliveCodes)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		a               answer
		alive, answered bool
		code            int
	}{
		{response(200, "OK"), true, true, 200},
		{response(404, "Not Found"), true, true, 404},
		{response(503, "Service Unavailable"), false, true, 503},
		{answer{fail: timedOut, err: errors.New("no answer within 2s")}, false, false, 408},
	} {
		out := classifyOptions(c.a, tg, &alive)
		if out.alive != c.alive || out.answered != c.answered || out.code != c.code || out.target != tg {
			t.Errorf("OPTIONS %d: %+v", c.code, out)
		}
	}
	for _, c := range []struct {
		a        answer
		sentOnly bool
		want     pingOutcome
	}{
		{answer{rtt: time.Millisecond}, false, pingOutcome{alive: true, answered: true, reason: "CRLF pong", rtt: time.Millisecond}},
		{answer{}, true, pingOutcome{sentOnly: true, reason: "CRLF keep-alive sent over UDP; no answer expected"}},
		{answer{fail: timedOut, err: errors.New("no pong within 2s")}, false, pingOutcome{reason: "no pong within 2s"}},
		{answer{fail: transport, err: errors.New("dial: refused")}, false, pingOutcome{reason: "transport error: dial: refused"}},
		{answer{fail: canceled}, false, pingOutcome{canceled: true}},
	} {
		c.want.target = tg
		if got := classifyCRLF(c.a, c.sentOnly, tg); got != c.want {
			t.Errorf("CRLF %+v: %+v, want %+v", c.a, got, c.want)
		}
	}
}
