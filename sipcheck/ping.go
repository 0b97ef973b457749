package sipcheck

import (
	"context"
	"log/slog"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Reachability states.
const (
	Up      = "up"
	Down    = "down"
	Unknown = "unknown"
	Off     = "off"
)

// pingOutcome is the result of one ping.
type pingOutcome struct {
	alive, answered, sentOnly, canceled bool
	code                                int // 0 for CRLF
	reason                              string
	rtt                                 time.Duration
	target                              target
}

// pingCheck sends one ping per pingmode to pingsrv or the current target.
func (t *trunk) pingCheck(ctx context.Context) pingOutcome {
	t.mu.Lock()
	tg := t.currentPingTarget()
	t.mu.Unlock()
	out := pingOutcome{target: tg}
	if t.sp.pingMode == "rn" {
		a, sentOnly := t.eng.crlf(ctx, tg, t.pingLimit)
		out.sentOnly, out.canceled = sentOnly && a.fail == answered, a.fail == canceled
		out.alive, out.rtt = a.fail == answered && !sentOnly, a.rtt
		out.answered = out.alive
		switch {
		case out.sentOnly:
			out.reason = "CRLF keep-alive sent over UDP; no answer expected"
		case out.alive:
			out.reason = "CRLF pong"
		case a.fail == transport:
			out.reason = transportReason(a.err)
		case a.err != nil:
			out.reason = a.err.Error()
		}
		return out
	}
	a := t.eng.do(ctx, t.newOptions(tg), tg, t.pingLimit)
	if a.fail == canceled {
		out.canceled = true
		return out
	}
	out.code, out.reason, out.rtt, out.answered = a.code(), a.reason(), a.rtt, a.fail == answered
	out.alive = out.answered && t.set.alive.has(out.code)
	return out
}

// newOptions builds an OPTIONS to tg from the trunk's account.
func (t *trunk) newOptions(tg target) *sip.Request {
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: tg.host, Port: tg.port})
	user, host := t.sp.aorUser(), t.sp.localDomain
	if host == "" {
		host = t.sp.domain
		if user == "" {
			host = t.eng.advHost
		}
	}
	if user == "" {
		user = "trunkd"
	}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: host}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: req.Recipient})
	req.AppendHeader(sip.NewHeader("User-Agent", t.eng.userAgent))
	return req
}

// runPing is one ping and the scheduling of the next.
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
	lvl := slog.LevelInfo
	switch {
	case r.state == Down:
		lvl = slog.LevelWarn
	case prev == Unknown:
		lvl = slog.LevelDebug
	}
	attrs := []any{"from", prev, "to", r.state, "method", ev.method}
	if ev.code != 0 {
		attrs = append(attrs, "status_code", ev.code)
	}
	attrs = append(attrs, "reason", ev.reason, "target", ev.target.String())
	t.log.Log(context.Background(), lvl, "trunk reachability changed", attrs...)
}
