package sipcheck

import (
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

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

// pingOutcome is the result of one ping.
type pingOutcome struct {
	alive, answered, sentOnly, canceled bool
	code                                int // 0 for CRLF
	reason                              string
	rtt                                 time.Duration
	target                              target
}

// classifyRegister turns the final answer to a REGISTER into an outcome.
// own is our Contact in bind mode (nil for a query), requested the expiry
// asked for (noExpires: none).
func classifyRegister(a answer, own *sip.Uri, requested int) regOutcome {
	switch a.fail {
	case canceled:
		return regOutcome{canceled: true}
	case timedOut, transport:
		return regOutcome{state: RegFailing, code: a.code(), reason: a.reason()}
	}
	res := a.res
	out := regOutcome{code: res.StatusCode, reason: res.Reason, answered: true, rtt: a.rtt}
	switch res.StatusCode {
	case sip.StatusUnauthorized, sip.StatusForbidden, sip.StatusNotFound, sip.StatusProxyAuthRequired:
		out.state = RegRejected
	case sip.StatusServiceUnavailable:
		out.state = RegFailing
		if n := headerInt(res, "Retry-After"); n > 0 {
			out.retryAfter = time.Duration(n) * time.Second
		}
	default:
		out.state = RegFailing
	}
	if res.IsSuccess() {
		out.state = RegRegistered
		out.bindings = bindingsOf(res, own)
		if own != nil {
			out.granted = grantedExpiry(res, out.bindings, requested)
		}
	}
	return out
}

// minExpiresRetry says whether an answer is a 423 that asks for a longer
// expiry than requested, and which.
func minExpiresRetry(a answer, requested int) (int, bool) {
	if a.fail != answered || a.res.StatusCode != sip.StatusIntervalToBrief {
		return 0, false
	}
	n := headerInt(a.res, "Min-Expires")
	return n, n > 0 && n > requested
}

// bindingsOf lists the Contacts of a 200, marking own (nil: none is ours).
func bindingsOf(res *sip.Response, own *sip.Uri) []Binding {
	hdrExp := headerInt(res, "Expires")
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
		b.Own = own != nil && strings.EqualFold(c.Address.Host, own.Host) && c.Address.Port == own.Port &&
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

// classifyOptions turns the answer to an OPTIONS ping into an outcome:
// alive when answered with a code in alive.
func classifyOptions(a answer, tg target, alive *codeSet) pingOutcome {
	out := pingOutcome{target: tg}
	if a.fail == canceled {
		out.canceled = true
		return out
	}
	out.code, out.reason, out.rtt, out.answered = a.code(), a.reason(), a.rtt, a.fail == answered
	out.alive = out.answered && alive.has(out.code)
	return out
}

// classifyCRLF turns a keep-alive into an outcome; sentOnly: over UDP,
// where nothing answers.
func classifyCRLF(a answer, sentOnly bool, tg target) pingOutcome {
	out := pingOutcome{target: tg, rtt: a.rtt}
	out.sentOnly, out.canceled = sentOnly && a.fail == answered, a.fail == canceled
	out.alive = a.fail == answered && !sentOnly
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
