package sipcheck

import (
	"context"
	"log/slog"
	"time"
)

// This file keeps the trunk's state: it records outcomes in the state, the
// metrics and the log lines of changes, and reads the state for the API.

// applyReg records an outcome in the state and the metrics. Called with t.mu held.
func (t *trunk) applyReg(out regOutcome, at time.Time) {
	r := &t.reg
	prev := r.state
	r.state, r.code, r.reason, r.lastCheck = out.state, out.code, out.reason, at
	if out.answered {
		t.cur = out.target
		r.rtt, r.hasRTT = out.rtt, true
		t.gauge(&t.g.regRTT, t.m.rtt, "REGISTER").Set(out.rtt.Seconds())
	}
	if out.state == RegRegistered {
		r.failures = 0
		r.bindings, r.bindingsSeen = out.bindings, at
		if t.bind {
			r.expiresAt = at.Add(time.Duration(out.granted) * time.Second)
		}
		t.gauge(&t.g.bindings, t.m.bindings).Set(float64(len(out.bindings)))
		t.gauge(&t.g.engineBindings, t.m.engineBindings).Set(float64(engineBindings(out.bindings)))
	} else {
		r.failures++
	}
	t.gauge(&t.g.registered, t.m.registered).Set(boolFloat(out.state == RegRegistered))
	if out.code != 0 {
		t.gauge(&t.g.regCode, t.m.lastCode, "REGISTER").Set(float64(out.code))
	}
	if !t.pingMeasures() && (out.answered || out.code != 0) { // code 0: nothing was sent
		t.observeReach(out.answered, reachEvidence{method: "REGISTER", code: out.code, reason: out.reason,
			target: t.targets[out.target]})
	}
	if prev != out.state {
		t.log.Log(context.Background(), changeLevel(out.state != RegRegistered, prev == RegUnregistered),
			"trunk registration state changed", "from", prev, "to", out.state,
			"status_code", out.code, "reason", out.reason, "target", t.targets[out.target].String())
	}
}

// changeLevel is the log level of a state change: failures warn,
// recoveries inform; the first success after start is debug, so that
// 10,000 trunks do not flood the log.
func changeLevel(failed, first bool) slog.Level {
	switch {
	case failed:
		return slog.LevelWarn
	case first:
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// trackBinding remembers where the registrar holds our binding (bind
// mode): the target of the last 2xx, forgotten when that target refuses
// the credentials (an un-REGISTER would be refused too). A trunk never
// registered — rejected or unanswered — has nothing to un-register. Only
// the registration goroutine calls it.
func (t *trunk) trackBinding(out regOutcome) {
	if !t.bind || !out.answered {
		return
	}
	tg := t.targets[out.target]
	switch {
	case out.state == RegRegistered:
		t.boundTo = &tg
	case out.state == RegRejected && t.boundTo != nil && *t.boundTo == tg:
		t.boundTo = nil
	}
}

// applyPing records a ping. Called with t.mu held.
func (t *trunk) applyPing(out pingOutcome, at time.Time) {
	p := &t.ping
	p.lastCheck, p.code, p.reason, p.target, p.sentOnly = at, out.code, out.reason, out.target.String(), out.sentOnly
	if out.sentOnly {
		return
	}
	method := "OPTIONS"
	if t.sp.pingMode == "rn" {
		method = methodCRLF
	} else {
		t.gauge(&t.g.pingCode, t.m.lastCode, method).Set(float64(out.code))
	}
	if out.answered {
		p.rtt, p.hasRTT = out.rtt, true
		t.gauge(&t.g.pingRTT, t.m.rtt, method).Set(out.rtt.Seconds())
	}
	if !t.pingMeasures() {
		return // CRLF over UDP that could not be sent: reachability comes from REGISTER
	}
	t.observeReach(out.alive, reachEvidence{method: method, code: out.code, reason: out.reason, target: out.target})
	if !out.alive && !t.pingSrv && len(t.targets) > 1 {
		t.cur = (t.cur + 1) % len(t.targets)
	}
}

// reachEvidence is the answer (or its absence) that reachability was
// derived from, for the log line of a change.
type reachEvidence struct {
	method string // OPTIONS, CRLF or REGISTER
	code   int    // 0 for CRLF
	reason string
	target target
}

// observeReach feeds the up/down hysteresis. Called with t.mu held.
func (t *trunk) observeReach(ok bool, ev reachEvidence) {
	r := &t.reach
	prev := r.state
	if ok {
		r.succ, r.fails = r.succ+1, 0
		if r.state != Up && r.succ >= t.set.upAfter {
			r.state = Up
		}
	} else {
		r.fails, r.succ = r.fails+1, 0
		if r.state != Down && r.fails >= t.set.downAfter {
			r.state = Down
		}
	}
	if r.state == prev {
		return
	}
	t.gauge(&t.g.reachable, t.m.reachable).Set(boolFloat(r.state == Up))
	attrs := []any{"from", prev, "to", r.state, "method", ev.method}
	if ev.code != 0 {
		attrs = append(attrs, "status_code", ev.code)
	}
	attrs = append(attrs, "reason", ev.reason, "target", ev.target.String())
	t.log.Log(context.Background(), changeLevel(r.state == Down, prev == Unknown), "trunk reachability changed", attrs...)
}

// view is the trunk's State for the API.
func (t *trunk) view() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := State{ID: t.sp.id, Code: t.sp.code, Target: t.targets[t.cur].String()}
	for _, tg := range t.targets {
		s.Targets = append(s.Targets, tg.String())
	}
	if t.reach.state != Unknown {
		up := t.reach.state == Up
		s.Reachable = &up
	}
	r := t.reg
	s.Registration = RegistrationState{State: r.state, Mode: t.mode(), LastCode: intPtr(r.code),
		LastReason: r.reason, LastCheck: timePtr(r.lastCheck), NextCheck: timePtr(r.nextCheck),
		ConsecutiveFailures: r.failures, RTTSeconds: secondsPtr(r.rtt, r.hasRTT),
		Bindings: append([]Binding{}, r.bindings...), BindingsSeen: timePtr(r.bindingsSeen),
		ExpiresAt: timePtr(r.expiresAt), EngineBinding: engineBinding(r.bindings, !r.bindingsSeen.IsZero())}
	if !t.sp.reg {
		s.Registration.NextCheck = nil
	}
	s.Ping = t.pingState()
	return s
}

// pingState is the ping part of view. Called with t.mu held.
func (t *trunk) pingState() PingState {
	p := t.ping
	ps := PingState{Mode: t.sp.pingMode, Target: p.target, LastCode: intPtr(p.code), LastReason: p.reason,
		LastCheck: timePtr(p.lastCheck), RTTSeconds: secondsPtr(p.rtt, p.hasRTT),
		ConsecutiveFailures: t.reach.fails, ConsecutiveSuccesses: t.reach.succ}
	switch {
	case !t.pings():
		ps.State, ps.ConsecutiveFailures, ps.ConsecutiveSuccesses = Off, 0, 0
		return ps
	case p.sentOnly:
		ps.State = Unknown
	default:
		ps.State = t.reach.state
	}
	ps.NextCheck = timePtr(p.nextCheck)
	if ps.Target == "" {
		ps.Target = t.currentPingTarget().String()
	}
	return ps
}
