package sipcheck

import (
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

func registered(s State) bool { return s.Registration.State == RegRegistered }

func TestRegisterDigest(t *testing.T) {
	for _, tr := range []string{"udp", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			fp := startFake(t, fakeprovider.Config{})
			h := newHarness(t, Config{})
			p := h.create(trunkAt("demo", fp.Addr(), tr))
			s := h.waitState(p.ID, "registered", registered)
			if got := *s.Registration.LastCode; got != 200 {
				t.Fatalf("last code %d, want 200", got)
			}
			if s.Registration.Mode != ModeQuery || s.Target != tr+":"+fp.Addr() {
				t.Fatalf("mode %q target %q", s.Registration.Mode, s.Target)
			}
			if v, ok := h.gauge("trunkd_provider_registered", "code", "demo"); !ok || v != 1 {
				t.Fatalf("trunkd_provider_registered = %v (present %v), want 1", v, ok)
			}
			if v, _ := h.gauge("trunkd_provider_last_status_code", "code", "demo", "method", "REGISTER"); v != 200 {
				t.Fatalf("last status code metric %v", v)
			}
			regs := fp.Registers()
			if len(regs) != 2 || regs[0].Code != 401 || regs[1].Code != 200 || !regs[1].Authorized {
				t.Fatalf("provider saw %+v, want 401 then authorised 200", regs)
			}
			if regs[1].Contacts != 0 || regs[1].Expires != -1 {
				t.Fatalf("query mode sent Contact/Expires: %+v", regs[1])
			}
			if regs[1].CSeq != regs[0].CSeq+1 || regs[0].CallID != regs[1].CallID {
				t.Fatalf("digest retry must keep Call-ID and bump CSeq: %+v", regs)
			}
			// The next check comes every expires (60 s, minus up to 10 % jitter).
			next := s.Registration.NextCheck.Sub(*s.Registration.LastCheck)
			if next < 54*time.Second || next > 60*time.Second+timerTick {
				t.Fatalf("next check after %s, want 54-60 s", next)
			}
			h.clock.Advance(60 * time.Second)
			h.waitState(p.ID, "second check", func(s State) bool { return len(fp.Registers()) == 4 })
			regs = fp.Registers()
			if regs[2].CallID != regs[0].CallID || regs[2].CSeq != regs[1].CSeq+1 {
				t.Fatalf("refresh must keep Call-ID and bump CSeq: %+v", regs)
			}
		})
	}
}

func TestRegisterWrongPassword(t *testing.T) {
	for _, forbid := range []bool{false, true} {
		name := map[bool]string{false: "rechallenge", true: "403"}[forbid]
		t.Run(name, func(t *testing.T) {
			var logs lockedBuffer
			fp := startFake(t, fakeprovider.Config{ForbidBadCredentials: forbid})
			h := newHarnessWith(t, Config{}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			tr := trunkAt("demo", fp.Addr(), "udp")
			tr.Pwd = "WrongSecret-42"
			p := h.create(tr)
			s := h.waitState(p.ID, "rejected", func(s State) bool { return s.Registration.State == RegRejected })
			want := map[bool]int{false: 401, true: 403}[forbid]
			if *s.Registration.LastCode != want {
				t.Fatalf("last code %d, want %d (%s)", *s.Registration.LastCode, want, s.Registration.LastReason)
			}
			if !forbid && !strings.Contains(s.Registration.LastReason, "credentials refused") {
				t.Fatalf("reason %q should say the credentials were refused", s.Registration.LastReason)
			}
			if n := len(fp.Registers()); n != 2 {
				t.Fatalf("provider saw %d REGISTERs, want 2 (one digest answer, no loop)", n)
			}
			// Rejected: long backoff, minutes.
			if wait := s.Registration.NextCheck.Sub(*s.Registration.LastCheck); wait < rejectBase/2 || wait > rejectBase+timerTick {
				t.Fatalf("retry after %s, want %s-%s", wait, rejectBase/2, rejectBase)
			}
			if v, ok := h.gauge("trunkd_provider_registered", "code", "demo"); !ok || v != 0 {
				t.Fatalf("registered gauge %v %v, want 0", v, ok)
			}
			h.stop()
			out := logs.String()
			if strings.Contains(out, "WrongSecret-42") {
				t.Fatal("the password appears in the logs")
			}
			if !strings.Contains(out, `response=\"***\"`) || regexp.MustCompile(`response=\\"[0-9a-f]{32}`).MatchString(out) {
				t.Fatalf("debug traces must show Authorization with the response masked:\n%s", out)
			}
		})
	}
}

func TestRegisterProxyAuth407(t *testing.T) {
	fp := startFake(t, fakeprovider.Config{ProxyAuth: true})
	h := newHarness(t, Config{})
	p := h.create(trunkAt("demo", fp.Addr(), "udp"))
	h.waitState(p.ID, "registered", registered)
	regs := fp.Registers()
	if len(regs) != 2 || regs[0].Code != 407 || regs[1].Code != 200 {
		t.Fatalf("provider saw %+v, want 407 then 200", regs)
	}
}

func TestRegisterIntervalTooBrief(t *testing.T) {
	fp := startFake(t, fakeprovider.Config{MinExpires: 120})
	h := newHarness(t, Config{RegisterMode: ModeBind})
	p := h.create(trunkAt("demo", fp.Addr(), "udp"))
	s := h.waitState(p.ID, "registered", registered)
	var codes []int
	for _, r := range fp.Registers() {
		codes = append(codes, r.Code)
	}
	// 401 → digest → 423 (60 < 120) → new REGISTER with 120 → 401 → digest → 200.
	if len(codes) != 4 || codes[1] != 423 || codes[3] != 200 || fp.Registers()[2].Expires != 120 {
		t.Fatalf("provider answered %v (%+v)", codes, fp.Registers())
	}
	if got := s.Registration.ExpiresAt.Sub(*s.Registration.LastCheck); got != 120*time.Second {
		t.Fatalf("binding granted for %s, want 120 s", got)
	}
	// The refresh asks for the Min-Expires straight away.
	h.clock.Advance(s.Registration.NextCheck.Sub(h.clock.Now()))
	waitFor(t, "refresh", 5*time.Second, func() bool { return len(fp.Registers()) >= 6 })
	if r := fp.Registers()[4]; r.Expires != 120 {
		t.Fatalf("refresh asked for %d s, want 120", r.Expires)
	}
}

func TestRegister503RetryAfter(t *testing.T) {
	var busy atomic.Bool
	busy.Store(true)
	var hits atomic.Int64
	fp := startFake(t, fakeprovider.Config{Hook: func(req *sip.Request) fakeprovider.Reply {
		if req.Method == sip.REGISTER && busy.Load() {
			hits.Add(1)
			return fakeprovider.Reply{Response: fakeprovider.Response(req, 503, "Service Unavailable", "Retry-After", "30")}
		}
		return fakeprovider.Reply{}
	}})
	h := newHarness(t, Config{})
	p := h.create(trunkAt("demo", fp.Addr(), "udp"))
	s := h.waitState(p.ID, "failing", func(s State) bool { return s.Registration.State == RegFailing })
	if *s.Registration.LastCode != 503 {
		t.Fatalf("last code %d", *s.Registration.LastCode)
	}
	wait := s.Registration.NextCheck.Sub(*s.Registration.LastCheck)
	if wait < 30*time.Second || wait > 33*time.Second+timerTick {
		t.Fatalf("retry after %s, want Retry-After 30 s plus at most 10 %% jitter", wait)
	}
	h.clock.Advance(wait - time.Millisecond)
	if hits.Load() != 1 {
		t.Fatalf("retried before Retry-After: %d REGISTERs", hits.Load())
	}
	busy.Store(false)
	h.clock.Advance(time.Millisecond)
	h.waitState(p.ID, "registered after Retry-After", registered)
}

func TestRegisterNoAnswer(t *testing.T) {
	fp := startFake(t, fakeprovider.Config{Hook: func(req *sip.Request) fakeprovider.Reply {
		return fakeprovider.Reply{Drop: true}
	}})
	h := newHarness(t, Config{Timeout: 200 * time.Millisecond})
	p := h.create(trunkAt("demo", fp.Addr(), "udp"))
	var prev time.Duration
	for i := 1; i <= 3; i++ {
		s := h.waitState(p.ID, "failure", func(s State) bool { return s.Registration.ConsecutiveFailures == i })
		if s.Registration.State != RegFailing || *s.Registration.LastCode != 408 ||
			!strings.Contains(s.Registration.LastReason, "no answer within 200ms") {
			t.Fatalf("state %+v", s.Registration)
		}
		wait := s.Registration.NextCheck.Sub(*s.Registration.LastCheck)
		if lo, hi := failBase<<(i-1)/2, failBase<<(i-1)+timerTick; wait < lo || wait > hi {
			t.Fatalf("failure %d: retry after %s, want %s-%s", i, wait, lo, hi)
		}
		if wait < prev/2 {
			t.Fatalf("backoff shrank: %s after %s", wait, prev)
		}
		prev = wait
		// pingmode none: reachability follows REGISTER answers, down after 3.
		want := map[int]*bool{1: nil, 2: nil, 3: ptr(false)}[i]
		if (want == nil) != (s.Reachable == nil) || want != nil && *want != *s.Reachable {
			t.Fatalf("failure %d: reachable %v", i, s.Reachable)
		}
		h.clock.Advance(wait)
	}
	if v, ok := h.gauge("trunkd_provider_reachable", "code", "demo"); !ok || v != 0 {
		t.Fatalf("reachable gauge %v %v, want 0", v, ok)
	}
	if v, _ := h.gauge("trunkd_sip_requests_total", "method", "REGISTER", "result", "timeout"); v < 3 {
		t.Fatalf("timeouts counted %v", v)
	}
}

func ptr[T any](v T) *T { return &v }

func TestRegisterTCPConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// A timeout far beyond waitState's 10 s deadline: reporting the refusal
	// in time proves it did not wait for the timeout, however busy the
	// machine (a bound close to the timeout would measure machine speed).
	const timeout = time.Minute
	h := newHarness(t, Config{Timeout: timeout})
	p := h.create(trunkAt("demo", addr, "tcp"))
	start := time.Now()
	s := h.waitState(p.ID, "failing", func(s State) bool { return s.Registration.State == RegFailing })
	if took := time.Since(start); took >= timeout {
		t.Fatalf("a refused connection took %s to report, it must not wait for the timeout", took)
	}
	if *s.Registration.LastCode != 503 || !strings.Contains(s.Registration.LastReason, "connection refused") {
		t.Fatalf("registration %+v", s.Registration)
	}
	if v, _ := h.gauge("trunkd_sip_requests_total", "method", "REGISTER", "result", "transport_error"); v != 1 {
		t.Fatalf("transport errors counted %v", v)
	}
}

func TestRegisterFailover(t *testing.T) {
	var silentRegs atomic.Int64
	silent := startFake(t, fakeprovider.Config{Hook: func(req *sip.Request) fakeprovider.Reply {
		if req.Method == sip.REGISTER {
			silentRegs.Add(1)
		}
		return fakeprovider.Reply{Drop: true}
	}})
	good := startFake(t, fakeprovider.Config{})
	// 2 s, not less: the alternative's answers are coming, and must not time
	// out under -race with both cores busy (the silent primary costs two of them).
	h := newHarness(t, Config{Timeout: 2 * time.Second})
	tr := trunkAt("demo", silent.Addr(), "udp")
	tr.AlternativeProxies = "tcp:" + good.Addr()
	tr.PingMode, tr.PingTimeout = "options", 10
	p := h.create(tr)
	s := h.waitState(p.ID, "registered through the alternative", registered)
	if s.Target != "tcp:"+good.Addr() || len(s.Targets) != 2 {
		t.Fatalf("target %q of %v, want the alternative", s.Target, s.Targets)
	}
	// Pings follow the current target (the first ping takes the next
	// start slot of the limiter).
	h.clock.Advance(5 * time.Second)
	s = h.waitState(p.ID, "ping answered", func(s State) bool { return s.Ping.State == Up })
	if s.Ping.Target != "tcp:"+good.Addr() {
		t.Fatalf("ping went to %s", s.Ping.Target)
	}
	// The next registration check tries the primary first again (fail-back).
	before := silentRegs.Load()
	h.clock.Advance(s.Registration.NextCheck.Sub(h.clock.Now()))
	waitFor(t, "primary retried", 5*time.Second, func() bool { return silentRegs.Load() > before })
	h.waitState(p.ID, "registered again through the alternative", func(s State) bool {
		return registered(s) && *s.Registration.LastCheck == h.clock.Now()
	})
}

// TestRegisterWithoutAccount: a registering trunk with neither username
// nor login registers as its code (registry.Provider.AORUser), as the
// engines' files do.
func TestRegisterWithoutAccount(t *testing.T) {
	fp := startFake(t, fakeprovider.Config{Users: []fakeprovider.User{{Username: "demo", Password: "alice-secret"}}})
	h := newHarness(t, Config{})
	tr := trunkAt("demo", fp.Addr(), "udp")
	tr.Username, tr.Login = "", ""
	p := h.create(tr)
	h.waitState(p.ID, "registered as its code", registered)
}

// TestReachabilityFromRegisterLogsItsAnswer: a trunk whose pings measure
// nothing (rn over UDP) takes reachability from REGISTER; the log line of a
// change names that answer, not the CRLF keep-alive (issue 11).
func TestReachabilityFromRegisterLogsItsAnswer(t *testing.T) {
	var drop atomic.Bool
	fp := startFake(t, fakeprovider.Config{Hook: func(*sip.Request) fakeprovider.Reply {
		return fakeprovider.Reply{Drop: drop.Load()}
	}})
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarnessWith(t, Config{DownAfter: 1, Timeout: 2 * time.Second}, log)
	tr := pingTrunkAt("peer", fp.Addr(), "udp", "rn")
	tr.Reg = 1
	p := h.create(tr)
	h.clock.Advance(time.Second) // the ping's start slot
	s := h.waitState(p.ID, "registered and up", func(s State) bool {
		return registered(s) && s.Reachable != nil && *s.Reachable && s.Ping.LastCheck != nil
	})
	drop.Store(true)
	h.clock.Advance(s.Registration.NextCheck.Sub(h.clock.Now()))
	h.waitState(p.ID, "down", func(s State) bool { return s.Reachable != nil && !*s.Reachable })
	var up, down string
	for _, l := range strings.Split(logs.String(), "\n") {
		switch {
		case strings.Contains(l, "reachability changed") && strings.Contains(l, "to=up"):
			up = l
		case strings.Contains(l, "reachability changed") && strings.Contains(l, "to=down"):
			down = l
		}
	}
	if !strings.Contains(up, "method=REGISTER status_code=200 reason=OK") {
		t.Errorf("up line: %s", up)
	}
	if !strings.Contains(down, "method=REGISTER status_code=408") || strings.Contains(down, "CRLF") {
		t.Errorf("down line: %s", down)
	}
}
