package sipcheck

import (
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/sipcheck/fakeprovider"
)

func TestReconcileEditRemoveDisable(t *testing.T) {
	fp := startFake(t, fakeprovider.Config{ForbidBadCredentials: true})
	h := newHarness(t, Config{MaxNewPerSecond: 1000})
	var ids []string
	for _, code := range []string{"a", "b", "c"} {
		ids = append(ids, h.create(trunkAt(code, fp.Addr(), "udp")).ID)
	}
	h.clock.Advance(time.Second)
	for _, id := range ids {
		h.waitState(id, "registered", registered)
	}
	a, b, c := ids[0], ids[1], ids[2]
	cBefore, _ := h.state(c)
	regsBefore := len(fp.Registers())

	// A change outside the SIP fields keeps the prober, its state and schedule.
	aBefore, _ := h.state(a)
	h.update(a, func(p *registry.Provider) { p.Opts.Title = "renamed" })
	if s, _ := h.state(a); !s.Registration.NextCheck.Equal(*aBefore.Registration.NextCheck) {
		t.Fatal("a title change restarted the prober")
	}

	// A SIP change restarts it: the new password is wrong.
	h.update(a, func(p *registry.Provider) { p.Pwd = "not-the-password" })
	h.clock.Advance(time.Second) // the restart takes a limiter slot
	s := h.waitState(a, "a rejected", func(s State) bool { return s.Registration.State == RegRejected })
	if *s.Registration.LastCode != 403 {
		t.Fatalf("a: %+v", s.Registration)
	}

	// Disabled: no prober, no series.
	h.update(b, func(p *registry.Provider) { p.Enabled = 0 })
	if _, ok := h.state(b); ok {
		t.Fatal("a disabled trunk is still probed")
	}
	for _, name := range []string{"trunkd_provider_registered", "trunkd_provider_last_status_code", "trunkd_provider_rtt_seconds"} {
		if _, ok := h.gauge(name, "code", "b"); ok {
			t.Fatalf("%s{code=b} survived the disable", name)
		}
	}

	// Removed.
	h.remove(a)
	if _, ok := h.state(a); ok {
		t.Fatal("a removed trunk is still probed")
	}
	if _, ok := h.gauge("trunkd_provider_registered", "code", "a"); ok {
		t.Fatal("series of a removed trunk survived")
	}

	// c never restarted: same checks, same schedule, no extra REGISTER.
	cAfter, _ := h.state(c)
	if !cAfter.Registration.LastCheck.Equal(*cBefore.Registration.LastCheck) ||
		!cAfter.Registration.NextCheck.Equal(*cBefore.Registration.NextCheck) {
		t.Fatalf("c was disturbed: %+v then %+v", cBefore.Registration, cAfter.Registration)
	}
	for _, r := range fp.Registers()[regsBefore:] {
		if r.AOR == demoAOR && r.Authorized && r.Code == 200 {
			t.Fatalf("an unchanged trunk registered again: %+v", r)
		}
	}

	// A new code moves the series.
	h.update(c, func(p *registry.Provider) { p.Code = "c2" })
	h.clock.Advance(time.Second) // the restart takes a limiter slot
	h.waitState(c, "c2 registered", func(s State) bool { return s.Code == "c2" && registered(s) })
	if _, ok := h.gauge("trunkd_provider_registered", "code", "c"); ok {
		t.Fatal("series of the old code survived")
	}
	if v, ok := h.gauge("trunkd_provider_registered", "code", "c2"); !ok || v != 1 {
		t.Fatal("no series for the new code")
	}
}

func TestReconcileMidFlight(t *testing.T) {
	var held atomic.Int64
	fp := startFake(t, fakeprovider.Config{Hook: func(req *sip.Request) fakeprovider.Reply {
		if req.Method == sip.REGISTER {
			held.Add(1)
			return fakeprovider.Reply{Drop: true}
		}
		return fakeprovider.Reply{}
	}})
	h := newHarness(t, Config{Timeout: 5 * time.Second})
	p := h.create(trunkAt("demo", fp.Addr(), "udp"))
	waitFor(t, "REGISTER in flight", 5*time.Second, func() bool { return held.Load() > 0 })

	// Edited while its REGISTER is unanswered: the old check is abandoned
	// at once and a new prober starts.
	start := time.Now()
	h.update(p.ID, func(p *registry.Provider) { p.Expires = 120 })
	h.clock.Advance(time.Second) // the restart takes a limiter slot
	waitFor(t, "second REGISTER", 3*time.Second, func() bool { return held.Load() >= 2 })
	s, ok := h.state(p.ID)
	if !ok || s.Registration.State != RegUnregistered || s.Registration.LastCheck != nil {
		t.Fatalf("edited trunk state %+v", s.Registration)
	}

	// Removed while in flight: gone well before the 5 s timeout.
	h.remove(p.ID)
	if _, ok := h.state(p.ID); ok {
		t.Fatal("a removed trunk is still probed")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("stopping mid-flight took %s", d)
	}
	if _, ok := h.gauge("trunkd_provider_registered", "code", "demo"); ok {
		t.Fatal("a series appeared for a stopped trunk")
	}
}

func TestFirstChecksRateLimited(t *testing.T) {
	fp := startFake(t, fakeprovider.Config{})
	h := newHarness(t, Config{MaxNewPerSecond: 10})
	created := h.clock.Now()
	var ids []string
	for i := 0; i < 30; i++ {
		ids = append(ids, h.create(trunkAt(fmt.Sprintf("t%02d", i), fp.Addr(), "udp")).ID)
	}
	var firsts []time.Duration
	for _, id := range ids {
		s := h.waitState(id, "scheduled", func(s State) bool {
			return s.Registration.NextCheck != nil || s.Registration.LastCheck != nil
		})
		if s.Registration.LastCheck != nil {
			firsts = append(firsts, s.Registration.LastCheck.Sub(created))
		} else {
			firsts = append(firsts, s.Registration.NextCheck.Sub(created))
		}
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })
	for i := 1; i < len(firsts); i++ {
		if gap := firsts[i] - firsts[i-1]; gap < 100*time.Millisecond {
			t.Fatalf("first checks %s and %s are closer than 1/max_new_per_second", firsts[i-1], firsts[i])
		}
	}
	if last := firsts[len(firsts)-1]; last > 3*time.Second {
		t.Fatalf("the 30th first check waits %s, want <= 2.9 s at 10/s", last)
	}
	h.clock.Advance(5 * time.Second)
	for _, id := range ids {
		h.waitState(id, "registered within 5 s", registered)
	}
}

func TestStatusSummary(t *testing.T) {
	fp := startFake(t, fakeprovider.Config{})
	h := newHarness(t, Config{})
	p := h.create(trunkAt("demo", fp.Addr(), "udp"))
	h.waitState(p.ID, "registered", registered)
	st := h.pr.Summary()
	if st.Trunks != 1 || st.Registration[RegRegistered] != 1 || st.RegisterMode != ModeQuery {
		t.Fatalf("status %+v", st)
	}
	got, ok := h.pr.State(p.ID)
	if !ok || got.Code != "demo" {
		t.Fatalf("State = %+v, %v", got, ok)
	}
	if _, ok := h.pr.State("nope"); ok {
		t.Fatal("unknown id has a state")
	}
}

// TestTrunkRegexLimitsProbing: with probe.trunk_regex only matching codes
// get a prober; the others get none.
func TestTrunkRegexLimitsProbing(t *testing.T) {
	fp := startFake(t, fakeprovider.Config{})
	h := newHarness(t, Config{MaxNewPerSecond: 1000, TrunkRegex: "^demo-"})
	in := h.create(trunkAt("demo-a", fp.Addr(), "udp")).ID
	out := h.create(trunkAt("real-b", fp.Addr(), "udp")).ID
	h.clock.Advance(time.Second)
	h.waitState(in, "registered", registered)
	if _, ok := h.state(out); ok {
		t.Fatal("a trunk outside trunk_regex is probed")
	}
	if _, err := (Config{TrunkRegex: "("}).settings(); err == nil {
		t.Error("a bad regex was accepted")
	}
}
