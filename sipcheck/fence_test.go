package sipcheck

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

// seenRegister is a REGISTER as the registrar received it, stamped with
// the time the test's hook saw it.
type seenRegister struct {
	at      time.Time
	user    string
	contact bool
	expires string
}

// registerLog stamps every REGISTER at the registrar; while hang is set,
// bob's un-REGISTERs are dropped (his trunk's stop then waits 3 × timeout).
type registerLog struct {
	mu   sync.Mutex
	regs []seenRegister
	hang atomic.Bool
}

func (l *registerLog) hook(req *sip.Request) fakeprovider.Reply {
	if req.Method != sip.REGISTER {
		return fakeprovider.Reply{}
	}
	r := seenRegister{at: time.Now(), user: req.To().Address.User, contact: req.GetHeader("Contact") != nil, expires: "none"}
	if h := req.GetHeader("Expires"); h != nil {
		r.expires = strings.TrimSpace(h.Value())
	}
	l.mu.Lock()
	l.regs = append(l.regs, r)
	l.mu.Unlock()
	return fakeprovider.Reply{Drop: l.hang.Load() && r.user == "bob" && r.expires == "0"}
}

// binding returns the REGISTERs that add or refresh a binding (a Contact,
// Expires not 0) of user received at or after since.
func (l *registerLog) binding(user string, since time.Time) []seenRegister {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []seenRegister
	for _, r := range l.regs {
		if r.user == user && r.contact && r.expires != "0" && !r.at.Before(since) {
			out = append(out, r)
		}
	}
	return out
}

// count returns how many REGISTERs of user with expires were received.
func (l *registerLog) count(user, expires string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.regs {
		if r.user == user && r.expires == expires {
			n++
		}
	}
	return n
}

// TestFenceWhileTheLoopIsBusy: Fence stops the bind-mode refreshes at
// once, while Run is busy stopping another trunk (its un-REGISTER is
// unanswered, up to 3 × timeout) and the fenced ownership waits in the
// channel: no binding REGISTER reaches the registrar after Fence returned,
// even when a's refresh falls due. The binding is removed once Run
// follows the fenced ownership, and an ownership that is not fenced binds
// again, also after a Fence whose fenced ownership Run never saw.
func TestFenceWhileTheLoopIsBusy(t *testing.T) {
	var log registerLog
	fp := startFake(t, fakeprovider.Config{Hook: log.hook, Users: []fakeprovider.User{
		{Username: "alice", Password: "alice-secret"}, {Username: "bob", Password: "bob-secret"}}})
	owns := make(chan Ownership, 1)
	h := newHarnessOpts(t, Config{RegisterMode: ModeBind}, Options{Logger: testLogger(t), Ownership: owns})
	a := h.create(trunkAt("a", fp.Addr(), "udp"))
	bt := trunkAt("b", fp.Addr(), "udp")
	bt.Username, bt.Login, bt.Pwd = "bob", "bob", "bob-secret"
	b := h.create(bt)
	h.give(owns, &fixedOwnership{gen: 1, owned: map[string]bool{"a": true, "b": true}})
	h.waitRegistered(a.ID, ModeBind)
	h.waitRegistered(b.ID, ModeBind)

	// Make Run busy: b changes, its stop waits for an un-REGISTER that is
	// never answered.
	log.hang.Store(true)
	if _, err := h.reg.Update(b.ID, func(p *registry.Provider) error { p.Expires = 120; return nil }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b's un-REGISTER to hang", 10*time.Second, func() bool { return log.count("bob", "0") > 0 })
	owns <- &fixedOwnership{gen: 2, fenced: true, owned: map[string]bool{"a": true, "b": true}}
	h.pr.Fence()
	fenced := time.Now()
	if h.pr.Summary().OwnershipGeneration == 2 {
		t.Fatal("Fence returned only after Run had applied the fenced ownership")
	}
	h.clock.Advance(50 * time.Second) // a's refresh (42-48 s) falls due
	waitFor(t, "the fenced ownership to be applied", 20*time.Second, func() bool { return h.pr.Summary().OwnershipGeneration == 2 })
	if regs := log.binding("alice", fenced); len(regs) != 0 {
		t.Fatalf("%d binding REGISTERs of a after Fence returned, the first %s after it", len(regs), regs[0].at.Sub(fenced))
	}
	if bs := fp.Bindings(demoAOR); len(bs) != 0 {
		t.Fatalf("a's binding %+v left once the fenced ownership was applied", bs)
	}
	log.hang.Store(false)

	h.give(owns, &fixedOwnership{gen: 3, owned: map[string]bool{"a": true}})
	h.waitRegistered(a.ID, ModeBind)

	// A Fence whose fenced ownership Run never saw: the next ownership
	// that is not fenced restarts the fenced trunk.
	h.pr.Fence()
	refenced := time.Now()
	h.give(owns, &fixedOwnership{gen: 4, owned: map[string]bool{"a": true}})
	waitFor(t, "a to bind again", 10*time.Second, func() bool {
		h.clock.Advance(100 * time.Millisecond)
		return len(log.binding("alice", refenced)) > 0 && len(fp.Bindings(demoAOR)) == 1
	})
}
