package sipcheck

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// failure says why a request got no final response.
type failure int

const (
	answered  failure = iota
	timedOut          // no answer before the deadline
	transport         // could not send: DNS, dial, write
	canceled          // the trunk stopped meanwhile
)

// answer is the outcome of one transaction.
type answer struct {
	res  *sip.Response
	rtt  time.Duration
	fail failure
	err  error
}

// code is the final status code, with the codes RFC 3261 §8.1.3.1 has a
// client assume: 408 for a timeout and 503 for a transport error.
func (a answer) code() int {
	switch a.fail {
	case answered:
		return a.res.StatusCode
	case timedOut:
		return sip.StatusRequestTimeout
	case transport:
		return sip.StatusServiceUnavailable
	}
	return 0
}

// reason is the response's reason phrase, or what went wrong locally.
func (a answer) reason() string {
	switch a.fail {
	case answered:
		return a.res.Reason
	case timedOut:
		return a.err.Error()
	case transport:
		return transportReason(a.err)
	}
	return "canceled"
}

// transportReason describes a failure to send; a rejected TLS certificate
// is named as such (untrusted CA, wrong name, expired), so the operator
// sees a trust problem rather than a network one.
func transportReason(err error) string {
	if cv, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return "transport error: TLS verification failed: " + cv.Err.Error()
	}
	return "transport error: " + err.Error()
}

// result is the value of trunkd_sip_requests_total's result label.
func (a answer) result() string {
	switch a.fail {
	case answered:
		return strconv.Itoa(a.res.StatusCode)
	case timedOut:
		return "timeout"
	case transport:
		return "transport_error"
	}
	return "canceled"
}

// do sends req to t and waits for its final response within the timeout.
// Nothing is sent once ctx ended (a stopped or fenced trunk).
func (e *engine) do(ctx context.Context, req *sip.Request, t target, timeout time.Duration) answer {
	if err := ctx.Err(); err != nil {
		return e.finish(ctx, t, req, answer{err: err}, timeout)
	}
	if err := e.route(ctx, req, t); err != nil {
		return e.finish(ctx, t, req, answer{fail: transport, err: err}, timeout)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	res, err := e.client(t).Do(cctx, req)
	return e.finish(ctx, t, req, answer{res: res, rtt: time.Since(start), err: err}, timeout)
}

// digest answers a 401/407 challenge on req (one attempt: sipgo bumps the
// CSeq, adds the credentials and a new Via) and waits for the answer;
// nothing is sent once ctx ended.
func (e *engine) digest(ctx context.Context, req *sip.Request, challenge *sip.Response, t target,
	user, pwd string, timeout time.Duration) answer {
	if err := ctx.Err(); err != nil {
		return e.finish(ctx, t, req, answer{err: err}, timeout)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	res, err := e.client(t).DoDigestAuth(cctx, req, challenge, sipgo.DigestAuth{Username: user, Password: pwd})
	return e.finish(ctx, t, req, answer{res: res, rtt: time.Since(start), err: err}, timeout)
}

// finish classifies the error, counts the request and traces it.
func (e *engine) finish(ctx context.Context, t target, req *sip.Request, a answer, timeout time.Duration) answer {
	if a.err != nil {
		a.res = nil
		switch {
		case ctx.Err() != nil:
			a.fail = canceled
		case errors.Is(a.err, context.DeadlineExceeded), errors.Is(a.err, sip.ErrTransactionTimeout):
			a.fail, a.err = timedOut, fmt.Errorf("no answer within %s", timeout)
		default:
			a.fail = transport
		}
	}
	method := string(req.Method)
	if a.fail != canceled {
		e.m.count(method, a.result())
	}
	if a.fail == answered {
		e.m.observe(method, a.rtt)
	}
	if e.trace != nil {
		x := exchange{target: t, req: req, res: a.res, rtt: a.rtt}
		if a.fail != answered {
			x.err = errors.New(a.reason())
		}
		e.trace.exchange(x)
	}
	return a
}
