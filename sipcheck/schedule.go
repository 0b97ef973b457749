package sipcheck

import (
	"math/rand/v2"
	"time"
)

// start arms the first checks after the given delays.
func (t *trunk) start(regDelay, pingDelay time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	if t.sp.reg && !t.regFenced {
		t.reg.nextCheck, t.regTimer = t.arm(now, regDelay, t.fireReg)
	}
	if t.pings() {
		t.ping.nextCheck, t.pingTimer = t.arm(now, pingDelay, t.firePing)
	}
}

// timerTick is the granularity of check times: checks due within the same
// 10 ms fire together, which saves the runtime a wake-up per trunk.
const timerTick = 10 * time.Millisecond

// arm schedules f after d, rounded up to the next timerTick boundary
// (never earlier), and returns when it fires. Called with t.mu held.
func (t *trunk) arm(now time.Time, d time.Duration, f func()) (time.Time, Timer) {
	due := now.Add(d)
	if r := due.Truncate(timerTick); r.Before(due) {
		due = r.Add(timerTick)
	}
	return due, t.clock.AfterFunc(due.Sub(now), f)
}

// fireReg runs a registration check unless the trunk stopped or is
// fenced; stop and Fence wait for it.
func (t *trunk) fireReg() {
	t.mu.Lock()
	if t.stopped || t.regFenced {
		t.mu.Unlock()
		return
	}
	t.wg.Add(1)
	t.regWG.Add(1)
	t.mu.Unlock()
	defer t.wg.Done()
	defer t.regWG.Done()
	t.runReg()
}

func (t *trunk) firePing() { t.fire(t.runPing) }

// fire runs a check unless the trunk stopped; stop waits for it.
func (t *trunk) fire(run func()) {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	t.wg.Add(1)
	t.mu.Unlock()
	defer t.wg.Done()
	run()
}

// runReg is one registration check, its record and the scheduling of the
// next. It is the registration goroutine: the session and boundTo are its
// own. A fenced trunk sends nothing and arms no next check.
func (t *trunk) runReg() {
	started := t.clock.Now()
	out := t.registerCheck(t.regCtx)
	if out.canceled {
		return
	}
	t.trackBinding(out)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || t.regFenced {
		return
	}
	t.applyReg(out, started)
	t.reg.nextCheck, t.regTimer = t.arm(t.clock.Now(), t.nextRegDelay(out), t.fireReg)
}

// nextRegDelay is when the next registration check runs. Called with t.mu held.
func (t *trunk) nextRegDelay(out regOutcome) time.Duration {
	interval := time.Duration(t.sp.expires) * time.Second
	if t.sp.expires == 0 {
		interval = queryDefault * time.Second
	}
	switch out.state {
	case RegRegistered:
		if t.bind {
			return max(time.Second, spread(time.Duration(out.granted)*time.Second, 0.70, 0.80))
		}
		return spread(interval, 0.90, 1.0)
	case RegRejected:
		return backoff(t.reg.failures, rejectBase, rejectCap)
	}
	if out.retryAfter > 0 {
		ra := min(out.retryAfter, retryAfterCap)
		return ra + rand.N(min(ra/10, 5*time.Second)+1)
	}
	return backoff(t.reg.failures, failBase, min(failCap, interval))
}

// runPing is one ping, its record and the scheduling of the next.
func (t *trunk) runPing() {
	started := t.clock.Now()
	out := t.pingCheck(t.ctx)
	if out.canceled {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.applyPing(out, started)
	// Anchor on when this ping was due, so that a late timer (a loaded
	// host) does not stretch the interval and delay down detection.
	anchor := t.ping.nextCheck
	if anchor.IsZero() || anchor.After(started) {
		anchor = started
	}
	now := t.clock.Now()
	due := anchor.Add(spread(time.Duration(t.sp.pingTimeout)*time.Second, 0.95, 1.0))
	t.ping.nextCheck, t.pingTimer = t.arm(now, max(0, due.Sub(now)), t.firePing)
}
