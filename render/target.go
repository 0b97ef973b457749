package render

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"regexp"
	"slices"
	"sync"
	"text/template"
	"time"
)

// target is one configured render target. cfg and the fields set by
// newTarget never change; the rest is guarded by Renderer.mu.
type target struct {
	cfg     TargetConfig
	parsed  *program // a built-in template, parsed once; nil for a file
	timeout time.Duration
	mode    os.FileMode
	failRe  *regexp.Regexp
	trunkRe *regexp.Regexp
	actions trunkActions

	// Applying goroutine only (or one goroutine it waits for).
	names [2]namesMemo
	// outs are the renderer's trunk outputs (shared by the targets); this
	// target's side of them is index.
	outs     *trunkOutputs
	index    int
	file     *program // the template file's program of the last render
	verified string   // key of the file program whose blocks matched the whole template
	mismatch string   // key of the file program whose blocks did not
	journal  journal  // an unfinished apply, on disk next to the output
	liveBuf  []byte   // read buffer of the live file (see readLive)
	// reloadFailed: the last reload of a new file failed (its next
	// attempt gets two reloads before the rollback).
	reloadFailed bool
	// The live file as trunkd last applied it (its sum: the output itself
	// is written over by the next render, see trunkOutputs.render), with
	// its trunks' parts (livePieces nil when it was rendered as a whole), for
	// per-trunk actions.
	liveSum                contentSum
	liveHeader, liveFooter []byte
	livePieces             []trunkPiece
	pending                []trunkAction // failed per-trunk actions, retried

	st           TargetStatus
	due          time.Time // zero: nothing to do until a trigger
	lastReload   time.Time // end of the last apply that ran reload_cmd (MinInterval counts from it)
	failingSince time.Time // start of the current run of failures; zero when ok
	// trunkErrorsSince: start of the current run of renders that failed
	// for some trunks (retried with backoff, so that a fixed template file
	// is picked up).
	trunkErrorsSince time.Time
	confirmed        map[string]bool // removals the operator confirmed
	// actionErrorsSince: start of the current run of failing per-trunk
	// actions (retried with backoff).
	actionErrorsSince time.Time
	// fenced: the engine may be fenced and waits for the unfence action
	// (see fence.go); unfenceFailingSince: start of the current run of
	// failing unfence actions.
	fenced              bool
	unfenceFailingSince time.Time
	// stopUnfence cancels the unfence command under way (nil when none):
	// Fence stops it rather than wait for it or run beside it.
	stopUnfence context.CancelFunc
	// fenceCmds serialises the target's fence and unfence commands, so a
	// fence never runs before an unfence that ends after it.
	fenceCmds sync.Mutex
}

// program returns the target's template; a template file is read again
// for every render, so an edited file is picked up without a restart.
func (t *target) program() (*program, error) {
	if t.parsed != nil {
		return t.parsed, nil
	}
	p, err := loadProgram(t.cfg.Template, t.cfg.Vars, t.file)
	if err != nil {
		return nil, err
	}
	t.file = p
	return p, nil
}

// render executes prog over data: trunk by trunk with the kept block
// outputs when it has blocks, else as a whole. The blocks of a template
// file are used once they rendered the same bytes as the whole template;
// blocks that did not are never used for that text, and warned reports
// it. The trunks the template failed for are returned in failed: they
// keep their last good output (blocks) or are left out (whole template).
func (t *target) render(prog *program, data *Data) (out []byte, warned bool, failed []trunkFailure, err error) {
	if !prog.blocks() || prog.key == t.mismatch {
		t.outs.forget(t.index)
		out, failed, err := executeIsolated(prog.whole, data)
		return out, false, failed, err
	}
	if !prog.verify || prog.key == t.verified {
		out, failed, err := t.outs.render(t.index, prog, data)
		return out, false, failed, err
	}
	whole, failed, err := executeIsolated(prog.whole, data)
	if err != nil {
		return nil, false, nil, err
	}
	// Compare over the trunks the whole template rendered; the failed ones
	// then keep their last good outputs.
	out, _, err = t.outs.render(t.index, prog, without(data, failed))
	if err != nil || !bytes.Equal(out, whole) {
		t.outs.forget(t.index)
		t.mismatch = prog.key
		return whole, true, failed, nil
	}
	t.verified = prog.key
	if len(failed) > 0 {
		out, failed, err = t.outs.render(t.index, prog, data)
	}
	return out, false, failed, err
}

// execute renders data. On failure it names the first trunk whose values
// fail on their own, so that the operator knows which provider to fix.
func execute(tmpl *template.Template, data *Data) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(256 * (len(data.Trunks) + 1))
	err := tmpl.Execute(&buf, data)
	if err == nil {
		return buf.Bytes(), nil
	}
	for _, tr := range data.Trunks {
		if tmpl.Execute(io.Discard, withTrunks(data, tr)) != nil {
			return nil, fmt.Errorf("trunk %q: %w", tr.Code, err)
		}
	}
	return nil, err
}

// executeIsolated renders data as a whole; when that fails for some
// trunks only (each fails on its own, the template without trunks does
// not, and not every trunk fails), it renders the others and returns the
// failed ones. Anything else is a failure of the whole template.
func executeIsolated(tmpl *template.Template, data *Data) ([]byte, []trunkFailure, error) {
	out, err := execute(tmpl, data)
	if err == nil || len(data.Trunks) < 2 || tmpl.Execute(io.Discard, withTrunks(data)) != nil {
		return out, nil, err
	}
	var failed []trunkFailure
	for _, tr := range data.Trunks {
		if terr := tmpl.Execute(io.Discard, withTrunks(data, tr)); terr != nil {
			failed = append(failed, trunkFailure{code: tr.Code, err: terr})
		}
	}
	if len(failed) == 0 || len(failed) == len(data.Trunks) {
		return nil, nil, err
	}
	if out, err = execute(tmpl, without(data, failed)); err != nil {
		return nil, nil, err
	}
	return out, failed, nil
}

// withTrunks is data with only trunks (and those of them that register).
func withTrunks(data *Data, trunks ...*Trunk) *Data {
	d := *data
	d.Trunks, d.Registering = trunks, nil
	for _, tr := range trunks {
		if tr.Registers {
			d.Registering = append(d.Registering, tr)
		}
	}
	return &d
}

// without is data without the failed trunks.
func without(data *Data, failed []trunkFailure) *Data {
	if len(failed) == 0 {
		return data
	}
	bad := make(map[string]bool, len(failed))
	for _, f := range failed {
		bad[f.code] = true
	}
	return withTrunks(data, slices.DeleteFunc(slices.Clone(data.Trunks), func(tr *Trunk) bool { return bad[tr.Code] })...)
}

// trunkNames returns the trunks found in a file by the target's trunk
// pattern, matched per line (the first group names a trunk, else the whole
// match); in the target's last render by blocks, from its trunks' pieces.
// The last two results are remembered with their content: the live file
// of one render is usually the output of the previous one.
func (t *target) trunkNames(data []byte) map[string]bool {
	sum := sumOf(data)
	for _, m := range t.names {
		if m.names != nil && m.sum == sum {
			return m.names
		}
	}
	names, ok := t.outs.names(t.index, t.trunkRe, data)
	if !ok {
		names = scanNames(t.trunkRe, data)
	}
	t.names[1], t.names[0] = t.names[0], namesMemo{sum: sum, names: names}
	return names
}

// namesMemo is a remembered trunkNames result and the sum of the content
// it is for (the content itself is the read buffer or an output, both
// written again later).
type namesMemo struct {
	sum   contentSum
	names map[string]bool
}

// contentSum tells contents apart without keeping them: their length and
// a 64-bit maphash (about 0.7 ms for a 10 MB file; two different contents
// of one length match with a chance of 2^-64).
type contentSum struct {
	size int
	hash uint64
}

// sumSeed is the process's seed of contentSum.
var sumSeed = maphash.MakeSeed()

// sumOf is data's contentSum.
func sumOf(data []byte) contentSum {
	return contentSum{size: len(data), hash: maphash.Bytes(sumSeed, data)}
}

// scanNames matches re against each line of data.
func scanNames(re *regexp.Regexp, data []byte) map[string]bool {
	names := map[string]bool{}
	scanLines(re, data, func(n string) { names[n] = true })
	return names
}

// removedNames lists the names of old that are not in next, sorted,
// except those of trunks left out because the template failed for them
// and the withheld ones (trunks another node registers).
func removedNames(old, next map[string]bool, failed []trunkFailure, withheld func(code string) bool) []string {
	var out []string
	for n := range old {
		if !next[n] && !withheld(n) && !slices.ContainsFunc(failed, func(f trunkFailure) bool { return f.code == n }) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}
