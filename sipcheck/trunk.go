package sipcheck

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// Reachability states.
const (
	Up      = "up"
	Down    = "down"
	Unknown = "unknown"
	Off     = "off"
)

// trunk probes one active provider: a registration timer and a ping timer,
// each running at most one check at a time in its own goroutine, owned by
// the trunk and stopped with it.
type trunk struct {
	eng       *engine
	clock     Clock
	set       *settings
	m         *metrics
	log       *slog.Logger
	sp        spec
	targets   []target
	pingTg    target
	pingSrv   bool
	bind      bool
	timeout   time.Duration
	pingLimit time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	stopped   bool
	regTimer  Timer
	pingTimer Timer
	sess      regSession
	boundTo   *target // bind mode: where our binding may exist
	cur       int     // index of the current target
	reg       regStatus
	ping      pingStatus
	reach     reachStatus
	g         gauges
}

type regStatus struct {
	state, reason        string
	code, failures       int
	lastCheck, nextCheck time.Time
	rtt                  time.Duration
	hasRTT               bool
	bindings             []Binding
	bindingsSeen         time.Time
	expiresAt            time.Time
}

type pingStatus struct {
	sentOnly             bool // CRLF over UDP: nothing to measure
	code                 int
	reason, target       string
	lastCheck, nextCheck time.Time
	rtt                  time.Duration
	hasRTT               bool
}

type reachStatus struct {
	state       string
	fails, succ int
}

// gauges are the trunk's metric children, created at first use so that an
// unknown value has no series.
type gauges struct {
	registered, reachable, bindings    prometheus.Gauge
	regCode, regRTT, pingCode, pingRTT prometheus.Gauge
}

func newTrunk(parent context.Context, eng *engine, clock Clock, set *settings, m *metrics, log *slog.Logger, sp spec) (*trunk, error) {
	targets, err := sp.targets()
	if err != nil {
		return nil, err
	}
	pt, hasPT, err := sp.pingTarget()
	if err != nil {
		return nil, err
	}
	t := &trunk{eng: eng, clock: clock, set: set, m: m, sp: sp, targets: targets, pingTg: pt, pingSrv: hasPT,
		bind: set.registerMode == ModeBind, timeout: set.timeout,
		log: log.With("trunk", sp.code, "trunk_id", sp.id)}
	t.pingLimit = min(t.timeout, time.Duration(max(sp.pingTimeout, 1))*time.Second)
	t.ctx, t.cancel = context.WithCancel(parent)
	t.sess = regSession{callID: sip.GenerateTagN(24) + "@trunkd", fromTag: sip.GenerateTagN(16),
		cseq: uint32(rand.N(1 << 15)), expires: sp.expires}
	if sp.expires == 0 {
		t.sess.expires = noExpires
	}
	t.reg.state = RegUnregistered
	if !sp.reg {
		t.reg.state = RegOff
	}
	t.reach.state = Unknown
	return t, nil
}

// pings reports whether the trunk sends pings at all.
func (t *trunk) pings() bool { return t.sp.pingMode == "options" || t.sp.pingMode == "rn" }

// pingMeasures reports whether pings tell reachability (CRLF over UDP does not).
func (t *trunk) pingMeasures() bool {
	switch t.sp.pingMode {
	case "options":
		return true
	case "rn":
		return t.currentPingTarget().transport != "udp"
	}
	return false
}

func (t *trunk) currentPingTarget() target {
	if t.pingSrv {
		return t.pingTg
	}
	return t.targets[t.cur]
}

// start arms the first checks after the given delays.
func (t *trunk) start(regDelay, pingDelay time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	if t.sp.reg {
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

func (t *trunk) fireReg()  { t.fire(t.runReg) }
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

// stop ends the trunk's checks and waits for the running ones; in bind
// mode it then removes the binding (Expires: 0) within unregCtx.
func (t *trunk) stop(unregCtx context.Context) {
	t.mu.Lock()
	t.stopped = true
	for _, tm := range []Timer{t.regTimer, t.pingTimer} {
		if tm != nil {
			tm.Stop()
		}
	}
	t.mu.Unlock()
	t.cancel()
	t.wg.Wait()
	if t.bind && t.boundTo != nil && unregCtx.Err() == nil {
		t.unregister(unregCtx)
	}
}

// unregister sends REGISTER with Expires: 0 for our contact. It runs after
// every check has stopped, on its own bounded context.
func (t *trunk) unregister(ctx context.Context) {
	tg := *t.boundTo
	out := t.registerAt(ctx, tg, true, 0)
	t.mu.Lock()
	defer t.mu.Unlock()
	if out.state == RegRegistered {
		t.boundTo = nil
		t.reg.state, t.reg.expiresAt, t.reg.code, t.reg.reason = RegUnregistered, time.Time{}, out.code, out.reason
		t.log.Info("trunk un-registered", "target", tg.String())
		return
	}
	t.log.Warn("trunk un-register failed; the binding expires by itself", "target", tg.String(),
		"status_code", out.code, "reason", out.reason, "expires_at", t.reg.expiresAt)
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
	if out.state == RegRegistered {
		r.failures = 0
		r.bindings, r.bindingsSeen = out.bindings, at
		if t.bind {
			r.expiresAt = at.Add(time.Duration(out.granted) * time.Second)
		}
		t.gauge(&t.g.bindings, t.m.bindings).Set(float64(len(out.bindings)))
	} else {
		r.failures++
	}
	t.gauge(&t.g.registered, t.m.registered).Set(boolFloat(out.state == RegRegistered))
	if out.code != 0 {
		t.gauge(&t.g.regCode, t.m.lastCode, "REGISTER").Set(float64(out.code))
	}
	if !t.pingMeasures() {
		t.observeReach(out.answered)
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
	t.observeReach(out.alive)
	if !out.alive && !t.pingSrv && len(t.targets) > 1 {
		t.cur = (t.cur + 1) % len(t.targets)
	}
}

// observeReach feeds the up/down hysteresis. Called with t.mu held.
func (t *trunk) observeReach(ok bool) {
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
	t.log.Log(context.Background(), lvl, "trunk reachability changed", "from", prev, "to", r.state,
		"status_code", t.ping.code, "reason", t.ping.reason, "target", t.currentPingTarget().String())
}

// gauge returns the trunk's child of vec (labels: code, then method when
// given), creating it at first use. Called with t.mu held.
func (t *trunk) gauge(g *prometheus.Gauge, vec *prometheus.GaugeVec, method ...string) prometheus.Gauge {
	if *g == nil {
		*g = vec.WithLabelValues(append([]string{t.sp.code}, method...)...)
	}
	return *g
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// state is the trunk's State for the API.
func (t *trunk) state() State {
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
	s.Registration = RegistrationState{State: r.state, Mode: t.set.registerMode, LastCode: intPtr(r.code),
		LastReason: r.reason, LastCheck: timePtr(r.lastCheck), NextCheck: timePtr(r.nextCheck),
		ConsecutiveFailures: r.failures, RTTSeconds: secondsPtr(r.rtt, r.hasRTT),
		Bindings: append([]Binding{}, r.bindings...), BindingsSeen: timePtr(r.bindingsSeen),
		ExpiresAt: timePtr(r.expiresAt)}
	if !t.sp.reg {
		s.Registration.NextCheck = nil
	}
	s.Ping = t.pingState()
	return s
}

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

// String names the trunk in errors.
func (t *trunk) String() string { return fmt.Sprintf("trunk %q", t.sp.code) }
