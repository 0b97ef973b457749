package sipcheck

import (
	"slices"
	"testing"
	"time"

	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

// fixedOwnership is a fixed cluster ownership.
type fixedOwnership struct {
	gen    uint64
	fenced bool
	owned  map[string]bool
}

func (o *fixedOwnership) Owns(code string) bool { return o.owned[code] }
func (o *fixedOwnership) Fenced() bool          { return o.fenced }
func (o *fixedOwnership) Generation() uint64    { return o.gen }

const bobAOR = "bob@demo.trunkd.test"

// TestBindFollowsOwnership: in bind mode a cluster node binds only the
// trunks it owns (the others are checked in query mode); a trunk it
// loses is un-registered (Expires: 0) before the status reports the
// new ownership; a fenced ownership removes every binding.
func TestBindFollowsOwnership(t *testing.T) {
	fp := startFake(t, fakeprovider.Config{Users: []fakeprovider.User{
		{Username: "alice", Password: "alice-secret"}, {Username: "bob", Password: "bob-secret"}}})
	owns := make(chan Ownership, 1)
	h := newHarnessOpts(t, Config{RegisterMode: ModeBind}, Options{Logger: testLogger(t), Ownership: owns})
	a := h.create(trunkAt("a", fp.Addr(), "udp"))
	bt := trunkAt("b", fp.Addr(), "udp")
	bt.Username, bt.Login, bt.Pwd = "bob", "bob", "bob-secret"
	b := h.create(bt)

	// No ownership yet: both are checked, neither bound.
	for _, id := range []string{a.ID, b.ID} {
		h.waitRegistered(id, ModeQuery)
	}
	if n := len(fp.Bindings(demoAOR)) + len(fp.Bindings(bobAOR)); n != 0 {
		t.Fatalf("%d bindings before the first ownership", n)
	}

	h.give(owns, &fixedOwnership{gen: 1, owned: map[string]bool{"a": true}})
	h.waitRegistered(a.ID, ModeBind)
	if s, _ := h.state(b.ID); s.Registration.Mode != ModeQuery || len(fp.Bindings(bobAOR)) != 0 {
		t.Fatalf("b (owned by another node): mode %s, %d bindings", s.Registration.Mode, len(fp.Bindings(bobAOR)))
	}
	waitFor(t, "a's binding", 5*time.Second, func() bool { return len(fp.Bindings(demoAOR)) == 1 })

	h.give(owns, &fixedOwnership{gen: 2, owned: map[string]bool{"b": true}})
	if bs := fp.Bindings(demoAOR); len(bs) != 0 {
		t.Fatalf("a lost: bindings %+v when the ownership was reported applied", bs)
	}
	if !slices.ContainsFunc(fp.Registers(), func(r fakeprovider.Register) bool {
		return r.AOR == demoAOR && r.Expires == 0 && r.Authorized && r.Code == 200
	}) {
		t.Fatal("no accepted un-REGISTER (Expires: 0) of a")
	}
	h.waitRegistered(b.ID, ModeBind)
	h.waitRegistered(a.ID, ModeQuery)

	h.give(owns, &fixedOwnership{gen: 3, fenced: true, owned: map[string]bool{"a": true, "b": true}})
	if n := len(fp.Bindings(demoAOR)) + len(fp.Bindings(bobAOR)); n != 0 {
		t.Fatalf("%d bindings left when the fenced ownership was reported applied", n)
	}
	if s := h.pr.Summary(); s.OwnershipGeneration != 3 {
		t.Fatalf("summary ownership generation %d", s.OwnershipGeneration)
	}
}

// give delivers own and waits until the prober reports it applied.
func (h *harness) give(owns chan<- Ownership, own *fixedOwnership) {
	h.tb.Helper()
	owns <- own
	waitFor(h.tb, "the ownership to be applied", 10*time.Second, func() bool { return h.pr.Summary().OwnershipGeneration == own.gen })
}

// waitRegistered advances the clock (a restarted trunk's first check
// waits for a slot of the new-check limiter) until the trunk is
// registered in mode.
func (h *harness) waitRegistered(id, mode string) {
	h.tb.Helper()
	waitFor(h.tb, "registered in "+mode+" mode", 10*time.Second, func() bool {
		s, ok := h.state(id)
		if ok && s.Registration.State == RegRegistered && s.Registration.Mode == mode {
			return true
		}
		h.clock.Advance(100 * time.Millisecond)
		return false
	})
}
