package sipcheck

import (
	"strings"
	"testing"
	"time"
)

func TestParseCodeSet(t *testing.T) {
	for _, c := range []struct {
		text    string
		in, out []int
	}{
		{defaultAliveCodes, []int{200, 401, 403, 404, 405, 407, 480, 500, 603}, []int{100, 180, 408, 503}},
		{"2xx", []int{200, 202, 299}, []int{300, 404}},
		{"200-299, 404", []int{204, 404}, []int{403}},
		{"!408", []int{200, 503}, []int{408, 100}},
		{"4xx,!401-403", []int{400, 404, 499}, []int{401, 402, 403, 200}},
	} {
		s, err := parseCodeSet(c.text)
		if err != nil {
			t.Fatalf("%q: %v", c.text, err)
		}
		for _, code := range c.in {
			if !s.has(code) {
				t.Errorf("%q should contain %d", c.text, code)
			}
		}
		for _, code := range c.out {
			if s.has(code) {
				t.Errorf("%q should not contain %d", c.text, code)
			}
		}
	}
	for _, bad := range []string{"abc", "1xx", "199", "700", "300-200", "2xx,", "!7xx"} {
		if _, err := parseCodeSet(bad); err == nil {
			t.Errorf("%q should be rejected", bad)
		}
	}
}

func TestSettingsDefaultsAndErrors(t *testing.T) {
	s, err := Config{}.settings()
	if err != nil {
		t.Fatal(err)
	}
	if s.listen != "127.0.0.1:0" || s.registerMode != ModeQuery || s.maxNew != 500 || s.downAfter != 3 ||
		s.upAfter != 1 || s.timeout != 2*time.Second || !s.alive.has(404) || s.alive.has(503) {
		t.Fatalf("defaults %+v", s)
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{RegisterMode: "hold"}, "probe.register_mode"},
		{Config{Listen: "localhost"}, "probe.listen"},
		{Config{AliveCodes: "ok"}, "probe.alive_codes"},
		{Config{DownAfter: -1}, "probe.down_after"},
		{Config{Timeout: -time.Second}, "probe.timeout"},
	} {
		if _, err := c.cfg.settings(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %s", c.cfg, err, c.want)
		}
	}
}

func TestMaskAuth(t *testing.T) {
	msg := "REGISTER sip:x SIP/2.0\r\nAuthorization: Digest username=\"alice\", response=\"0123456789abcdef0123456789abcdef\", nc=00000001\r\n" +
		"Proxy-Authorization: Digest username=\"alice\", response=fedcba9876543210\r\nX-Note: response=\"keep\"\r\n"
	got := maskAuth(msg)
	if strings.Contains(got, "0123456789abcdef") || strings.Contains(got, "fedcba9876543210") {
		t.Fatalf("response values not masked:\n%s", got)
	}
	if !strings.Contains(got, `username="alice", response="***", nc=00000001`) || !strings.Contains(got, `X-Note: response="keep"`) {
		t.Fatalf("masking changed more than the response values:\n%s", got)
	}
}

func TestBackoffBounds(t *testing.T) {
	for n := 1; n <= 10; n++ {
		want := min(failBase<<(n-1), time.Minute)
		for i := 0; i < 200; i++ {
			d := backoff(n, failBase, time.Minute)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %s, want %s-%s", n, d, want/2, want)
			}
		}
	}
}

func TestLimiterSpacing(t *testing.T) {
	c := newFakeClock()
	l := newLimiter(c, 4)
	for i, want := range []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond} {
		if d := l.delay(); d != want {
			t.Fatalf("slot %d: %s, want %s", i, d, want)
		}
	}
	c.Advance(10 * time.Second)
	if d := l.delay(); d != 0 {
		t.Fatalf("after a quiet period the next start is immediate, got %s", d)
	}
}
