package render

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trunkd/trunkd/registry"
)

// record stores the result in the target's status, metrics and log.
func (r *Renderer) record(t *target, snap *registry.Snapshot, res result) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if res.reloaded {
		t.lastReload = now
	}
	t.st.Generation = snap.Generation()
	t.st.NextRetry = nil
	if res.outcome != outcomeFailed || res.stage != StageTemplate {
		r.recordTrunkErrors(t, res.failed)
	}
	switch res.outcome {
	case outcomeUnchanged, outcomeApplied:
		r.recordSuccess(t, now, res)
		r.recordActionErrors(t, now, res.actionFailures)
	case outcomeHeld:
		r.recordHeld(t, res.hold)
	case outcomeFailed:
		r.recordFailure(t, now, res)
		if len(res.actionFailures) > 0 {
			r.recordActionErrors(t, now, res.actionFailures) // removals a failed swap undid
		}
	}
}

// recordSuccess: the live file is the render. Guarded by r.mu.
func (r *Renderer) recordSuccess(t *target, now time.Time, res result) {
	name := t.cfg.Name
	t.st.State, t.st.Trunks, t.st.LastSuccess, t.st.HeldBack = StateOK, res.trunks, &now, nil
	t.failingSince, t.confirmed = time.Time{}, nil
	if len(res.failed) == 0 {
		t.trunkErrorsSince = time.Time{}
	} else {
		t.trunkErrorsSince = cmp.Or(t.trunkErrorsSince, now)
		r.scheduleRetry(t, now, t.trunkErrorsSince) // a fixed template file is picked up without a new snapshot
	}
	r.m.lastSuccess.WithLabelValues(name).Set(float64(now.UnixNano()) / 1e9)
	r.m.trunks.WithLabelValues(name).Set(float64(res.trunks))
	r.m.held.WithLabelValues(name).Set(0)
	if res.outcome == outcomeApplied {
		t.st.LastChange = &now
		r.m.changes.WithLabelValues(name).Inc()
		r.log.Info("render applied", "target", name, "output", t.cfg.Output, "trunks", res.trunks, "generation", t.st.Generation,
			"trunk_actions", res.actionsRun)
	}
}

// recordHeld: the drop guard holds the render back. Guarded by r.mu.
func (r *Renderer) recordHeld(t *target, hold *HeldDrop) {
	if t.st.HeldBack != nil {
		hold.Since = t.st.HeldBack.Since
	}
	t.st.State, t.st.HeldBack = StateHeldBack, hold
	r.m.held.WithLabelValues(t.cfg.Name).Set(1)
	r.log.Warn("render held back by the drop guard; confirm with the API or confirm_drop",
		"target", t.cfg.Name, "live_trunks", hold.LiveTrunks, "new_trunks", hold.NewTrunks,
		"removed", hold.Removed, "max_drop_ratio", r.maxDrop)
}

// recordFailure: a stage failed; a retry is scheduled. Guarded by r.mu.
func (r *Renderer) recordFailure(t *target, now time.Time, res result) {
	msg := r.red.apply(res.err.Error())
	out := r.red.apply(res.output)
	t.st.State = StateFailed
	t.st.LastError = &TargetError{Time: now, Stage: res.stage, Message: msg, Output: tail(out, 2048)}
	t.failingSince = cmp.Or(t.failingSince, now)
	retry := r.scheduleRetry(t, now, t.failingSince)
	r.m.failures.WithLabelValues(t.cfg.Name, res.stage).Inc()
	r.log.Error("render failed", "target", t.cfg.Name, "stage", res.stage,
		"error", msg, "output", tail(out, 4096), "retry_in", retry.Sub(now).Round(time.Second))
}

// resultErrors are the failures of res as RenderOnce returns them, each
// naming the target.
func (r *Renderer) resultErrors(t *target, res result) []error {
	var errs []error
	for _, f := range res.failed {
		errs = append(errs, fmt.Errorf("%s: %w: trunk %q: %s", t.cfg.Name, ErrTrunkFailed, f.code, r.red.apply(f.err.Error())))
	}
	for _, f := range res.actionFailures {
		errs = append(errs, fmt.Errorf("%s: %w: trunk %q: %s", t.cfg.Name, ErrTrunkActionFailed, f.action.code, r.red.apply(f.err.Error())))
	}
	switch res.outcome {
	case outcomeFailed:
		errs = append(errs, fmt.Errorf("%s: %s: %w", t.cfg.Name, res.stage, res.err))
	case outcomeHeld:
		errs = append(errs, fmt.Errorf("%s: %w: %d of %d trunks would be removed", t.cfg.Name, ErrHeldBack, res.hold.Removed, res.hold.LiveTrunks))
	}
	return errs
}

// scheduleRetry makes t due after the backoff for a problem that began
// at since, unless it is due earlier, and returns that time. Guarded by
// r.mu.
func (r *Renderer) scheduleRetry(t *target, now, since time.Time) time.Time {
	retry := now.Add(r.backoff(now.Sub(since)))
	if t.due.IsZero() || t.due.After(retry) {
		t.due = retry
	}
	t.st.NextRetry = &retry
	return retry
}

// recordTrunkErrors reports the trunks the render failed for, masked, in
// the status, the metric and the log. Guarded by r.mu.
func (r *Renderer) recordTrunkErrors(t *target, failed []trunkFailure) {
	var list []TrunkError
	for _, f := range failed {
		list = append(list, TrunkError{Code: f.code, Reason: r.red.apply(f.err.Error()), Kept: f.kept})
	}
	same := slices.Equal(list, t.st.TrunkErrors)
	t.st.TrunkErrors = list
	r.m.trunkErrors.WithLabelValues(t.cfg.Name).Set(float64(len(list)))
	if same {
		return // logged when it began
	}
	for _, e := range list[:min(len(list), maxLoggedTrunkErrors)] {
		r.log.Warn("render failed for one trunk; the others are applied", "target", t.cfg.Name,
			"trunk", e.Code, "kept_last_output", e.Kept, "error", e.Reason)
	}
	if len(list) > maxLoggedTrunkErrors {
		r.log.Warn("render failed for more trunks", "target", t.cfg.Name, "more", len(list)-maxLoggedTrunkErrors)
	}
}

// maxLoggedTrunkErrors bounds the log lines about failed trunks per render.
const maxLoggedTrunkErrors = 10

// backoff is the wait before the next retry of a problem that has lasted
// for d: as long as it lasted (so the wait doubles from retry to retry),
// from RetryMin up to RetryMax. It counts time, not attempts: a burst of
// new snapshots that all fail does not push the next retry far out.
func (r *Renderer) backoff(d time.Duration) time.Duration {
	return min(max(d, r.retryMin), r.retryMax)
}

// recordActionErrors reports the failed per-trunk actions in the status,
// the metric and the log and schedules their retry. Guarded by r.mu.
func (r *Renderer) recordActionErrors(t *target, now time.Time, failures []actionFailure) {
	list := make([]TrunkActionError, 0, len(failures))
	for _, f := range failures {
		e := TrunkActionError{Code: f.action.code, Action: f.action.kind, Since: now,
			Message: r.red.apply(f.err.Error()), Output: tail(r.red.apply(strings.TrimSpace(f.output)), 1024)}
		if i := slices.IndexFunc(t.st.TrunkActionErrors, func(o TrunkActionError) bool { return o.Code == e.Code && o.Action == e.Action }); i >= 0 {
			e.Since = t.st.TrunkActionErrors[i].Since
		}
		list = append(list, e)
		r.m.actionFailures.WithLabelValues(t.cfg.Name, e.Action).Inc()
		r.log.Warn("render trunk action failed; it is retried, the other trunks are not held back", "target", t.cfg.Name,
			"trunk", e.Code, "action", e.Action, "error", e.Message, "output", e.Output)
	}
	if len(list) == 0 {
		t.st.TrunkActionErrors, t.actionErrorsSince = nil, time.Time{}
		return
	}
	t.st.TrunkActionErrors = list
	t.actionErrorsSince = cmp.Or(t.actionErrorsSince, now)
	r.scheduleRetry(t, now, t.actionErrorsSince)
}
