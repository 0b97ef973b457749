package sipcheck

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/registry/feed"
)

// Options are what the daemon passes to New besides the config.
type Options struct {
	ServerIndex int                   // registry.AnyServer: probe every enabled trunk
	Logger      *slog.Logger          // nil: slog.Default(); debug level adds masked SIP traces
	Registerer  prometheus.Registerer // nil: metrics are kept but not registered
	Clock       Clock                 // nil: RealClock
	UserAgent   string                // User-Agent header, default "trunkd"
	// Ownership delivers which trunks this node owns in a cluster (latest
	// wins): in bind mode only those are bound. nil: the node is alone
	// and owns every trunk. See the package doc, "Cluster".
	Ownership <-chan Ownership
}

// Prober keeps one trunk prober per active provider of the latest snapshot.
type Prober struct {
	set   settings
	opts  Options
	log   *slog.Logger
	clock Clock
	m     *metrics
	eng   *engine
	lim   *limiter

	mu     sync.Mutex
	trunks map[string]*trunk // by provider id
	gen    uint64
	// fenced: Fence came and no ownership that is not fenced since;
	// fenceSeq counts the Fence calls (fence.go).
	fenced   bool
	fenceSeq uint64

	own     Ownership         // the latest ownership (nil: none yet); Run's goroutine only
	applied feed.Feed[uint64] // generations of the ownership the trunks follow (ownership.go)
}

// stopConcurrency bounds how many trunks stop (and un-register) at once.
const stopConcurrency = 256

// shutdownGrace bounds the un-registrations at shutdown.
const shutdownGrace = 5 * time.Second

// New binds the prober's UDP socket and builds its user agent; Run starts
// probing.
func New(cfg Config, o Options) (*Prober, error) {
	set, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	o.Logger, o.UserAgent = cmp.Or(o.Logger, slog.Default()), cmp.Or(o.UserAgent, "trunkd")
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	log := o.Logger.With("component", "probe")
	eng, err := newEngine(engineOptions{listen: set.listen, advertise: set.advertise,
		tlsRoots: set.tlsRoots, metrics: m, log: log, trace: debugTracer(log), userAgent: o.UserAgent})
	if err != nil {
		m.unregister(o.Registerer)
		return nil, err
	}
	return &Prober{set: set, opts: o, log: log, clock: o.Clock, m: m, eng: eng,
		lim: newLimiter(o.Clock, set.maxNew), trunks: map[string]*trunk{}}, nil
}

// Addr is the local UDP address the prober sends from.
func (p *Prober) Addr() string { return p.eng.laddr.String() }

// Run reconciles the probers with every snapshot from snaps until ctx ends
// (or snaps closes), then stops every trunk (un-registering in bind mode)
// and closes the user agent.
func (p *Prober) Run(ctx context.Context, snaps <-chan *registry.Snapshot) error {
	defer p.eng.close()
	p.log.Info("probe started", "listen", p.Addr(), "advertise", fmt.Sprintf("%s:%d", p.eng.advHost, p.eng.advPort),
		"register_mode", p.set.registerMode)
	var snap *registry.Snapshot
	owns := p.opts.Ownership
	for {
		select {
		case <-ctx.Done():
			p.shutdown()
			return nil
		case s, ok := <-snaps:
			if !ok {
				p.shutdown()
				return nil
			}
			snap = s
			p.reconcile(ctx, s)
		case o, ok := <-owns:
			if !ok {
				owns = nil // the last ownership stays
				continue
			}
			_, seq := p.fenceState() // after the receive: o is as new as the last Fence
			p.follow(ctx, o, snap, seq)
		}
	}
}

// reconcile stops the probers of trunks that are gone, inactive or changed
// and starts probers for new and changed ones; unchanged trunks go on.
func (p *Prober) reconcile(ctx context.Context, s *registry.Snapshot) {
	want, order := p.wanted(s)
	p.mu.Lock()
	var stops []*trunk
	for id, t := range p.trunks {
		if sp, ok := want[id]; !ok || sp != t.sp || t.refreshStopped() {
			stops = append(stops, t)
			delete(p.trunks, id)
		}
	}
	p.mu.Unlock()
	p.stopAll(stops, func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 3*p.set.timeout)
	})
	started := 0
	for _, id := range order {
		p.mu.Lock()
		_, running := p.trunks[id]
		p.mu.Unlock()
		if !running && p.startTrunk(ctx, want[id]) {
			started++
		}
	}
	p.mu.Lock()
	p.gen = s.Generation()
	n := len(p.trunks)
	p.mu.Unlock()
	p.setApplied(ownGeneration(p.own))
	if started > 0 || len(stops) > 0 {
		p.log.Info("probe reconciled", "generation", s.Generation(), "trunks", n, "started", started, "stopped", len(stops))
	}
}

// wanted is the spec of every trunk s has this prober probe, by id, and
// their ids in the snapshot's order.
func (p *Prober) wanted(s *registry.Snapshot) (want map[string]spec, order []string) {
	want = map[string]spec{}
	for _, pr := range s.Providers() {
		if pr.Active(p.opts.ServerIndex) && (p.set.trunks == nil || p.set.trunks.MatchString(pr.Code)) {
			sp := specOf(pr)
			sp.bind = p.binds(pr.Code)
			want[pr.ID] = sp
			order = append(order, pr.ID)
		}
	}
	return want, order
}

// startTrunk creates and arms a trunk prober; its first checks take slots
// of the new-check limiter.
func (p *Prober) startTrunk(ctx context.Context, sp spec) bool {
	t, err := newTrunk(ctx, p.eng, p.clock, &p.set, p.m, p.log, sp)
	if err != nil {
		p.log.Error("trunk not probed", "trunk", sp.code, "error", err)
		return false
	}
	var regDelay, pingDelay time.Duration
	if sp.reg {
		regDelay = p.lim.delay()
	}
	if t.pings() {
		pingDelay = p.lim.delay()
	}
	p.mu.Lock()
	p.trunks[sp.id] = t
	fenced := p.fenced
	p.mu.Unlock()
	if fenced && t.bind { // a Fence came since binds said yes
		t.stopRefresh()
	}
	t.start(regDelay, pingDelay)
	return true
}

// stopAll stops trunks concurrently and deletes their series; unregCtx
// gives the context of a trunk's un-registration (bind mode).
func (p *Prober) stopAll(ts []*trunk, unregCtx func() (context.Context, context.CancelFunc)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, stopConcurrency)
	for _, t := range ts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ctx, cancel := unregCtx()
			defer cancel()
			t.stop(ctx)
			p.m.deleteTrunk(t.sp.code)
		})
	}
	wg.Wait()
}

// shutdown stops every trunk; un-registrations share one grace period.
func (p *Prober) shutdown() {
	p.mu.Lock()
	ts := slices.Collect(maps.Values(p.trunks))
	clear(p.trunks)
	p.mu.Unlock()
	grace, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	p.stopAll(ts, func() (context.Context, context.CancelFunc) { return context.WithCancel(grace) })
	p.log.Info("probe stopped", "trunks", len(ts))
}

// State returns the live state of a probed trunk by provider id.
func (p *Prober) State(id string) (State, bool) {
	p.mu.Lock()
	t := p.trunks[id]
	p.mu.Unlock()
	if t == nil {
		return State{}, false
	}
	return t.view(), true
}

// Summary summarises the prober: trunks per registration and reachability
// state, and how many still wait for their first checks.
func (p *Prober) Summary() Status {
	applied, _ := p.applied.Last()
	p.mu.Lock()
	ts := slices.Collect(maps.Values(p.trunks))
	st := Status{Enabled: true, Listen: p.Addr(), Advertise: fmt.Sprintf("%s:%d", p.eng.advHost, p.eng.advPort),
		RegisterMode: p.set.registerMode, Generation: p.gen, OwnershipGeneration: applied, Trunks: len(ts),
		Registration: map[string]int{}, Reachability: map[string]int{}}
	p.mu.Unlock()
	if p.set.trunks != nil {
		st.TrunkRegex = p.set.trunks.String()
	}
	for _, t := range ts {
		t.mu.Lock()
		st.Registration[t.reg.state]++
		st.Reachability[t.reach.state]++
		if t.sp.reg && t.reg.lastCheck.IsZero() || t.pings() && t.ping.lastCheck.IsZero() {
			st.Pending++
		}
		t.mu.Unlock()
	}
	return st
}
