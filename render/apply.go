package render

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/trunkd/trunkd/registry"
)

type outcome int

const (
	outcomeUnchanged outcome = iota // the live file already was the render
	outcomeApplied                  // the live file was replaced and reloaded
	outcomeHeld                     // the drop guard held the render back
	outcomeFailed                   // a stage failed; the live file is the previous one
)

// result is what one apply did.
type result struct {
	outcome outcome
	trunks  int
	stage   string
	err     error
	output  string // command output (masked), for the status tail
	hold    *HeldDrop
	failed  []trunkFailure // trunks the template failed for (the others were rendered)
}

func failed(stage string, err error, output string) result {
	return result{outcome: outcomeFailed, stage: stage, err: err, output: output}
}

// apply renders t for snap and, when the bytes differ from the live file,
// swaps them in: guard, candidate, check, atomic rename, reload, rollback.
// Steps that do not depend on each other overlap: the live file is read
// while the template renders, and the candidate is written while the drop
// guard counts trunks (a held-back render then removes its candidate).
func (r *Renderer) apply(ctx context.Context, t *target, snap *registry.Snapshot) result {
	liveC := make(chan liveResult, 1)
	go func() { liveC <- t.readLive() }()
	out, trunks, failedTrunks, res := r.render(t, snap)
	lr := <-liveC
	if res.outcome == outcomeFailed {
		return res
	}
	live := lr.live
	if lr.err != nil {
		return failed(StageWrite, lr.err, "")
	}
	if live.exists && bytes.Equal(live.data, out) {
		res = result{outcome: outcomeUnchanged}
		if t.pendingReload {
			res = r.reloadAgain(ctx, t)
		}
	} else {
		res = r.guardAndSwap(ctx, t, live, out, failedTrunks)
	}
	res.trunks, res.failed = trunks, failedTrunks
	if t.trunkRe != nil && (res.outcome == outcomeUnchanged || res.outcome == outcomeApplied) {
		// Now the live file: find its trunks while no change waits (the
		// reload already ran), not when the next change is on its way.
		t.outputNames(out)
	}
	return res
}

// render executes t's template for snap and returns the bytes, the
// number of active trunks and the trunks it failed for; a failure of the
// whole template is returned as a failed result.
func (r *Renderer) render(t *target, snap *registry.Snapshot) ([]byte, int, []trunkFailure, result) {
	set := r.trunks.get(snap, r.serverIndex)
	data := newData(t.cfg.Name, r.serverIndex, t.cfg.Vars, set)
	prog, err := t.program()
	if err != nil {
		return nil, 0, nil, failed(StageTemplate, err, "")
	}
	out, warned, failedTrunks, err := t.render(prog, data)
	if err != nil {
		return nil, 0, nil, failed(StageTemplate, err, "")
	}
	if warned {
		r.log.Warn("the template's header, trunk and footer blocks do not render what the whole template renders; rendering it as a whole",
			"target", t.cfg.Name, "template", t.cfg.Template)
	}
	return out, len(data.Trunks), append(slices.Clip(set.failed), failedTrunks...), result{}
}

// guardAndSwap holds the render back when the drop guard says so, else
// swaps it in. The guard runs while the candidate is written: both only
// read out, and neither is visible to the engine.
func (r *Renderer) guardAndSwap(ctx context.Context, t *target, live liveFile, out []byte, failedTrunks []trunkFailure) result {
	heldC := make(chan *HeldDrop, 1)
	go func() { heldC <- r.guard(t, live, out, failedTrunks) }()
	cand, mtime, err := r.candidate(t, live, out)
	if hold := <-heldC; hold != nil {
		if err == nil {
			os.Remove(cand)
		}
		return result{outcome: outcomeHeld, hold: hold}
	}
	if err != nil {
		return failed(StageWrite, err, "")
	}
	return r.swap(ctx, t, live, cand, mtime)
}

// guard holds a render back when it would remove more than the allowed
// share of the trunks in the live file, unless that removal is confirmed.
// A trunk left out because the template failed for it is no removal.
func (r *Renderer) guard(t *target, live liveFile, out []byte, failedTrunks []trunkFailure) *HeldDrop {
	if t.trunkRe == nil || !live.exists {
		return nil
	}
	old := t.trunkNames(live.data)
	if len(old) == 0 {
		return nil
	}
	next := t.outputNames(out)
	removed := removedNames(old, next, failedTrunks)
	ratio := float64(len(removed)) / float64(len(old))
	if ratio <= r.maxDrop {
		return nil
	}
	if r.autoConfirm {
		r.log.Warn("render removes many trunks; applying because confirm_drop is set",
			"target", t.cfg.Name, "live_trunks", len(old), "removed", len(removed))
		return nil
	}
	r.mu.Lock()
	confirmed := true
	for _, n := range removed {
		confirmed = confirmed && t.confirmed[n]
	}
	r.mu.Unlock()
	if confirmed {
		return nil
	}
	h := &HeldDrop{
		Since: r.now(), LiveTrunks: len(old), NewTrunks: len(next), Removed: len(removed),
		RemovedList: removed[:min(len(removed), maxRemovedList)], Ratio: ratio, MaxRatio: r.maxDrop,
		removed: removed,
	}
	return h
}

// candidate writes out to a candidate file next to the output, with an
// mtime past the live file's; it returns the candidate's name and mtime.
func (r *Renderer) candidate(t *target, live liveFile, out []byte) (string, time.Time, error) {
	var prevMtime time.Time
	if live.exists {
		prevMtime = live.info.ModTime()
	}
	mtime := mtimeAfter(prevMtime, r.now())
	cand, err := writeCandidate(t.cfg.Output, out, t.mode, live.info, mtime)
	return cand, mtime, err
}

// swap checks the candidate, renames it into place and reloads; a failed
// reload restores the previous file and reloads again.
func (r *Renderer) swap(ctx context.Context, t *target, live liveFile, cand string, newMtime time.Time) result {
	if t.cfg.CheckCmd != "" {
		env := []string{"TRUNKD_CANDIDATE=" + cand, "TRUNKD_OUTPUT=" + t.cfg.Output, "TRUNKD_TARGET=" + t.cfg.Name}
		output, err := runCommand(ctx, t.cfg.CheckCmd, t.timeout, env, cand)
		if err != nil {
			os.Remove(cand)
			return failed(StageCheck, fmt.Errorf("check_cmd rejected the candidate (live file kept): %w", err), output)
		}
		if output != "" && r.log.Enabled(ctx, slog.LevelDebug) {
			r.log.Debug("render check output", "target", t.cfg.Name, "output", tail(r.red.apply(output), 4096))
		}
	}
	if err := replace(cand, t.cfg.Output); err != nil {
		return failed(StageWrite, err, "")
	}
	output, err := r.reload(ctx, t)
	if err == nil {
		t.pendingReload = false
		return result{outcome: outcomeApplied}
	}
	if ctx.Err() != nil {
		// Shutting down: the new file stays, the engine reads it on its next reload.
		t.pendingReload = true
		return failed(StageReload, err, output)
	}
	return failed(StageReload, r.rollback(ctx, t, live, newMtime, err), output)
}

// reloadAgain reloads a live file that is already the render but whose
// last reload failed without a rollback (no previous file, or the rollback
// failed): the engine may not run it yet.
func (r *Renderer) reloadAgain(ctx context.Context, t *target) result {
	output, err := r.reload(ctx, t)
	if err != nil {
		return failed(StageReload, fmt.Errorf("reload of the current file failed again: %w", err), output)
	}
	t.pendingReload = false
	return result{outcome: outcomeApplied}
}

// reload runs the target's reload command; output matching the failure
// pattern counts as a failure (kamcmd exits 0 on RPC errors).
func (r *Renderer) reload(ctx context.Context, t *target) (string, error) {
	if t.cfg.ReloadCmd == "" {
		return "", nil
	}
	env := []string{"TRUNKD_OUTPUT=" + t.cfg.Output, "TRUNKD_TARGET=" + t.cfg.Name}
	output, err := runCommand(ctx, t.cfg.ReloadCmd, t.timeout, env)
	if err == nil && t.failRe != nil && t.failRe.MatchString(output) {
		err = fmt.Errorf("output matches reload_fail_regex %q", t.cfg.ReloadFailRegex)
	}
	if err == nil && output != "" {
		r.log.Info("render reload output", "target", t.cfg.Name, "output", tail(r.red.apply(output), 4096))
	}
	return output, err
}

// rollback puts the previous file back (with a still newer mtime, so the
// engine re-reads it) and reloads again. Without a previous file the new
// one stays: a missing file can only keep the engine from starting (it may
// just not be running yet), and its reload is retried. It returns the
// error to report.
func (r *Renderer) rollback(ctx context.Context, t *target, live liveFile, failedMtime time.Time, cause error) error {
	t.pendingReload = true
	if !live.exists {
		return fmt.Errorf("reload failed: %w; there was no previous file, so the new one stays and its reload is retried", cause)
	}
	cand, err := writeCandidate(t.cfg.Output, live.data, live.info.Mode().Perm(), live.info, mtimeAfter(failedMtime, r.now()))
	if err == nil {
		err = replace(cand, t.cfg.Output)
	}
	if err != nil {
		r.log.Error("render rollback failed: the rejected file stays in place", "target", t.cfg.Name, "error", r.red.apply(err.Error()))
		return fmt.Errorf("reload failed: %w; rollback failed: %v", cause, err)
	}
	output, rerr := r.reload(ctx, t)
	if rerr != nil {
		r.log.Error("render rollback reload failed", "target", t.cfg.Name, "error", r.red.apply(rerr.Error()),
			"output", tail(r.red.apply(output), 4096))
		return fmt.Errorf("reload failed: %w; previous file restored, but its reload failed too: %v", cause, rerr)
	}
	t.pendingReload = false
	return fmt.Errorf("reload failed: %w; previous file restored and reloaded", cause)
}

// record stores the result in the target's status, metrics and log.
func (r *Renderer) record(t *target, snap *registry.Snapshot, res result) {
	now := r.now()
	name := t.cfg.Name
	r.mu.Lock()
	defer r.mu.Unlock()
	t.lastRun = now
	if snap != nil {
		t.st.Generation = snap.Generation()
	}
	t.st.NextRetry = nil
	if res.outcome != outcomeFailed || res.stage != StageTemplate {
		r.recordTrunkErrors(t, res.failed)
	}
	switch res.outcome {
	case outcomeUnchanged, outcomeApplied:
		t.st.State, t.st.Trunks, t.st.LastSuccess, t.st.HeldBack = StateOK, res.trunks, &now, nil
		t.failures, t.confirmed = 0, nil
		if len(res.failed) == 0 {
			t.trunkRetries = 0
		} else {
			t.trunkRetries++
			r.scheduleRetry(t, now, t.trunkRetries) // a fixed template file is picked up without a new snapshot
		}
		r.m.lastSuccess.WithLabelValues(name).Set(float64(now.UnixNano()) / 1e9)
		r.m.trunks.WithLabelValues(name).Set(float64(res.trunks))
		r.m.held.WithLabelValues(name).Set(0)
		if res.outcome == outcomeApplied {
			t.st.LastChange = &now
			r.m.changes.WithLabelValues(name).Inc()
			r.log.Info("render applied", "target", name, "output", t.cfg.Output, "trunks", res.trunks, "generation", t.st.Generation)
		}
	case outcomeHeld:
		if t.st.HeldBack != nil {
			res.hold.Since = t.st.HeldBack.Since
		}
		t.st.State, t.st.HeldBack = StateHeldBack, res.hold
		r.m.held.WithLabelValues(name).Set(1)
		r.log.Warn("render held back by the drop guard; confirm with the API or confirm_drop",
			"target", name, "live_trunks", res.hold.LiveTrunks, "new_trunks", res.hold.NewTrunks,
			"removed", res.hold.Removed, "max_drop_ratio", r.maxDrop)
	case outcomeFailed:
		msg := r.red.apply(res.err.Error())
		out := r.red.apply(res.output)
		t.st.State = StateFailed
		t.st.LastError = &TargetError{Time: now, Stage: res.stage, Message: msg, Output: tail(out, 2048)}
		t.failures++
		retry := r.scheduleRetry(t, now, t.failures)
		r.m.failures.WithLabelValues(name, res.stage).Inc()
		r.log.Error("render failed", "target", name, "stage", res.stage,
			"error", msg, "output", tail(out, 4096), "retry_in", retry.Sub(now).Round(time.Second))
	}
}

// scheduleRetry makes t due after the backoff of failure n, unless it is
// due earlier, and returns that time. Guarded by r.mu.
func (r *Renderer) scheduleRetry(t *target, now time.Time, n int) time.Time {
	retry := now.Add(r.backoff(n))
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

// backoff is the wait before retry number n (1, 2, ...): doubling from
// RetryMin up to RetryMax.
func (r *Renderer) backoff(n int) time.Duration {
	d := r.retryMin
	for i := 1; i < n && d < r.retryMax; i++ {
		d *= 2
	}
	return min(d, r.retryMax)
}
