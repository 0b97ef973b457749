package sipcheck

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

const demoAOR = "alice@demo.trunkd.test"

func TestBindRefreshAndUnregisterOnShutdown(t *testing.T) {
	for _, tr := range []string{"udp", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			fp := startFake(t, fakeprovider.Config{})
			h := newHarness(t, Config{RegisterMode: ModeBind})
			p := h.create(trunkAt("demo", fp.Addr(), tr))
			s := h.waitState(p.ID, "registered", registered)
			bs := fp.Bindings(demoAOR)
			if len(bs) != 1 || !strings.Contains(bs[0].Contact, h.pr.Addr()) {
				t.Fatalf("provider bindings %+v, want one to %s", bs, h.pr.Addr())
			}
			if len(s.Registration.Bindings) != 1 || !s.Registration.Bindings[0].Own {
				t.Fatalf("state bindings %+v, want our own", s.Registration.Bindings)
			}
			granted := s.Registration.ExpiresAt.Sub(*s.Registration.LastCheck)
			if granted != 60*time.Second {
				t.Fatalf("granted %s, want 60 s", granted)
			}
			// Refresh before the granted expiry, same Call-ID, CSeq + 1.
			refresh := s.Registration.NextCheck.Sub(*s.Registration.LastCheck)
			if refresh < 42*time.Second || refresh > 48*time.Second+timerTick {
				t.Fatalf("refresh after %s, want 0.70-0.80 of 60 s", refresh)
			}
			first := fp.Bindings(demoAOR)[0]
			h.clock.Advance(refresh)
			waitFor(t, "refresh", 5*time.Second, func() bool {
				bs := fp.Bindings(demoAOR)
				return len(bs) == 1 && bs[0].CSeq > first.CSeq
			})
			again := fp.Bindings(demoAOR)[0]
			if again.CallID != first.CallID || again.CSeq != first.CSeq+2 {
				// +1 for the unauthenticated REGISTER, +1 for the digest answer.
				t.Fatalf("refresh Call-ID %q CSeq %d after %q %d", again.CallID, again.CSeq, first.CallID, first.CSeq)
			}
			h.stop()
			if bs := fp.Bindings(demoAOR); len(bs) != 0 {
				t.Fatalf("shutdown left bindings %+v", bs)
			}
			last := fp.Registers()[len(fp.Registers())-1]
			if last.Expires != 0 || last.Code != 200 || last.CallID != first.CallID {
				t.Fatalf("un-register %+v", last)
			}
		})
	}
}

func TestBindUnregisterOnDisableAndRemoval(t *testing.T) {
	fp := startFake(t, fakeprovider.Config{Users: []fakeprovider.User{
		{Username: "alice", Password: "alice-secret"}, {Username: "bob", Password: "bob-secret"}}})
	h := newHarness(t, Config{RegisterMode: ModeBind})
	a := h.create(trunkAt("a", fp.Addr(), "udp"))
	bt := trunkAt("b", fp.Addr(), "udp")
	bt.Username, bt.Login, bt.Pwd = "bob", "bob", "bob-secret"
	b := h.create(bt)
	h.waitState(a.ID, "a registered", registered)
	h.clock.Advance(time.Second) // b's first check takes the next limiter slot
	h.waitState(b.ID, "b registered", registered)
	if len(fp.Bindings(demoAOR)) != 1 || len(fp.Bindings("bob@demo.trunkd.test")) != 1 {
		t.Fatal("both trunks should hold a binding")
	}
	h.update(a.ID, func(p *registry.Provider) { p.Enabled = 0 })
	waitFor(t, "a's binding removed", 5*time.Second, func() bool { return len(fp.Bindings(demoAOR)) == 0 })
	if _, ok := h.state(a.ID); ok {
		t.Fatal("a disabled trunk is still probed")
	}
	h.remove(b.ID)
	waitFor(t, "b's binding removed", 5*time.Second, func() bool { return len(fp.Bindings("bob@demo.trunkd.test")) == 0 })
}

// TestBindUnregister423DoesNotRegisterAgain: a registrar that answers the
// un-REGISTER (Expires: 0) with 423 must not get a REGISTER for Min-Expires
// (issue 11: trunkd registered again while logging "trunk un-registered").
func TestBindUnregister423DoesNotRegisterAgain(t *testing.T) {
	var stopping atomic.Bool
	var after []string
	var mu sync.Mutex
	fp := startFake(t, fakeprovider.Config{Hook: func(req *sip.Request) fakeprovider.Reply {
		if req.Method != sip.REGISTER || !stopping.Load() {
			return fakeprovider.Reply{}
		}
		exp := "none"
		if h := req.GetHeader("Expires"); h != nil {
			exp = h.Value()
		}
		mu.Lock()
		after = append(after, exp)
		mu.Unlock()
		if exp == "0" && req.GetHeader("Authorization") != nil {
			return fakeprovider.Reply{Response: fakeprovider.Response(req, 423, "Interval Too Brief", "Min-Expires", "3600")}
		}
		return fakeprovider.Reply{}
	}})
	var logs lockedBuffer
	h := newHarnessWith(t, Config{RegisterMode: ModeBind, Timeout: 2 * time.Second}, slog.New(slog.NewTextHandler(&logs, nil)))
	p := h.create(trunkAt("demo", fp.Addr(), "udp"))
	h.waitState(p.ID, "registered", registered)
	stopping.Store(true)
	h.stop()
	mu.Lock()
	defer mu.Unlock()
	if len(after) != 2 || after[0] != "0" || after[1] != "0" {
		t.Fatalf("REGISTERs after the stop have Expires %v, want the un-REGISTER and its digest answer (0, 0)", after)
	}
	text := logs.String()
	if strings.Contains(text, "trunk un-registered") || !strings.Contains(text, "un-register failed") ||
		!strings.Contains(text, "status_code=423") {
		t.Fatalf("log:\n%s", text)
	}
}

// TestBindNeverRegisteredIsNotUnregistered: a trunk whose credentials were
// refused holds no binding, so stopping it sends nothing, and trunkd probe
// sends 2 REGISTERs, not 4 (issue 11).
func TestBindNeverRegisteredIsNotUnregistered(t *testing.T) {
	fp := startFake(t, fakeprovider.Config{})
	p := trunkAt("demo", fp.Addr(), "udp")
	p.Pwd = "wrong-password-1"
	var out bytes.Buffer
	rep, err := CheckOnce(context.Background(), Config{Timeout: time.Second, RegisterMode: ModeBind}, &p, &out)
	if err != nil || rep.OK {
		t.Fatalf("CheckOnce: %v, OK %v", err, rep.OK)
	}
	if n := fp.Stats().Registers; n != 2 {
		t.Fatalf("probe with a wrong password sent %d REGISTERs, want 2 (challenge and answer):\n%s", n, out.String())
	}

	h := newHarness(t, Config{RegisterMode: ModeBind, Timeout: 2 * time.Second})
	got := h.create(p)
	h.waitState(got.ID, "rejected", func(s State) bool { return s.Registration.State == RegRejected })
	h.stop()
	if n := fp.Stats().Registers; n != 4 {
		t.Fatalf("the daemon sent %d REGISTERs in all, want 2 more for its one check", n)
	}
}
