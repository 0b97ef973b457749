package sipcheck

import (
	"context"
	"math/rand/v2"

	"github.com/emiago/sipgo/sip"
)

// regSession is what consecutive REGISTERs of a trunk share (RFC 3261
// §10.2.4: same Call-ID, CSeq + 1, same From tag). It belongs to the
// trunk's registration goroutine (and, once that has stopped, to the
// un-registration).
type regSession struct {
	callID       string
	fromTag      string
	cseq         uint32
	expires      int // bind mode: requested expiry, raised by 423 Min-Expires
	queryExpires int // query mode: noExpires until a 423 asks for one
}

func newSession(expires int) regSession {
	s := regSession{callID: sip.GenerateTagN(24) + "@trunkd", fromTag: sip.GenerateTagN(16),
		cseq: uint32(rand.N(1 << 15)), expires: expires, queryExpires: noExpires}
	if expires == 0 {
		s.expires = noExpires
	}
	return s
}

// registerCheck tries the targets in order from the primary; a target that
// does not answer (or answers 503 while another is left) passes the check
// to the next one. A registering trunk always has an AOR user: registry
// falls back to its (required) code when username and login are empty.
func (t *trunk) registerCheck(ctx context.Context) regOutcome {
	var out regOutcome
	expires := t.sess.expires
	if !t.bind {
		expires = t.sess.queryExpires
	}
	for i, tg := range t.targets {
		out = t.registerAt(ctx, tg, expires)
		out.target = i
		if out.canceled || out.answered && !(out.code == sip.StatusServiceUnavailable && i+1 < len(t.targets)) {
			return out
		}
	}
	return out
}

// registerAt runs one REGISTER exchange against tg: the request, digest
// answers, and up to two retries a 423 asks for. In bind mode expires 0 is
// the un-REGISTER, whose 423 is never retried (that would register again).
func (t *trunk) registerAt(ctx context.Context, tg target, expires int) regOutcome {
	for brief := 0; ; brief++ {
		req := t.nextRegister(expires)
		a := t.eng.do(ctx, req, tg, t.set.timeout)
		a, rej := t.authenticate(ctx, req, a, tg)
		t.sess.cseq = req.CSeq().SeqNo // raised by each digest answer
		if rej != nil {
			return *rej
		}
		if n, ok := minExpiresRetry(a, expires); ok && brief < 2 && (!t.bind || expires != 0) {
			expires = n
			if t.bind {
				t.sess.expires = n
			} else {
				t.sess.queryExpires = n
			}
			continue
		}
		return classifyRegister(a, t.ownContact(), expires)
	}
}

// nextRegister builds the session's next REGISTER (CSeq + 1).
func (t *trunk) nextRegister(expires int) *sip.Request {
	t.sess.cseq++
	return buildRegister(registerRequest{domain: t.sp.domain, user: t.sp.aorUser, callID: t.sess.callID,
		fromTag: t.sess.fromTag, cseq: t.sess.cseq, contact: t.ownContact(), expires: expires,
		userAgent: t.eng.userAgent})
}

// ownContact is our Contact in bind mode, nil in query mode.
func (t *trunk) ownContact() *sip.Uri {
	if !t.bind {
		return nil
	}
	c := t.eng.contact(t.sp.aorUser)
	return &c
}
