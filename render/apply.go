package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"

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
	// reloaded: the whole-file path ran reload_cmd (MinInterval holds the
	// target's next render back).
	reloaded bool
	// Per-trunk actions instead of reload_cmd (see actions.go).
	perTrunk       bool
	actionsRun     int
	actionFailures []actionFailure
}

func failed(stage string, err error, output string) result {
	return result{outcome: outcomeFailed, stage: stage, err: err, output: output}
}

// apply renders t for snap and puts the result in place, step by step:
//
//  1. execute the template (trunk by trunk where it can);
//  2. compare with the live file: equal bytes need nothing, unless an
//     earlier apply did not finish (the journal says so): then reload;
//  3. the drop guard;
//  4. write the candidate next to the output and run check_cmd on it;
//  5. per-trunk actions when the change is small (else 6–8): un-register
//     removed trunks, journal, rename, add and change actions per trunk;
//     failed ones are retried on the live file;
//  6. journal the previous good file, rename the candidate over the output;
//  7. reload; success ends the journal;
//  8. else put the previous good file back and reload again.
func (r *Renderer) apply(ctx context.Context, t *target, snap *registry.Snapshot) result {
	out, trunks, failedTrunks, res := r.render(t, snap)
	if res.outcome == outcomeFailed {
		return res
	}
	live, err := t.readLive()
	same := err == nil && live.exists && bytes.Equal(live.data, out)
	switch {
	case err != nil:
		res = failed(StageWrite, err, "")
	case same && t.journal.pending():
		res = r.reloadOrRollBack(ctx, t) // an apply before a crash or a failed rollback
	case same && len(t.pending) > 0:
		res = r.retryActions(ctx, t) // per-trunk actions that failed before
	case same:
		res = result{outcome: outcomeUnchanged}
	default:
		res = r.swapIn(ctx, t, live, out, failedTrunks)
	}
	res.trunks, res.failed = trunks, failedTrunks
	res.reloaded = t.cfg.ReloadCmd != "" && !res.perTrunk &&
		(res.outcome == outcomeApplied || (res.outcome == outcomeFailed && res.stage == StageReload))
	if res.outcome == outcomeUnchanged || res.outcome == outcomeApplied {
		t.setLive(out)
		if t.trunkRe != nil {
			// Now the live file: find its trunks while no change waits (the
			// reload already ran), not when the next change is on its way.
			t.trunkNames(out)
		}
	}
	return res
}

// render executes t's template for snap and returns the bytes, the
// number of active trunks and the trunks it failed for; a failure of the
// whole template is returned as a failed result.
func (r *Renderer) render(t *target, snap *registry.Snapshot) ([]byte, int, []trunkFailure, result) {
	set := r.outputs.get(snap, r.serverIndex, r.own)
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

// swapIn replaces the live file by out: drop guard, candidate, check,
// then either per-trunk actions (removals before the rename, additions
// and changes after it) or the whole-file path: journal, atomic rename,
// reload (and rollback).
func (r *Renderer) swapIn(ctx context.Context, t *target, live liveFile, out []byte, failedTrunks []trunkFailure) result {
	if hold := r.guard(t, live, out, failedTrunks); hold != nil {
		return result{outcome: outcomeHeld, hold: hold}
	}
	cand, err := writeCandidate(t.cfg.Output, out, t.mode, live.info, mtimeAfter(live.mtime(), r.now()))
	if err != nil {
		return failed(StageWrite, err, "")
	}
	if res := r.check(ctx, t, cand); res.outcome == outcomeFailed {
		os.Remove(cand)
		return res
	}
	plan := t.plan(live, out)
	removed := r.runActions(ctx, t, plan.removals()) // un-register before the trunks leave the file
	if err := putInPlace(t, live, cand); err != nil {
		res := failed(StageWrite, err, "")
		res.actionFailures = r.undoRemovals(ctx, t, plan.removals(), removed, err)
		return res
	}
	if plan != nil {
		return r.finishActions(ctx, t, plan, removed)
	}
	t.pending = nil // the whole-file reload supersedes them
	return r.reloadOrRollBack(ctx, t)
}

// putInPlace journals the live file and renames the candidate over it.
func putInPlace(t *target, live liveFile, cand string) error {
	if err := t.journal.begin(live); err != nil {
		os.Remove(cand)
		return err
	}
	return renameInto(cand, t.cfg.Output) // on failure the journal stays: a later reload of the same file is harmless
}

// check runs check_cmd on the candidate; a rejection is a failed result.
func (r *Renderer) check(ctx context.Context, t *target, cand string) result {
	if t.cfg.CheckCmd == "" {
		return result{}
	}
	env := []string{"TRUNKD_CANDIDATE=" + cand, "TRUNKD_OUTPUT=" + t.cfg.Output, "TRUNKD_TARGET=" + t.cfg.Name}
	output, err := runCommand(ctx, t.cfg.CheckCmd, t.timeout, env, cand)
	if err != nil {
		return failed(StageCheck, fmt.Errorf("check_cmd rejected the candidate (live file kept): %w", err), output)
	}
	if output != "" && r.log.Enabled(ctx, slog.LevelDebug) {
		r.log.Debug("render check output", "target", t.cfg.Name, "output", tail(r.red.apply(output), 4096))
	}
	return result{}
}

// reloadOrRollBack reloads the engine on the live file, which the journal
// marks as unconfirmed; a failed reload puts the previous good file back.
// A stop during the reload leaves the journal: the next start finishes
// the apply (reload) or undoes it (rollback).
func (r *Renderer) reloadOrRollBack(ctx context.Context, t *target) result {
	output, err := r.reload(ctx, t)
	if err != nil && ctx.Err() == nil && t.reloadFailed {
		// The last attempt failed at reload too: once more at once, before
		// rolling back. An engine that fails every other reload would
		// otherwise spend every failure on the new file and every success
		// on the rollback, and never converge.
		output, err = r.reload(ctx, t)
	}
	t.reloadFailed = err != nil
	if err == nil {
		r.endJournal(t)
		return result{outcome: outcomeApplied}
	}
	if ctx.Err() != nil {
		return failed(StageReload, err, output)
	}
	return failed(StageReload, r.rollback(ctx, t, err), output)
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

// rollback puts the journal's previous good file back (with a still newer
// mtime, so the engine re-reads it) and reloads again. Without a previous
// file the new one stays: a missing file can only keep the engine from
// starting (it may just not be running yet), and its reload is retried.
// A rollback that fails keeps the journal, so the next attempt puts the
// good file back. It returns the error to report.
func (r *Renderer) rollback(ctx context.Context, t *target, cause error) error {
	good, info, err := t.journal.previous()
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reload failed: %w; there was no previous file, so the new one stays and its reload is retried", cause)
	}
	if err == nil {
		err = r.restore(t, good, info)
	}
	if err != nil {
		r.log.Error("render rollback failed: the rejected file stays in place until the next attempt", "target", t.cfg.Name, "error", r.red.apply(err.Error()))
		return fmt.Errorf("reload failed: %w; rollback failed (retried on the next attempt): %v", cause, err)
	}
	output, rerr := r.reload(ctx, t)
	if rerr != nil {
		r.log.Error("render rollback reload failed", "target", t.cfg.Name, "error", r.red.apply(rerr.Error()),
			"output", tail(r.red.apply(output), 4096))
		return fmt.Errorf("reload failed: %w; previous file restored, but its reload failed too: %v", cause, rerr)
	}
	r.endJournal(t)
	return fmt.Errorf("reload failed: %w; previous file restored and reloaded", cause)
}

// restore writes good over the output with the mode and owner of info and
// an mtime past the live file's.
func (r *Renderer) restore(t *target, good []byte, info os.FileInfo) error {
	live, err := os.Stat(t.cfg.Output)
	if err != nil {
		return fmt.Errorf("stat live file: %w", err)
	}
	cand, err := writeCandidate(t.cfg.Output, good, info.Mode().Perm(), info, mtimeAfter(live.ModTime(), r.now()))
	if err != nil {
		return err
	}
	return renameInto(cand, t.cfg.Output)
}

// endJournal ends the journal of an apply the engine took; a failure only
// means a later start reloads once more.
func (r *Renderer) endJournal(t *target) {
	if err := t.journal.end(); err != nil {
		r.log.Warn("render journal not removed; the next start reloads once more", "target", t.cfg.Name, "error", err)
	}
}

// guard holds a render back when it would remove more than the allowed
// share of the trunks in the live file, unless that removal is confirmed.
// A trunk left out because the template failed for it, or because this
// node does not register it (ownership), is no removal.
func (r *Renderer) guard(t *target, live liveFile, out []byte, failedTrunks []trunkFailure) *HeldDrop {
	if t.trunkRe == nil || !live.exists {
		return nil
	}
	old := t.trunkNames(live.data)
	if len(old) == 0 {
		return nil
	}
	next := t.trunkNames(out)
	// Trunks this node no longer registers (another node owns them) are
	// no drop either: they are still in the snapshot.
	removed := removedNames(old, next, failedTrunks, r.outputs.set.withholds)
	ratio := float64(len(removed)) / float64(len(old))
	if ratio <= r.maxDrop {
		return nil
	}
	if r.autoConfirm {
		r.log.Warn("render removes many trunks; applying because confirm_drop is set",
			"target", t.cfg.Name, "live_trunks", len(old), "removed", len(removed))
		return nil
	}
	if r.confirmed(t, removed) {
		return nil
	}
	return &HeldDrop{
		Since: r.now(), LiveTrunks: len(old), NewTrunks: len(next), Removed: len(removed),
		RemovedList: removed[:min(len(removed), maxRemovedList)], Ratio: ratio, MaxRatio: r.maxDrop,
		removed: removed,
	}
}

// confirmed reports whether the operator confirmed every removal.
func (r *Renderer) confirmed(t *target, removed []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range removed {
		if !t.confirmed[n] {
			return false
		}
	}
	return true
}
