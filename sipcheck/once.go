package sipcheck

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// Report is the result of CheckOnce.
type Report struct {
	Registration RegistrationState
	Ping         PingState
	// OK is false when the registration check failed (reg 1) or a
	// measurable ping went unanswered.
	OK bool
}

// CheckOnce runs one registration check (reg 1) and one ping (per
// pingmode) for p, whether or not it is active, and writes every SIP
// exchange and a summary to out with Authorization responses masked. It
// sends from the host of cfg.Listen on a free port, so it can run next to
// the daemon. In bind mode the binding it made is removed again.
func CheckOnce(ctx context.Context, cfg Config, p *registry.Provider, out io.Writer) (Report, error) {
	set, err := cfg.settings()
	if err != nil {
		return Report{}, err
	}
	host, _, _ := net.SplitHostPort(set.listen)
	set.listen = net.JoinHostPort(host, "0")
	set.upAfter, set.downAfter = 1, 1
	m, _ := newMetrics(nil)
	quiet := slog.New(slog.DiscardHandler)
	eng, err := newEngine(engineOptions{listen: set.listen, advertise: set.advertise,
		tlsRoots: set.tlsRoots, metrics: m, log: quiet, trace: &writerTracer{w: out}, userAgent: "trunkd"})
	if err != nil {
		return Report{}, err
	}
	defer eng.close()
	sp := specOf(p)
	sp.bind = set.registerMode == ModeBind
	t, err := newTrunk(ctx, eng, RealClock{}, &set, m, quiet, sp)
	if err != nil {
		return Report{}, err
	}
	defer t.cancel()
	fmt.Fprintf(out, "trunk %s (%s): registration %s, ping %s, from udp:%s\n\n", p.Code, p.ID,
		regSummaryMode(t), p.PingMode, eng.laddr)
	rep := Report{OK: checkOnce(ctx, t)}
	st := t.view()
	rep.Registration, rep.Ping = st.Registration, st.Ping
	var unreg *regOutcome
	if t.bind && t.boundTo != nil && ctx.Err() == nil {
		uctx, cancel := context.WithTimeout(ctx, 3*set.timeout)
		u := t.unregister(uctx)
		cancel()
		unreg = &u
	}
	writeSummary(out, st, unreg, rep.OK)
	return rep, ctx.Err()
}

// checkOnce runs t's registration check and ping once each and records
// them; false when one failed.
func checkOnce(ctx context.Context, t *trunk) bool {
	ok := true
	if t.sp.reg {
		ro := t.registerCheck(ctx)
		t.trackBinding(ro)
		t.mu.Lock()
		t.applyReg(ro, time.Now())
		t.mu.Unlock()
		ok = !ro.canceled && ro.state == RegRegistered
	}
	if t.pings() {
		po := t.pingCheck(ctx)
		t.mu.Lock()
		t.applyPing(po, time.Now())
		t.mu.Unlock()
		ok = ok && !po.canceled && (po.sentOnly || po.alive)
	}
	return ok
}

func regSummaryMode(t *trunk) string {
	if !t.sp.reg {
		return "off (reg 0)"
	}
	return t.set.registerMode + " mode to " + t.targets[0].String()
}

// writeSummary prints the outcome under the exchanges; unreg is the
// outcome of removing a bind-mode binding again (nil when none was made).
func writeSummary(w io.Writer, st State, unreg *regOutcome, ok bool) {
	r := st.Registration
	if r.State == RegOff {
		fmt.Fprintln(w, "registration: off (reg 0)")
	} else {
		fmt.Fprintf(w, "registration: %s (%s) via %s%s\n", r.State, codeReason(r.LastCode, r.LastReason), st.Target, rttText(r.RTTSeconds))
		if r.State == RegRegistered {
			fmt.Fprintf(w, "  %d binding(s) listed by the registrar\n", len(r.Bindings))
		}
		for _, b := range r.Bindings {
			own := ""
			if b.Own {
				own = " (ours)"
			}
			fmt.Fprintf(w, "  binding <%s> expires %d s%s\n", b.Contact, b.Expires, own)
		}
	}
	switch {
	case unreg == nil:
	case unreg.state == RegRegistered:
		fmt.Fprintf(w, "  binding removed again (%s)\n", codeReason(intPtr(unreg.code), unreg.reason))
	default:
		fmt.Fprintf(w, "  binding not removed (%s): it expires by itself\n", codeReason(intPtr(unreg.code), unreg.reason))
	}
	p := st.Ping
	switch p.State {
	case Off:
		fmt.Fprintln(w, "ping: none")
	default:
		fmt.Fprintf(w, "ping (%s): %s (%s) at %s%s\n", p.Mode, p.State, codeReason(p.LastCode, p.LastReason), p.Target, rttText(p.RTTSeconds))
	}
	if ok {
		fmt.Fprintln(w, "result: OK")
	} else {
		fmt.Fprintln(w, "result: FAILED")
	}
}

func codeReason(code *int, reason string) string {
	if code == nil {
		return reason
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s", *code, reason))
}

func rttText(s *float64) string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf(" in %.3f ms", *s*1000)
}
