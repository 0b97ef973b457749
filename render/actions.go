package render

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// maxParallelActions bounds the per-trunk actions that run at once: a
// slow or hanging one does not hold the others back.
const maxParallelActions = 4

// actionFailure is a per-trunk action that failed; it is retried.
type actionFailure struct {
	action trunkAction
	err    error
	output string
}

// actionPlan is the per-trunk actions of one apply, sorted by code; nil
// means the whole-file path (reload_cmd).
type actionPlan []trunkAction

// setLive remembers out as the live file with its trunk pieces (when it was
// rendered trunk by trunk), so that the next apply can tell per trunk
// what changes.
func (t *target) setLive(out []byte) {
	header, pieces, footer, ok := t.outs.parts(t.index, out)
	if !ok {
		t.livePieces = nil
		return
	}
	t.liveSum, t.livePieces = sumOf(out), pieces
	t.liveHeader, t.liveFooter = bytes.Clone(header), bytes.Clone(footer)
}

// plan returns the per-trunk actions that apply out in place of
// reload_cmd, merged with the actions still pending from earlier
// failures; nil when the whole-file path applies: no actions configured,
// no live file (a first start), a live file that is not the last output
// trunkd applied (the trunks' parts in it are unknown), a change outside
// the trunks' parts (header, footer), a change to more than the allowed
// share of trunks, or a kind of action without a command.
func (t *target) plan(live liveFile, out []byte) actionPlan {
	if !t.actions.enabled() || !live.exists || t.livePieces == nil || sumOf(live.data) != t.liveSum {
		return nil
	}
	header, next, footer, ok := t.outs.parts(t.index, out)
	if !ok || !bytes.Equal(header, t.liveHeader) || !bytes.Equal(footer, t.liveFooter) {
		return nil
	}
	d := diffPieces(t.livePieces, next)
	total := max(len(t.livePieces), len(next), 1)
	if len(d) == 0 || float64(len(d)) > t.actions.maxShare*float64(total) {
		return nil
	}
	p := mergeActions(t.pending, d)
	for _, a := range p {
		if t.actions.cmds[a.kind] == "" {
			return nil
		}
	}
	return p
}

// mergeActions lists the actions of d (sorted by code) and the pending
// ones whose trunk d does not touch (the latest change of a trunk
// decides), sorted by code.
func mergeActions(pending, d []trunkAction) actionPlan {
	p := actionPlan(d)
	for _, a := range pending {
		if _, touched := slices.BinarySearchFunc(d, a.code, byCode); !touched {
			p = append(p, a)
		}
	}
	slices.SortFunc(p, func(a, b trunkAction) int { return byCode(a, b.code) })
	return p
}

// removals are the plan's remove actions: they run before the trunks
// leave the live file (un-register first).
func (p actionPlan) removals() []trunkAction {
	return slices.DeleteFunc(slices.Clone(p), func(a trunkAction) bool { return a.kind != ActionRemove })
}

// others are the plan's add and change actions: they run once the new
// file is in place.
func (p actionPlan) others() []trunkAction {
	return slices.DeleteFunc(slices.Clone(p), func(a trunkAction) bool { return a.kind == ActionRemove })
}

// runActions runs actions, up to maxParallelActions at once, each with
// the target's timeout, and returns the failed ones (actionsResult sorts
// them). One action's failure never stops the others.
func (r *Renderer) runActions(ctx context.Context, t *target, actions []trunkAction) []actionFailure {
	var (
		mu       sync.Mutex
		failures []actionFailure
		wg       sync.WaitGroup
		slots    = make(chan struct{}, maxParallelActions)
	)
	for _, a := range actions {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if output, err := r.runAction(ctx, t, a); err != nil {
				mu.Lock()
				failures = append(failures, actionFailure{action: a, err: err, output: output})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return failures
}

// runAction runs one trunk's action command; output matching the
// target's failure pattern counts as a failure.
func (r *Renderer) runAction(ctx context.Context, t *target, a trunkAction) (string, error) {
	env := append([]string{"TRUNKD_TRUNK=" + a.code, "TRUNKD_ACTION=" + a.kind,
		"TRUNKD_OUTPUT=" + t.cfg.Output, "TRUNKD_TARGET=" + t.cfg.Name}, t.actions.env...)
	r.mu.Lock()
	if t.fenced {
		env = append(env, "TRUNKD_FENCED=1") // the engine may be fenced: send nothing it would not send itself
	}
	r.mu.Unlock()
	output, err := runCommand(ctx, t.actions.cmds[a.kind], t.timeout, env)
	if err == nil && t.failRe != nil && t.failRe.MatchString(output) {
		err = fmt.Errorf("output matches the failure pattern %q", t.failRe)
	}
	if err != nil {
		return output, fmt.Errorf("trunk_%s_cmd for trunk %q: %w", a.kind, a.code, err)
	}
	return output, nil
}

// undoRemovals runs after the new file could not be put in place (cause):
// the removed trunks' rows are still in the live file, but their remove
// actions ran. Each one that un-registered a trunk of the live file is
// undone by its add action (the trunk registers again from the live
// file); the next attempt plans the removals again. It returns every
// removal as a failure of its trunk, saying what state the trunk is in.
func (r *Renderer) undoRemovals(ctx context.Context, t *target, removals []trunkAction, failures []actionFailure, cause error) []actionFailure {
	var undo []trunkAction
	for _, a := range removals {
		if t.inLive(a.code) && !slices.ContainsFunc(failures, func(f actionFailure) bool { return f.action == a }) {
			undo = append(undo, trunkAction{code: a.code, kind: ActionAdd})
		}
	}
	undoFailed := r.runActions(ctx, t, undo)
	out := slices.Clone(failures)
	for _, a := range undo {
		f := actionFailure{action: trunkAction{code: a.code, kind: ActionRemove}}
		if i := slices.IndexFunc(undoFailed, func(u actionFailure) bool { return u.action == a }); i >= 0 {
			f.err = fmt.Errorf("removal not applied: the new file could not be put in place (%w); the trunk is in the live file but un-registered: registering it again failed: %w", cause, undoFailed[i].err)
			f.output = undoFailed[i].output
		} else {
			f.err = fmt.Errorf("removal not applied: the new file could not be put in place (%w); the trunk stays in the live file, registered again", cause)
		}
		out = append(out, f)
	}
	return out
}

// inLive reports whether the live file trunkd applied last holds code's
// part.
func (t *target) inLive(code string) bool {
	i, ok := slices.BinarySearchFunc(t.livePieces, code, func(p trunkPiece, c string) int { return strings.Compare(p.code, c) })
	return ok && len(t.livePieces[i].text) > 0
}

// finishActions runs the add and change actions once the new file is in
// place and ends the journal: the engine took the file trunk by trunk. A
// failed action keeps the file (the other trunks' actions ran on it); it
// is reported per trunk and retried with backoff.
func (r *Renderer) finishActions(ctx context.Context, t *target, p actionPlan, failures []actionFailure) result {
	failures = append(failures, r.runActions(ctx, t, p.others())...)
	r.endJournal(t)
	t.reloadFailed = false
	return r.actionsResult(t, outcomeApplied, len(p), failures)
}

// retryActions runs the actions still pending from earlier failures on
// the live file, which already is the render.
func (r *Renderer) retryActions(ctx context.Context, t *target) result {
	p := actionPlan(t.pending)
	failures := r.runActions(ctx, t, p)
	return r.actionsResult(t, outcomeUnchanged, len(p), failures)
}

// actionsResult keeps the failed actions pending and reports them.
func (r *Renderer) actionsResult(t *target, o outcome, ran int, failures []actionFailure) result {
	slices.SortFunc(failures, func(a, b actionFailure) int { return byCode(a.action, b.action.code) })
	t.pending = t.pending[:0]
	for _, f := range failures {
		t.pending = append(t.pending, f.action)
	}
	return result{outcome: o, perTrunk: true, actionsRun: ran, actionFailures: failures}
}
