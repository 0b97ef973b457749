package sipcheck

import (
	"strings"
	"testing"
	"time"

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
