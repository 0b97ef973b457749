package sipcheck

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

func TestCheckOnce(t *testing.T) {
	fp := startFake(t, fakeprovider.Config{})
	for _, c := range []struct {
		name, pwd, mode string
		ok              bool
		want            []string
	}{
		{"ok", "alice-secret", ModeQuery, true, []string{">>> REGISTER to udp:", "<<< 401 Unauthorized", `response="***"`,
			"<<< 200 OK", ">>> OPTIONS to udp:", "registration: registered (200 OK)", "ping (options): up (200 OK)", "result: OK"}},
		{"bind", "alice-secret", ModeBind, true, []string{"Contact: <sip:alice@127.0.0.1:", "(ours)", "Expires: 0",
			"registration: registered (200 OK)", "binding removed again (200 OK)", "result: OK"}},
		{"wrong password", "bad-password-7", ModeQuery, false, []string{"registration: rejected (401", "credentials refused", "result: FAILED"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := trunkAt("demo", fp.Addr(), "udp")
			p.Pwd, p.PingMode = c.pwd, "options"
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rep, err := CheckOnce(ctx, Config{Timeout: time.Second, RegisterMode: c.mode}, &p, &out)
			if err != nil {
				t.Fatal(err)
			}
			text := out.String()
			if rep.OK != c.ok {
				t.Fatalf("OK = %v, want %v:\n%s", rep.OK, c.ok, text)
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			if strings.Contains(text, c.pwd) {
				t.Fatal("the password is printed")
			}
		})
	}
	if bs := fp.Bindings(demoAOR); len(bs) != 0 {
		t.Fatalf("CheckOnce in bind mode left bindings %+v", bs)
	}
}
