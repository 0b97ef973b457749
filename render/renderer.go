package render

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkd/trunkd/registry"
	"github.com/trunkd/trunkd/registry/feed"
)

// Options are the renderer's runtime dependencies. Zero values take defaults.
type Options struct {
	ServerIndex int                   // render trunks of this serveridx only; < 0: all
	Logger      *slog.Logger          // nil: slog.Default()
	Registerer  prometheus.Registerer // nil: metrics are kept but not registered
	RetryMin    time.Duration         // first retry after a failure, default 5 s
	RetryMax    time.Duration         // longest retry interval, default 5 min
	MinInterval time.Duration         // least time from a target's reload_cmd to its next render, default 1 s; < 0: none
	Clock       Clock                 // nil: the real clock
	// Ownership delivers which trunks this node registers (a cluster;
	// latest wins). nil: the node is alone and owns every active trunk.
	// With it, Run renders nothing before the first ownership arrives.
	Ownership <-chan Ownership
}

// Clock tells the time (injected by tests).
type Clock interface{ Now() time.Time }

// Renderer renders every target for each registry snapshot.
type Renderer struct {
	targets     []*target
	serverIndex int
	maxDrop     float64
	autoConfirm bool
	log         *slog.Logger
	m           *metrics
	now         func() time.Time
	retryMin    time.Duration
	retryMax    time.Duration
	minGap      time.Duration
	wake        chan struct{}
	ownCh       <-chan Ownership

	mu      sync.Mutex   // guards the targets' state (target.st, due, failingSince, confirmed, fenced), own, fenceSeq, ownFence
	red     redactor     // used by the applying goroutine only
	outputs trunkOutputs // used by the applying goroutine only

	// own is the ownership of the next renders (nil: alone). The applying
	// goroutine sets it (under mu) and reads it without mu; Fence's
	// retries read it under mu.
	own      Ownership
	fenceSeq uint64            // counts Fence calls
	ownFence uint64            // fenceSeq when own was given
	retries  fenceRetries      // fence.go
	applied  feed.Feed[uint64] // SubscribeAppliedOwnership's values (ownership.go)
}

// New checks cfg and prepares every target (built-in templates are parsed,
// template files must be readable and parse).
func New(cfg Config, opts Options) (*Renderer, error) {
	ratio, err := checkConfig(cfg)
	if err != nil {
		return nil, err
	}
	r := newRenderer(opts)
	r.maxDrop, r.autoConfirm = ratio, cfg.ConfirmDrop
	for i, tc := range cfg.Targets {
		t, err := newTarget(tc)
		if err != nil {
			return nil, fmt.Errorf("render.targets[%d] (%s): %w", i, tc.Name, err)
		}
		t.outs, t.index = &r.outputs, i
		t.st = TargetStatus{Name: tc.Name, Template: tc.Template, Output: tc.Output, State: StatePending}
		// After a restart in a cluster the engine may still be fenced (by
		// the last run or a stop hook): unfence after the first render.
		t.fenced = opts.Ownership != nil && t.cfg.UnfenceCmd != ""
		r.targets = append(r.targets, t)
		if stale := removeStaleCandidates(tc.Output); len(stale) > 0 {
			r.log.Warn("removed candidate files left by an earlier run", "target", tc.Name, "files", stale)
		}
	}
	r.outputs.targets = make([]targetOutputs, len(r.targets))
	if r.m, err = newMetrics(opts.Registerer, r.targets); err != nil {
		return nil, err
	}
	return r, nil
}

// newRenderer is a Renderer without targets, with opts' defaults applied.
func newRenderer(opts Options) *Renderer {
	r := &Renderer{
		serverIndex: opts.ServerIndex,
		log:         cmp.Or(opts.Logger, slog.Default()),
		now:         time.Now,
		retryMin:    opts.RetryMin,
		retryMax:    opts.RetryMax,
		minGap:      cmp.Or(opts.MinInterval, time.Second),
		wake:        make(chan struct{}, 1),
		ownCh:       opts.Ownership,
		retries:     fenceRetries{want: map[*target]uint64{}},
	}
	if opts.Clock != nil {
		r.now = opts.Clock.Now
	}
	if r.retryMin <= 0 {
		r.retryMin = 5 * time.Second
	}
	if r.retryMax < r.retryMin {
		r.retryMax = max(5*time.Minute, r.retryMin)
	}
	return r
}

// Run renders every target for each snapshot from snaps until ctx ends or
// snaps is closed. A change renders at once unless the target ran its
// reload_cmd less than MinInterval ago: then it renders once when that
// interval ends, with the latest snapshot (a registry subscription keeps
// only the latest, so snapshots that arrive during a render collapse
// too). An apply that ran per-trunk actions only, or nothing, holds no
// later one back. A failed target is retried with backoff; a held-back
// one waits for a new snapshot or ConfirmDrop.
// A new ownership renders every target like a new snapshot; a fenced one
// fences the engines first (see the package doc, "Cluster"). The retries
// of a failed fence command are Run's too: they end before it returns.
func (r *Renderer) Run(ctx context.Context, snaps <-chan *registry.Snapshot) error {
	defer r.runFenceRetries(ctx)()
	var snap *registry.Snapshot
	owns, haveOwn := r.ownCh, r.ownCh == nil
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case s, ok := <-snaps:
			if !ok {
				return nil
			}
			snap = s
			r.markAllDue()
		case o, ok := <-owns:
			if !ok {
				owns = nil // the last ownership stays
				continue
			}
			r.setOwnership(ctx, o)
			haveOwn = true
		case <-r.wake:
		case <-timer.C:
		}
		if snap != nil && haveOwn {
			r.applyDue(ctx, snap)
		}
		if next, ok := r.nextDue(); ok {
			timer.Reset(max(time.Until(next), 0))
		}
	}
}

// RenderOnce renders and applies every target for snap and returns the
// failures (held-back drops wrapping ErrHeldBack, trunks the template
// failed for wrapping ErrTrunkFailed, failed per-trunk actions wrapping
// ErrTrunkActionFailed) joined. Do not call it while Run is
// running on the same Renderer.
func (r *Renderer) RenderOnce(ctx context.Context, snap *registry.Snapshot) error {
	r.red.learn(snap)
	var errs []error
	for _, t := range r.targets {
		res := r.apply(ctx, t, snap)
		r.record(t, snap, res)
		errs = append(errs, r.resultErrors(t, res)...)
	}
	r.forgetRetired()
	return errors.Join(errs...)
}

// forgetRetired lets the redactor drop the passwords no live file can
// hold any more: when every target is ok (its live file is the render of
// its last snapshot) and keeps no trunk's older output.
func (r *Renderer) forgetRetired() {
	r.mu.Lock()
	applied := uint64(math.MaxUint64)
	for _, t := range r.targets {
		if t.st.State != StateOK || slices.ContainsFunc(t.st.TrunkErrors, func(e TrunkError) bool { return e.Kept }) {
			applied = 0
		}
		applied = min(applied, t.st.Generation)
	}
	r.mu.Unlock()
	if applied > 0 && applied != math.MaxUint64 {
		r.red.forget(applied)
	}
}

func (r *Renderer) markAllDue() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	for _, t := range r.targets {
		t.due = now
	}
}

// applyDue applies every target whose time has come, in config order.
func (r *Renderer) applyDue(ctx context.Context, snap *registry.Snapshot) {
	r.red.learn(snap)
	for _, t := range r.targets {
		if ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		now := r.now()
		due := !t.due.IsZero() && !t.due.After(now)
		if gapEnd := t.lastReload.Add(r.minGap); due && now.Before(gapEnd) {
			t.due, due = gapEnd, false // one trailing render with the latest snapshot
		}
		if due {
			t.due = time.Time{}
		}
		r.mu.Unlock()
		if !due {
			continue
		}
		seq := r.fenceCount()
		res := r.apply(ctx, t, snap)
		if ctx.Err() != nil {
			return // stopping: a command killed by the shutdown is no failure to report
		}
		r.record(t, snap, res)
		r.settleFence(ctx, t, res, seq)
	}
	r.forgetRetired()
}

// nextDue returns the earliest time a target wants to run.
func (r *Renderer) nextDue() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var next time.Time
	for _, t := range r.targets {
		if !t.due.IsZero() && (next.IsZero() || t.due.Before(next)) {
			next = t.due
		}
	}
	return next, !next.IsZero()
}
