package render

import (
	"bytes"
	"fmt"
	"regexp"
	"text/template"

	"github.com/trunkd/trunkd/registry"
)

// trunkOutputs is what the renderer keeps per trunk between snapshots:
// for every provider of the last snapshot its derived *Trunk, and for
// every target the output of that target's "trunk" block for it. A
// snapshot that changes one provider derives one trunk and executes one
// block per target; everything else is taken as it is. The registry
// shares unchanged *registry.Provider values between snapshots, so an
// unchanged provider is the very same pointer; the renderer's server
// index is fixed, and a block sees nothing but its trunk and the helper
// functions (whose only other input, the target's vars, is fixed too).
// Used by the applying goroutine only.
type trunkOutputs struct {
	rows    []trunkRow      // one per provider of the last snapshot, sorted by code
	set     trunkSet        // the active trunks of rows (for the snapshot and ownership it names)
	targets []targetOutputs // by target index
	gens    uint64          // template texts seen (see blockOutput.gen)
	scratch bytes.Buffer
}

// trunkRow is one provider: its trunk and each target's block output.
type trunkRow struct {
	provider *registry.Provider
	trunk    *Trunk        // nil: not active, or err
	err      error         // why the trunk's values could not be derived
	outs     []blockOutput // by target index; grown on a target's first render
}

// blockOutput is one target's output of the "trunk" block for a row.
type blockOutput struct {
	text []byte
	// gen is the generation of the target's template text that rendered
	// text for this very trunk; 0 when text is only the trunk's last good
	// output (an older version of the trunk or of the text), kept for a
	// block that fails now.
	gen       uint64
	num       int      // number written before text in the last output; 0: none
	off, size int      // where number+text stand in the last output
	names     []string // the drop guard's names in number+text, once scanned
	scanned   bool
}

// targetOutputs is one target's side: its template text and the layout
// of its last output.
type targetOutputs struct {
	key      string   // program key of the text the outputs are of; "": rendered as a whole
	gen      uint64   // that text's generation
	numbers  [][]byte // number block output for 1, 2, ...
	out      []byte   // the last output; the next render writes over it
	header   int      // length of the header in out
	footer   int      // length of the footer in out
	rows     []int    // the rows in out, in order
	aligned  bool     // every non-empty piece of out but the last ends a line
	executed int      // trunk blocks the last render executed
}

// get returns the active trunks of snap on a server with serverIndex (the
// same for every call) under the ownership own. A trunk whose provider is
// unchanged keeps its *Trunk and its block outputs while it registers as
// before; when only its ownership changed it gets a new *Trunk, rendered
// again. A changed provider's outputs stay as its last good ones. A
// provider whose values could not be derived stays reported (and is not
// taken for a removal) until it changes.
func (o *trunkOutputs) get(snap *registry.Snapshot, serverIndex int, own Ownership) trunkSet {
	if o.set.snap == snap && sameOwnership(o.set.own, own) {
		return o.set
	}
	providers := snap.Providers()
	rows := make([]trunkRow, len(providers))
	set := trunkSet{snap: snap, trunks: make([]*Trunk, 0, len(providers)), own: own}
	j, ownChanged := 0, !sameOwnership(o.set.own, own)
	for i, p := range providers {
		rows[i] = o.next(p, serverIndex, own, ownChanged, &j)
		switch t := rows[i].trunk; {
		case rows[i].err != nil:
			set.failed = append(set.failed, trunkFailure{code: p.Code, err: rows[i].err})
		case t != nil:
			set.trunks = append(set.trunks, t)
			if t.Registers {
				set.registering = append(set.registering, t)
			}
		}
	}
	o.rows, o.set = rows, set
	return set
}

// next returns p's row: its last one while p is unchanged, else a new one
// with the trunk derived afresh; a trunk's Registers is set for own when
// it is new or the ownership changed. A changed trunk takes its last
// version's outputs as its last good ones.
func (o *trunkOutputs) next(p *registry.Provider, serverIndex int, own Ownership, ownChanged bool, j *int) trunkRow {
	last := o.lastRow(p, j)
	row := trunkRow{provider: p}
	if last != nil && last.provider == p {
		if row = *last; !ownChanged {
			return row
		}
	} else if p.Active(serverIndex) {
		t, err := newTrunk(p)
		row.trunk, row.err = &t, err
		if err != nil {
			row.trunk = nil
		}
	}
	if row.trunk == nil {
		row.outs = nil // nothing to keep for a trunk that is not rendered
		return row
	}
	if reg := registers(own, p.Code, p.Reg); row.trunk.Registers != reg {
		row.trunk = row.trunk.withRegisters(reg)
	}
	if last != nil && row.trunk != last.trunk {
		row.outs = last.outs
		for i := range row.outs {
			row.outs[i].gen = 0 // the last good output of an older trunk
		}
	}
	return row
}

// lastRow returns the last snapshot's row of p's code, or nil. The last
// rows and the providers are sorted by code and visited in order, *j
// carrying the position: a whole snapshot is matched in one pass, with
// no map, and an unchanged provider by its pointer alone.
func (o *trunkOutputs) lastRow(p *registry.Provider, j *int) *trunkRow {
	for *j < len(o.rows) && o.rows[*j].provider != p && o.rows[*j].provider.Code < p.Code {
		*j++
	}
	if *j < len(o.rows) && (o.rows[*j].provider == p || o.rows[*j].provider.Code == p.Code) {
		*j++
		return &o.rows[*j-1]
	}
	return nil
}

// withRegisters is a copy of t with Registers set to reg.
func (t *Trunk) withRegisters(reg bool) *Trunk {
	nt := *t
	nt.Registers = reg
	return &nt
}

// sameOwnership reports whether a and b are the same ownership (both nil,
// or the same generation).
func sameOwnership(a, b Ownership) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Generation() == b.Generation()
}

// target returns the side of the target with index ti.
func (o *trunkOutputs) target(ti int) *targetOutputs {
	for len(o.targets) <= ti {
		o.targets = append(o.targets, targetOutputs{})
	}
	return &o.targets[ti]
}

// output returns target ti's block output of row.
func (row *trunkRow) output(ti int) *blockOutput {
	for len(row.outs) <= ti {
		row.outs = append(row.outs, blockOutput{})
	}
	return &row.outs[ti]
}

// forget drops target ti's outputs: it renders its template as a whole.
func (o *trunkOutputs) forget(ti int) {
	tg := o.target(ti)
	if tg.key == "" {
		return // none since the last forget
	}
	*tg = targetOutputs{out: tg.out[:0]}
	for i := range o.rows {
		if len(o.rows[i].outs) > ti {
			o.rows[i].outs[ti] = blockOutput{}
		}
	}
}

// render executes target ti's block program over data (whose trunks are
// those of the last get, or some of them), executing the trunk block only
// for trunks without an output of this text, and returns the output and
// the trunks whose block failed: each keeps its last good output or is
// left out; when the block fails for every trunk, the template is broken
// as a whole.
//
// The output is written over the last one, in a buffer the target keeps
// (a new 9 MB pjsip.conf buffer per render made BenchmarkApplyOneChange10k
// slower, see the package doc): a caller reads it during its apply and
// keeps no reference to it; the target remembers the live file by its
// contentSum.
func (o *trunkOutputs) render(ti int, prog *program, data *Data) ([]byte, []trunkFailure, error) {
	tg := o.target(ti)
	if tg.key != prog.key {
		o.gens++
		*tg = targetOutputs{key: prog.key, gen: o.gens, out: tg.out[:0]}
	}
	header, err := o.exec(prog.header, data)
	if err != nil {
		return nil, nil, err
	}
	footer, err := o.exec(prog.footer, data)
	if err != nil {
		return nil, nil, err
	}
	failed, err := o.trunks(ti, tg, prog, data.Trunks)
	if err != nil {
		return nil, nil, err
	}
	if len(data.Trunks) > 0 && len(failed) == len(data.Trunks) {
		return nil, nil, fmt.Errorf("the trunk block fails for every trunk: trunk %q: %w", failed[0].code, failed[0].err)
	}
	if err := o.number(ti, tg, prog); err != nil {
		return nil, nil, err
	}
	o.assemble(ti, tg, header, footer)
	return tg.out, failed, nil
}

// trunks sets tg.rows to the rows of trunks (a subsequence of the rows,
// matched by pointer), executing the trunk block where the row has no
// output of tg's text, and returns the trunks whose block failed.
func (o *trunkOutputs) trunks(ti int, tg *targetOutputs, prog *program, trunks []*Trunk) ([]trunkFailure, error) {
	var failed []trunkFailure
	tg.rows, tg.executed = tg.rows[:0], 0
	j := 0
	for i := 0; i < len(o.rows) && j < len(trunks); i++ {
		row := &o.rows[i]
		if row.trunk != trunks[j] {
			continue
		}
		j++
		out := row.output(ti)
		if out.gen != tg.gen {
			tg.executed++
			text, err := o.exec(prog.trunk, row.trunk)
			if err != nil {
				failed = append(failed, trunkFailure{code: row.trunk.Code, err: err, kept: out.text != nil})
				if out.text == nil {
					continue
				}
			} else {
				*out = blockOutput{text: text, gen: tg.gen}
			}
		}
		tg.rows = append(tg.rows, i)
	}
	if j < len(trunks) {
		return nil, fmt.Errorf("trunk %q is not one of the snapshot's trunks", trunks[j].Code) // a bug, not the template's
	}
	return failed, nil
}

// number gives each non-empty output its number (when the program has a
// number block), executing the block for numbers not seen before.
func (o *trunkOutputs) number(ti int, tg *targetOutputs, prog *program) error {
	n := 0
	for _, i := range tg.rows {
		out := &o.rows[i].outs[ti]
		num := 0
		if prog.number != nil && len(out.text) > 0 {
			n++
			num = n
		}
		for len(tg.numbers) < num {
			text, err := o.exec(prog.number, len(tg.numbers)+1)
			if err != nil {
				return err
			}
			tg.numbers = append(tg.numbers, text)
		}
		if out.num != num {
			out.num, out.scanned = num, false
		}
	}
	return nil
}

// assemble writes header, each row's number and text, and footer over
// tg's last output, and notes where each piece stands.
func (o *trunkOutputs) assemble(ti int, tg *targetOutputs, header, footer []byte) {
	out := append(tg.out[:0], header...)
	tg.aligned = true
	open := len(header) > 0 && header[len(header)-1] != '\n' // the last non-empty piece does not end a line
	for _, i := range tg.rows {
		b := &o.rows[i].outs[ti]
		b.off = len(out)
		if b.num > 0 {
			out = append(out, tg.numbers[b.num-1]...)
		}
		out = append(out, b.text...)
		if b.size = len(out) - b.off; b.size > 0 {
			tg.aligned = tg.aligned && !open
			open = out[len(out)-1] != '\n'
		}
	}
	tg.aligned = tg.aligned && (len(footer) == 0 || !open)
	tg.out, tg.header, tg.footer = append(out, footer...), len(header), len(footer)
}

// exec executes one block into a new slice of its exact size; an empty
// output is an empty slice, not nil (nil text: no output yet).
func (o *trunkOutputs) exec(block *template.Template, data any) ([]byte, error) {
	o.scratch.Reset()
	if err := block.Execute(&o.scratch, data); err != nil {
		return nil, err
	}
	return append([]byte{}, o.scratch.Bytes()...), nil
}

// last returns target ti's side when out is its last render by blocks.
// A plain comparison of the bytes tells: 0.65 ms for a 9 MB pjsip.conf,
// against an apply of 20-30 ms.
func (o *trunkOutputs) last(ti int, out []byte) (*targetOutputs, bool) {
	if o == nil || ti >= len(o.targets) {
		return nil, false // a target outside a renderer (tests)
	}
	tg := &o.targets[ti]
	return tg, tg.key != "" && bytes.Equal(tg.out, out)
}

// parts splits out into its header, its trunk pieces and its footer
// when it is target ti's last render by blocks (false when it was
// rendered as a whole: then no trunk's part is known). header and footer
// share out's bytes.
func (o *trunkOutputs) parts(ti int, out []byte) (header []byte, pieces []trunkPiece, footer []byte, ok bool) {
	tg, ok := o.last(ti, out)
	if !ok {
		return nil, nil, nil, false
	}
	pieces = make([]trunkPiece, len(tg.rows))
	for k, i := range tg.rows {
		pieces[k] = trunkPiece{code: o.rows[i].trunk.Code, text: o.rows[i].outs[ti].text}
	}
	return out[:tg.header], pieces, out[len(out)-tg.footer:], true
}

// names returns the drop guard's trunk names of out, scanning only the
// pieces not scanned before; false when out is not target ti's last
// render by blocks or its lines span pieces (then scanning the pieces one
// by one would not find what scanning out finds).
func (o *trunkOutputs) names(ti int, re *regexp.Regexp, out []byte) (map[string]bool, bool) {
	tg, ok := o.last(ti, out)
	if !ok || !tg.aligned || len(out) == 0 {
		return nil, false
	}
	names := make(map[string]bool, len(tg.rows))
	scanLines(re, out[:tg.header], func(n string) { names[n] = true })
	for _, i := range tg.rows {
		b := &o.rows[i].outs[ti]
		if !b.scanned {
			b.names = nil
			scanLines(re, out[b.off:b.off+b.size], func(n string) { b.names = append(b.names, n) })
			b.scanned = true
		}
		for _, n := range b.names {
			names[n] = true
		}
	}
	scanLines(re, out[len(out)-tg.footer:], func(n string) { names[n] = true })
	return names, true
}

// scanLines matches re against each line of data and passes each name
// found to add (at most one trunk per line: matching line by line is
// several times faster than over the whole file, which matters at 10,000
// trunks).
func scanLines(re *regexp.Regexp, data []byte, add func(string)) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		m := re.FindSubmatch(line)
		switch {
		case m == nil:
		case len(m) > 1:
			add(string(m[1]))
		default:
			add(string(m[0]))
		}
	}
}
