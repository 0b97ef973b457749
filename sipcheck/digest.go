package sipcheck

import (
	"context"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// authenticate answers 401/407 challenges: one answer per kind (a proxy
// and then the registrar may both challenge); a repeated challenge means
// the credentials are wrong, unless it says stale=true (once). A non-nil
// outcome is the rejection. Every answer raises req's CSeq (sipgo does).
func (t *trunk) authenticate(ctx context.Context, req *sip.Request, a answer, tg target) (answer, *regOutcome) {
	seen := map[int]bool{}
	staleUsed := false
	for a.fail == answered && (a.res.StatusCode == sip.StatusUnauthorized || a.res.StatusCode == sip.StatusProxyAuthRequired) {
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
		a = t.eng.digest(ctx, req, a.res, tg, t.sp.authUser, t.sp.pwd, t.set.timeout)
	}
	return a, nil
}

// parseChallenge reads the digest challenge of a 401 or 407.
func parseChallenge(res *sip.Response) (*digest.Challenge, bool) {
	name := "WWW-Authenticate"
	if res.StatusCode == sip.StatusProxyAuthRequired {
		name = "Proxy-Authenticate"
	}
	h := res.GetHeader(name)
	if h == nil {
		return nil, false
	}
	c, err := digest.ParseChallenge(h.Value())
	return c, err == nil
}
