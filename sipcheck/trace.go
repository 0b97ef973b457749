package sipcheck

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// exchange is one request and its final answer, for traces.
type exchange struct {
	target target
	req    *sip.Request // as sent; nil for a CRLF keep-alive
	res    *sip.Response
	rtt    time.Duration
	err    error
	note   string // what happened when there is no SIP message
}

// tracer receives every exchange as it completes; it must copy what it keeps.
type tracer interface {
	exchange(x exchange)
}

var authResponseRe = regexp.MustCompile(`(?i)(\bresponse\s*=\s*)("[^"]*"|[^,\s]*)`)

// maskAuth hides the digest response of Authorization and
// Proxy-Authorization headers; the rest of the message stays readable.
func maskAuth(msg string) string {
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		low := strings.ToLower(l)
		if strings.HasPrefix(low, "authorization:") || strings.HasPrefix(low, "proxy-authorization:") {
			lines[i] = authResponseRe.ReplaceAllString(l, `${1}"***"`)
		}
	}
	return strings.Join(lines, "\n")
}

// slogTracer writes exchanges to a debug log.
type slogTracer struct{ log *slog.Logger }

func (t slogTracer) exchange(x exchange) {
	attrs := []any{"target", x.target.String(), "rtt_ms", float64(x.rtt.Microseconds()) / 1000}
	if x.req != nil {
		attrs = append(attrs, "request", maskAuth(x.req.String()))
	}
	if x.res != nil {
		attrs = append(attrs, "response", maskAuth(x.res.String()))
	}
	if x.err != nil {
		attrs = append(attrs, "error", x.err.Error())
	}
	if x.note != "" {
		attrs = append(attrs, "note", x.note)
	}
	t.log.Debug("sip exchange", attrs...)
}

// writerTracer prints exchanges the way sipsak users read them.
type writerTracer struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *writerTracer) exchange(x exchange) {
	var b strings.Builder
	if x.req != nil {
		fmt.Fprintf(&b, ">>> %s to %s\n%s\n", x.req.Method, x.target, strings.TrimRight(maskAuth(x.req.String()), "\r\n"))
		b.WriteString("\n")
	}
	switch {
	case x.res != nil:
		fmt.Fprintf(&b, "<<< %d %s from %s in %s\n%s\n\n", x.res.StatusCode, x.res.Reason, x.target,
			fmtRTT(x.rtt), strings.TrimRight(maskAuth(x.res.String()), "\r\n"))
	case x.err != nil:
		fmt.Fprintf(&b, "<<< no answer from %s after %s: %v\n\n", x.target, fmtRTT(x.rtt), x.err)
	}
	if x.note != "" {
		fmt.Fprintf(&b, "--- %s\n\n", x.note)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	_, _ = io.WriteString(t.w, strings.ReplaceAll(b.String(), "\r\n", "\n"))
}

func fmtRTT(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000)
}

// debugTracer returns a tracer for log when it logs at debug level.
func debugTracer(log *slog.Logger) tracer {
	if log.Enabled(context.Background(), slog.LevelDebug) {
		return slogTracer{log: log}
	}
	return nil
}
