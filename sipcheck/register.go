package sipcheck

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Registration states.
const (
	RegRegistered   = "registered"
	RegRejected     = "rejected"
	RegFailing      = "failing"
	RegUnregistered = "unregistered"
	RegOff          = "off"
)

// noExpires asks for no Expires header (expires: 0 in the provider file:
// the registrar picks the expiry).
const noExpires = -1

// regOutcome is the result of one registration check.
type regOutcome struct {
	state      string
	code       int
	reason     string
	answered   bool // a target answered (proves reachability)
	target     int  // index of the last target tried
	bindings   []Binding
	granted    int // bind mode: seconds the registrar granted our binding
	retryAfter time.Duration
	rtt        time.Duration
	canceled   bool
}

// regSession is what consecutive REGISTERs of a trunk share (RFC 3261
// §10.2.4: same Call-ID, CSeq + 1, same From tag).
type regSession struct {
	callID       string
	fromTag      string
	cseq         uint32
	expires      int // bind mode: requested expiry, raised by 423 Min-Expires
	queryExpires int // query mode: 0 (no Expires header) until a 423 asks for one
}

// registerCheck tries the targets in order from the primary; a target that
// does not answer (or answers 503 while another is left) passes the check
// to the next one.
func (t *trunk) registerCheck(ctx context.Context, bind bool) regOutcome {
	if t.sp.aorUser() == "" {
		return regOutcome{state: RegRejected, reason: "username and login are empty: no account to register"}
	}
	var out regOutcome
	expires := t.sess.expires
	if !bind {
		expires = t.sess.queryExpires
	}
	for i, tg := range t.targets {
		out = t.registerAt(ctx, tg, bind, expires)
		out.target = i
		if out.canceled || (out.answered && !(out.code == 503 && i+1 < len(t.targets))) {
			return out
		}
	}
	return out
}

// registerAt runs one REGISTER against tg with digest and 423 handling.
func (t *trunk) registerAt(ctx context.Context, tg target, bind bool, expires int) regOutcome {
	e, timeout := t.eng, t.timeout
	// A 423 is retried with Min-Expires, but never for an un-REGISTER
	// (bind mode, Expires: 0): that would register again.
	retry423 := !bind || expires != 0
	for brief := 0; ; brief++ {
		req := t.newRegister(tg, bind, expires)
		a := e.do(ctx, req, tg, timeout)
		a, rej := t.authenticate(ctx, req, a, tg)
		if rej != nil {
			return *rej
		}
		if retry423 && a.fail == answered && a.res.StatusCode == 423 && brief < 2 {
			if n := headerInt(a.res, "Min-Expires"); n > 0 && n > expires {
				expires = n
				if bind {
					t.sess.expires = n
				} else {
					t.sess.queryExpires = n
				}
				continue
			}
		}
		return t.outcomeOf(a, bind, expires)
	}
}

// authenticate answers 401/407 challenges: one answer per kind (a proxy
// and then the registrar may both challenge); a repeated challenge means
// the credentials are wrong, unless it says stale=true (once).
func (t *trunk) authenticate(ctx context.Context, req *sip.Request, a answer, tg target) (answer, *regOutcome) {
	seen := map[int]bool{}
	staleUsed := false
	for a.fail == answered && (a.res.StatusCode == 401 || a.res.StatusCode == 407) {
		code := a.res.StatusCode
		chal, ok := parseChallenge(a.res)
		if !ok {
			return a, &regOutcome{state: RegRejected, code: code, answered: true, rtt: a.rtt,
				reason: a.res.Reason + " (no usable digest challenge)"}
		}
		if seen[code] {
			if !chal.Stale || staleUsed {
				return a, &regOutcome{state: RegRejected, code: code, answered: true, rtt: a.rtt,
					reason: a.res.Reason + " (credentials refused: challenged again after answering)"}
			}
			staleUsed = true
		}
		seen[code] = true
		a = t.eng.digest(ctx, req, a.res, tg, t.sp.authUser(), t.sp.pwd, t.timeout)
		t.sess.cseq = req.CSeq().SeqNo
	}
	return a, nil
}

func parseChallenge(res *sip.Response) (*digest.Challenge, bool) {
	name := "WWW-Authenticate"
	if res.StatusCode == 407 {
		name = "Proxy-Authenticate"
	}
	h := res.GetHeader(name)
	if h == nil {
		return nil, false
	}
	c, err := digest.ParseChallenge(h.Value())
	return c, err == nil
}

// newRegister builds a fresh REGISTER (requests are mutated by sipgo and
// never reused). Query mode sends no Contact; bind mode our Contact.
func (t *trunk) newRegister(tg target, bind bool, expires int) *sip.Request {
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: t.sp.domain})
	aor := sip.Uri{Scheme: "sip", User: t.sp.aorUser(), Host: t.sp.domain}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", t.sess.fromTag)
	cid := sip.CallIDHeader(t.sess.callID)
	t.sess.cseq++
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: t.sess.cseq, MethodName: sip.REGISTER})
	if bind {
		req.AppendHeader(&sip.ContactHeader{Address: t.eng.contact(t.sp.aorUser())})
	}
	if bind && expires != noExpires || !bind && expires > 0 {
		e := sip.ExpiresHeader(expires)
		req.AppendHeader(&e)
	}
	req.AppendHeader(sip.NewHeader("User-Agent", t.eng.userAgent))
	return req
}

// outcomeOf turns the final answer into a registration outcome.
func (t *trunk) outcomeOf(a answer, bind bool, expires int) regOutcome {
	switch a.fail {
	case canceled:
		return regOutcome{canceled: true}
	case timedOut, transport:
		return regOutcome{state: RegFailing, code: a.code(), reason: a.reason()}
	}
	res := a.res
	out := regOutcome{code: res.StatusCode, reason: res.Reason, answered: true, rtt: a.rtt}
	switch {
	case res.IsSuccess():
		out.state = RegRegistered
		out.bindings = t.bindingsOf(res, bind)
		if bind {
			out.granted = grantedExpiry(res, out.bindings, expires)
		}
	case res.StatusCode == 401 || res.StatusCode == 403 || res.StatusCode == 404 || res.StatusCode == 407:
		out.state = RegRejected
	default:
		out.state = RegFailing
		if res.StatusCode == 503 {
			if n := headerInt(res, "Retry-After"); n > 0 {
				out.retryAfter = time.Duration(n) * time.Second
			}
		}
	}
	return out
}

// bindingsOf lists the Contacts of a 200, marking ours.
func (t *trunk) bindingsOf(res *sip.Response, bind bool) []Binding {
	hdrExp := headerInt(res, "Expires")
	own := t.eng.contact(t.sp.aorUser())
	var out []Binding
	for _, h := range res.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			continue
		}
		b := Binding{Contact: c.Address.String(), Expires: hdrExp}
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil {
				b.Expires = n
			}
		}
		b.Own = bind && strings.EqualFold(c.Address.Host, own.Host) && c.Address.Port == own.Port &&
			c.Address.User == own.User
		out = append(out, b)
	}
	return out
}

// grantedExpiry is our binding's expiry: its Contact's expires, else the
// Expires header, else what we asked for (3600 when we asked nothing).
func grantedExpiry(res *sip.Response, bs []Binding, requested int) int {
	for _, b := range bs {
		if b.Own && b.Expires > 0 {
			return b.Expires
		}
	}
	if n := headerInt(res, "Expires"); n > 0 {
		return n
	}
	if requested > 0 {
		return requested
	}
	return 3600
}

// headerInt reads a header holding a number (Retry-After may carry a
// comment after it); -1 when absent or not a number.
func headerInt(res *sip.Response, name string) int {
	h := res.GetHeader(name)
	if h == nil {
		return -1
	}
	v := strings.TrimSpace(h.Value())
	if i := strings.IndexAny(v, " ;("); i >= 0 {
		v = v[:i]
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

// runReg is one registration check and the scheduling of the next.
func (t *trunk) runReg() {
	started := t.clock.Now()
	out := t.registerCheck(t.ctx, t.bind)
	if out.canceled {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.applyReg(out, started)
	t.reg.nextCheck, t.regTimer = t.arm(t.clock.Now(), t.nextRegDelay(out), t.fireReg)
}

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
	t.trackBinding(out)
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
		// Failures warn, recoveries inform; the first success after
		// start is debug, so that 10,000 trunks do not flood the log.
		lvl := slog.LevelInfo
		switch {
		case out.state != RegRegistered:
			lvl = slog.LevelWarn
		case prev == RegUnregistered:
			lvl = slog.LevelDebug
		}
		t.log.Log(context.Background(), lvl, "trunk registration state changed", "from", prev, "to", out.state,
			"status_code", out.code, "reason", out.reason, "target", t.targets[out.target].String())
	}
}

// trackBinding remembers where the registrar holds our binding (bind
// mode): the target of the last 2xx, forgotten when that target refuses
// the credentials (an un-REGISTER would be refused too). A trunk never
// registered — rejected or unanswered — has nothing to un-register.
// Called with t.mu held.
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
