package render

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// fenceTimeout bounds each fence and unfence command.
const fenceTimeout = 3 * time.Second

// A failed fence_cmd is retried after fenceRetryMin, doubling up to
// fenceRetryMax: a node that cannot prove its lease loses it within the
// fence margin, and another node may then take over.
const (
	fenceRetryMin = 250 * time.Millisecond
	fenceRetryMax = 4 * time.Second
)

// Fence runs every target's fence_cmd at once, each bounded by
// fenceTimeout, and returns the failures joined, each naming its
// target. It may be called from any goroutine while Run renders: it never
// waits for a render or the MinInterval throttle. An unfence_cmd under
// way is stopped first (killed), so the fence always comes after it.
// Calling it again runs the commands again (they are idempotent). A
// target whose command failed retries it with a short backoff
// (retryFence) on a goroutine of Run: from Fence on while Run runs,
// else from Run's start; never once Run returned. Once
// fenced, a target runs its unfence_cmd after its first successful render
// of an ownership that is not fenced and arrived after the fence (see the
// package doc, "Cluster"); without Options.Ownership it stays fenced.
func (r *Renderer) Fence(ctx context.Context) error {
	r.mu.Lock()
	r.fenceSeq++
	seq := r.fenceSeq
	var ts []*target
	for _, t := range r.targets {
		if t.cfg.FenceCmd != "" {
			t.fenced = true
			ts = append(ts, t)
			if t.stopUnfence != nil {
				t.stopUnfence()
			}
		}
	}
	r.mu.Unlock()
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() { errs[i] = r.runFence(ctx, t, ActionFence) })
	}
	wg.Wait()
	r.mu.Lock()
	for i, t := range ts {
		if errs[i] != nil && ctx.Err() == nil {
			r.retries.want[t] = seq
		} else {
			delete(r.retries.want, t)
		}
	}
	r.startFenceRetries()
	r.mu.Unlock()
	return errors.Join(errs...)
}

// setOwnership makes own the ownership of the next renders. A fenced
// ownership fences the engines at once, before any render; the render
// that follows drops every registering part too.
func (r *Renderer) setOwnership(ctx context.Context, own Ownership) {
	if own.Fenced() && !r.allFenced() {
		if err := r.Fence(ctx); err != nil {
			r.log.Error("render fence action failed", "ownership_generation", own.Generation(), "error", err)
		}
	}
	r.mu.Lock()
	r.own, r.ownFence = own, r.fenceSeq
	r.mu.Unlock()
	r.markAllDue()
}

// fenceRetries are the retries of failed fence commands; Run owns their
// goroutines. Guarded by r.mu.
type fenceRetries struct {
	ctx  context.Context    // Run's; nil while Run does not run
	want map[*target]uint64 // target → the Fence whose command failed, not yet retried
	wg   sync.WaitGroup     // the retry goroutines
}

// runFenceRetries makes ctx, Run's, the context of the fence retries and
// starts those that waited for Run; stop ends them and waits for them.
func (r *Renderer) runFenceRetries(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	r.mu.Lock()
	r.retries.ctx = ctx
	r.startFenceRetries()
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.retries.ctx = nil
		r.mu.Unlock()
		cancel()
		r.retries.wg.Wait()
	}
}

// startFenceRetries starts retryFence for every target in retries.want
// while Run runs. Called with r.mu held.
func (r *Renderer) startFenceRetries() {
	ctx := r.retries.ctx
	if ctx == nil {
		return
	}
	for t, seq := range r.retries.want {
		delete(r.retries.want, t)
		r.retries.wg.Go(func() { r.retryFence(ctx, t, seq) })
	}
}

// retryFence runs t's fence_cmd again after it failed for Fence number
// seq, with backoff from fenceRetryMin to fenceRetryMax, until it
// succeeds, ctx (Run's) ends, another Fence came (it runs and retries its own) or
// an ownership that is not fenced was given after this Fence (the unfence
// follows; t.fenceCmds orders it after an attempt under way). Each failed
// attempt counts in trunkd_render_fence_failures_total.
func (r *Renderer) retryFence(ctx context.Context, t *target, seq uint64) {
	wait := fenceRetryMin
	for {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if r.fenceAgain(ctx, t, seq) {
			return
		}
		wait = min(2*wait, fenceRetryMax)
	}
}

// fenceAgain is one attempt of retryFence; it reports whether the
// retries are over (the fence ran, or it no longer stands).
func (r *Renderer) fenceAgain(ctx context.Context, t *target, seq uint64) bool {
	t.fenceCmds.Lock()
	defer t.fenceCmds.Unlock()
	r.mu.Lock()
	over := r.fenceSeq != seq || r.ownFence == seq && !r.own.Fenced() // ownFence == seq: own is set
	r.mu.Unlock()
	if over || ctx.Err() != nil {
		return true
	}
	return r.runFenceLocked(ctx, t, ActionFence) == nil
}

// settleFence runs after t applied the current ownership: it records the
// ownership generation the live file reflects, unfences the engine after
// the first successful render of an ownership that is not fenced and
// came after the last Fence, and fences t again when Fence ran during the
// apply (an action of the apply, such as FreeSWITCH's startgw, may have
// come after the fence).
func (r *Renderer) settleFence(ctx context.Context, t *target, res result, seq uint64) {
	applied := (res.outcome == outcomeApplied || res.outcome == outcomeUnchanged) &&
		!slices.ContainsFunc(t.pending, func(a trunkAction) bool { return a.kind == ActionRemove })
	r.mu.Lock()
	if applied {
		t.st.OwnershipGeneration = ownGeneration(r.own)
		r.publishApplied()
	}
	// Unfence only for an ownership given after the last Fence: a render
	// of an older one (a new snapshot) must not undo a fence.
	unfence := applied && t.fenced && r.own != nil && !r.own.Fenced() && r.ownFence == r.fenceSeq
	r.mu.Unlock()
	if unfence {
		r.unfence(ctx, t, seq)
	}
	if r.fenceCount() != seq && t.cfg.FenceCmd != "" {
		_ = r.runFence(ctx, t, ActionFence) // reported in the status and the log
	}
}

// unfence runs t's unfence_cmd unless a Fence came after seq; a Fence
// during the command stops it. A failure is retried with backoff (the
// target renders again, finds its file unchanged and unfences).
func (r *Renderer) unfence(ctx context.Context, t *target, seq uint64) {
	t.fenceCmds.Lock()
	defer t.fenceCmds.Unlock()
	uctx, stop := context.WithCancel(ctx)
	defer stop()
	r.mu.Lock()
	if r.fenceSeq != seq { // a Fence came meanwhile: it stands
		r.mu.Unlock()
		return
	}
	t.stopUnfence = stop
	r.mu.Unlock()
	err := r.runFenceLocked(uctx, t, ActionUnfence)
	r.mu.Lock()
	defer r.mu.Unlock()
	t.stopUnfence = nil
	if uctx.Err() != nil {
		return // stopping, or stopped by a Fence
	}
	now := r.now()
	if err != nil {
		t.unfenceFailingSince = cmp.Or(t.unfenceFailingSince, now)
		r.scheduleRetry(t, now, t.unfenceFailingSince)
		return
	}
	t.unfenceFailingSince = time.Time{}
	if r.fenceSeq == seq { // else a Fence came meanwhile: it stands
		t.fenced = false
		t.st.Fence.Fenced = false
		r.m.fenced.WithLabelValues(t.cfg.Name).Set(0)
	}
}

// runFence runs t's fence or unfence command with the fence timeout, after
// any command of t's still under way, and records the outcome in t's
// status and the log.
func (r *Renderer) runFence(ctx context.Context, t *target, action string) error {
	t.fenceCmds.Lock()
	defer t.fenceCmds.Unlock()
	return r.runFenceLocked(ctx, t, action)
}

// runFenceLocked is runFence for a caller holding t.fenceCmds. A command
// stopped by ctx (a Fence superseding an unfence, or shutdown) is logged
// but not counted as a failure.
func (r *Renderer) runFenceLocked(ctx context.Context, t *target, action string) error {
	script := t.cfg.FenceCmd
	if action == ActionUnfence {
		script = t.cfg.UnfenceCmd
	}
	env := append([]string{"TRUNKD_ACTION=" + action, "TRUNKD_OUTPUT=" + t.cfg.Output, "TRUNKD_TARGET=" + t.cfg.Name}, t.actions.env...)
	start := r.now()
	output, err := runCommand(ctx, script, fenceTimeout, env)
	if err == nil && t.failRe != nil && t.failRe.MatchString(output) {
		err = fmt.Errorf("output matches the failure pattern %q", t.failRe)
	}
	if err != nil {
		err = fmt.Errorf("%s: %s_cmd: %w", t.cfg.Name, action, err)
	}
	output = tail(strings.TrimSpace(output), 1024)
	r.mu.Lock()
	st := &FenceStatus{Fenced: t.fenced, Action: action, Time: start, Output: output}
	if err != nil {
		st.Error = err.Error()
		if ctx.Err() == nil {
			r.m.fenceFailures.WithLabelValues(t.cfg.Name, action).Inc()
		}
	}
	t.st.Fence = st
	r.m.fenced.WithLabelValues(t.cfg.Name).Set(boolGauge(t.fenced))
	r.mu.Unlock()
	switch {
	case err != nil && ctx.Err() != nil:
		r.log.Warn("render "+action+" action stopped", "target", t.cfg.Name, "error", err)
		return err
	case err != nil:
		r.log.Error("render "+action+" action failed", "target", t.cfg.Name, "error", err, "output", output)
		return err
	}
	r.log.Info("render "+action+" action ran", "target", t.cfg.Name, "took", r.now().Sub(start).Round(time.Millisecond))
	return nil
}

// fenceCount is the number of Fence calls so far.
func (r *Renderer) fenceCount() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fenceSeq
}

// allFenced reports whether every target with a fence action is fenced.
func (r *Renderer) allFenced() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.targets {
		if t.cfg.FenceCmd != "" && !t.fenced {
			return false
		}
	}
	return true
}
