package sipcheck

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// trunk probes one active provider: a registration timer and a ping timer,
// each running at most one check at a time in its own goroutine, owned by
// the trunk and stopped with it. The trunk owns scheduling (schedule.go)
// and state (record.go); requests are built and answers classified by
// pure functions (request.go, classify.go).
type trunk struct {
	// Set at creation, read-only after.
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
	pingLimit time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// regCtx (a child of ctx) is the registration checks' context: a
	// fence cancels it alone, the pings go on. regWG counts the running
	// registration check, so a fence can wait for the one it cancelled
	// (fence.go).
	regCtx    context.Context
	regCancel context.CancelFunc
	regWG     sync.WaitGroup

	// Owned by the registration goroutine (runReg; after stop has waited
	// for it, unregister; in CheckOnce its one goroutine), never touched
	// by anything else: no lock.
	sess    regSession
	boundTo *target // bind mode: where the registrar holds our binding

	// Guarded by mu.
	mu        sync.Mutex
	stopped   bool
	regFenced bool // no registration check runs any more (fence.go)
	regTimer  Timer
	pingTimer Timer
	cur       int // index of the current target
	reg       regStatus
	ping      pingStatus
	reach     reachStatus
	g         gauges
}

// regStatus is the outcome of the trunk's registration checks.
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

// pingStatus is the outcome of the trunk's last ping.
type pingStatus struct {
	sentOnly             bool // CRLF over UDP: nothing to measure
	code                 int
	reason, target       string
	lastCheck, nextCheck time.Time
	rtt                  time.Duration
	hasRTT               bool
}

// reachStatus is the up/down hysteresis.
type reachStatus struct {
	state       string
	fails, succ int
}

// gauges are the trunk's metric children, created at first use so that an
// unknown value has no series.
type gauges struct {
	registered, reachable, bindings    prometheus.Gauge
	engineBindings                     prometheus.Gauge
	regCode, regRTT, pingCode, pingRTT prometheus.Gauge
}

// newTrunk builds the prober of one trunk; start arms it.
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
		bind: sp.bind, log: log.With("trunk", sp.code, "trunk_id", sp.id)}
	t.pingLimit = min(set.timeout, time.Duration(max(sp.pingTimeout, 1))*time.Second)
	t.ctx, t.cancel = context.WithCancel(parent)
	t.regCtx, t.regCancel = context.WithCancel(t.ctx)
	t.sess = newSession(sp.expires)
	t.reg.state = RegUnregistered
	if !sp.reg {
		t.reg.state = RegOff
	}
	t.reach.state = Unknown
	return t, nil
}

// mode is the trunk's registration mode: bind when the prober holds a
// binding, else query (also in bind mode for a trunk another node owns).
func (t *trunk) mode() string {
	if t.bind {
		return ModeBind
	}
	return ModeQuery
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
	t.regCancel()
	t.cancel()
	t.wg.Wait()
	if t.bind && t.boundTo != nil && unregCtx.Err() == nil {
		t.unregister(unregCtx)
	}
}

// unregister sends REGISTER with Expires: 0 for our contact and returns
// its outcome. It runs after every check has stopped, on its own bounded
// context.
func (t *trunk) unregister(ctx context.Context) regOutcome {
	tg := *t.boundTo
	out := t.registerAt(ctx, tg, 0)
	if out.state == RegRegistered {
		t.boundTo = nil
		t.log.Info("trunk un-registered", "target", tg.String(), "status_code", out.code, "reason", out.reason)
		return out
	}
	t.mu.Lock()
	expiresAt := t.reg.expiresAt
	t.mu.Unlock()
	t.log.Warn("trunk un-register failed; the binding expires by itself", "target", tg.String(),
		"status_code", out.code, "reason", out.reason, "expires_at", expiresAt)
	return out
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
