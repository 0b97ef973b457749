package render

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template"
)

// fragments renders a block program trunk by trunk and keeps, per trunk,
// the output of the "trunk" block while the trunk is unchanged: a
// snapshot that changes one trunk executes the block for that trunk only.
// The key of a kept fragment is the *Trunk itself (the trunk cache keeps
// one *Trunk per unchanged *registry.Provider, for the renderer's fixed
// server index), within one program key (template text) and the target's
// vars, which never change. The block sees nothing but its trunk and the
// helpers, so nothing else can change its output. Used by the applying
// goroutine only.
type fragments struct {
	key          string     // program key of the kept fragments
	entries      []fragment // the trunks of the last render, in its order
	spareEntries []fragment // the array of the render before, reused for the next
	numbers      [][]byte   // output of the number block for 1, 2, ...
	scratch      bytes.Buffer
	// executed counts the trunk blocks the last render executed.
	executed int
	// failed lists the trunks whose block failed in the last render.
	failed []trunkFailure
	// previous are the fragments of the template text before, kept as the
	// last good output of trunks whose block fails with the new text
	// (until a render without failures: see target.renderBlocks).
	previous []fragment

	// The last output and its layout (for the drop guard and the next
	// render), and the buffer the next render writes into: the output
	// before the last one, which nobody reads any more.
	out       []byte
	spare     []byte
	headerLen int
	footerLen int
	aligned   bool // every piece but the last ends with a newline
}

// fragment is one trunk's part of the output: the number block (when the
// program has one and text is not empty), then text.
type fragment struct {
	trunk *Trunk
	text  []byte // output of the trunk block
	num   int    // its number; 0 when not numbered
	off   int    // where number+text starts in the last output
	size  int    // len(number)+len(text)
	prev  int    // while rendering: off in the output before, when number+text are the same; else -1
	// names are the drop guard's trunk names in number+text, when scanned.
	names   []string
	scanned bool
}

// reset forgets every fragment (another template, or a whole-template
// render).
func (f *fragments) reset(key string) {
	previous := f.previous
	if len(f.entries) > 0 {
		previous = f.entries
	}
	if key == "" {
		previous = nil // rendered as a whole: no fragments to keep
	}
	*f = fragments{key: key, scratch: f.scratch, previous: previous}
}

// render executes a block program over data, reusing the fragments of
// unchanged trunks, and returns the output and the trunks whose block
// failed (each keeps its last good fragment or is left out). On error the
// kept fragments stay as they were.
//
// The output is written into a buffer the fragments keep: it stays as it
// is until the render after next, which writes into it again (a new 9 MB
// pjsip.conf buffer per render made BenchmarkApplyOneChange10k about 30 %
// slower: the allocation and the garbage collections it sets off). So a
// caller reads an output during its apply and keeps no reference to it;
// the target remembers the live file by its contentSum.
func (f *fragments) render(prog *program, data *Data) ([]byte, []trunkFailure, error) {
	if f.key != prog.key {
		f.reset(prog.key)
	}
	header, err := f.exec(prog.header, data)
	if err != nil {
		return nil, nil, err
	}
	footer, err := f.exec(prog.footer, data)
	if err != nil {
		return nil, nil, err
	}
	next, err := f.trunks(prog, data.Trunks)
	if err != nil {
		return nil, nil, err
	}
	size, err := f.number(prog, next)
	if err != nil {
		return nil, nil, err
	}
	size += len(header) + len(footer)
	out := f.spare[:0]
	if cap(out) < size {
		out = make([]byte, 0, size+size/16)
	}
	out = append(out, header...)
	out = f.assemble(out, next)
	out = append(out, footer...)
	f.entries, f.spareEntries = next, f.entries[:0]
	f.out, f.spare, f.headerLen, f.footerLen = out, f.out, len(header), len(footer)
	f.aligned = linesAligned(out, len(header), next, len(footer))
	return out, f.failed, nil
}

// dropPrevious forgets the fragments of the template text before, kept
// for the trunks that failed with the new one: once a render of all
// trunks had no failure, none needs them.
func (f *fragments) dropPrevious() { f.previous = nil }

// trunks returns the fragment of every trunk, executing the trunk block
// for those not kept from the last render. Both lists are sorted by code;
// a fragment is reused only for the very same *Trunk. A trunk whose block
// fails keeps its last good fragment (found by code, also from the
// template text before) or is left out, and is listed in f.failed; when
// the block fails for every trunk, the template is broken as a whole.
func (f *fragments) trunks(prog *program, trunks []*Trunk) ([]fragment, error) {
	next := f.spareEntries[:0]
	if cap(next) < len(trunks) {
		next = make([]fragment, 0, len(trunks)+len(trunks)/16)
	}
	f.executed, f.failed = 0, nil
	j := 0
	for _, tr := range trunks {
		for j < len(f.entries) && f.entries[j].trunk != tr && f.entries[j].trunk.Code < tr.Code {
			j++
		}
		if j < len(f.entries) && f.entries[j].trunk == tr {
			next = append(next, f.entries[j])
			next[len(next)-1].prev = f.entries[j].off
			j++
			continue
		}
		f.executed++
		text, err := f.exec(prog.trunk, tr)
		if err == nil {
			next = append(next, fragment{trunk: tr, text: text, prev: -1})
			continue
		}
		failure := trunkFailure{code: tr.Code, err: err}
		if good, ok := f.lastGood(tr.Code, j); ok {
			next, failure.kept = append(next, good), true
		}
		f.failed = append(f.failed, failure)
	}
	if len(trunks) > 0 && len(f.failed) == len(trunks) {
		return nil, fmt.Errorf("the trunk block fails for every trunk: trunk %q: %w", f.failed[0].code, f.failed[0].err)
	}
	return next, nil
}

// lastGood returns the kept fragment of the trunk with code: the entry at
// j of the last render (an older version of the trunk), else one kept from
// the template text before.
func (f *fragments) lastGood(code string, j int) (fragment, bool) {
	if j < len(f.entries) && f.entries[j].trunk.Code == code {
		good := f.entries[j]
		good.prev = good.off // unchanged bytes of the last output
		return good, true
	}
	i, ok := slices.BinarySearchFunc(f.previous, code, func(e fragment, c string) int { return strings.Compare(e.trunk.Code, c) })
	if !ok {
		return fragment{}, false
	}
	good := f.previous[i]
	good.prev, good.num, good.scanned, good.names = -1, 0, false, nil
	return good, true
}

// number numbers the fragments that are not empty (when the program has
// a number block) and returns the size of all fragments with their
// numbers.
func (f *fragments) number(prog *program, next []fragment) (int, error) {
	size, n := 0, 0
	for i := range next {
		e := &next[i]
		num := 0
		if prog.number != nil && len(e.text) > 0 {
			n++
			num = n
			numText, err := f.numberText(prog.number, n)
			if err != nil {
				return 0, err
			}
			size += len(numText)
		}
		if e.num != num {
			e.num, e.scanned, e.names, e.prev = num, false, nil, -1
		}
		size += len(e.text)
	}
	return size, nil
}

// assemble appends the fragments to out. Runs of fragments that stand
// unchanged and in the same order in the last output are copied from it
// in one piece: much faster than gathering thousands of small fragments
// from all over the heap.
func (f *fragments) assemble(out []byte, next []fragment) []byte {
	last := f.out
	for i := 0; i < len(next); {
		if e := &next[i]; e.prev < 0 || last == nil {
			e.off = len(out)
			if e.num > 0 {
				out = append(out, f.numbers[e.num-1]...)
			}
			out = append(out, e.text...)
			e.size = len(out) - e.off
			i++
			continue
		}
		start, end := next[i].prev, next[i].prev
		for ; i < len(next) && next[i].prev == end; i++ {
			next[i].off = len(out) + end - start
			end += next[i].size
		}
		out = append(out, last[start:end]...)
	}
	return out
}

// numberText returns the output of the number block for n, executing it
// the first time.
func (f *fragments) numberText(block *template.Template, n int) ([]byte, error) {
	for len(f.numbers) < n {
		text, err := f.exec(block, len(f.numbers)+1)
		if err != nil {
			return nil, err
		}
		f.numbers = append(f.numbers, text)
	}
	return f.numbers[n-1], nil
}

// exec executes one block into a new slice of its exact size.
func (f *fragments) exec(block *template.Template, data any) ([]byte, error) {
	f.scratch.Reset()
	if err := block.Execute(&f.scratch, data); err != nil {
		return nil, err
	}
	if f.scratch.Len() == 0 {
		return nil, nil
	}
	return bytes.Clone(f.scratch.Bytes()), nil
}

// parts splits out into its header, its trunk pieces and its footer
// when it is the last block render (false when it was rendered as a
// whole: then no trunk's part is known). header and footer share out's
// bytes. A plain comparison of the bytes tells: 0.65 ms for a 9 MB
// pjsip.conf, against an apply of 20-30 ms.
func (f *fragments) parts(out []byte) (header []byte, pieces []trunkPiece, footer []byte, ok bool) {
	if f.key == "" || !bytes.Equal(f.out, out) {
		return nil, nil, nil, false
	}
	pieces = make([]trunkPiece, len(f.entries))
	for i, e := range f.entries {
		pieces[i] = trunkPiece{code: e.trunk.Code, text: e.text}
	}
	return out[:f.headerLen], pieces, out[len(out)-f.footerLen:], true
}

// linesAligned reports whether every non-empty piece of out (header, each
// fragment, footer) except the last ends with a newline, so that no line
// spans two pieces and scanning the pieces one by one finds exactly what
// scanning out finds.
func linesAligned(out []byte, headerLen int, entries []fragment, footerLen int) bool {
	open := false // the last non-empty piece so far does not end a line
	piece := func(off, size int) bool {
		if size == 0 {
			return true
		}
		if open {
			return false
		}
		open = out[off+size-1] != '\n'
		return true
	}
	if !piece(0, headerLen) {
		return false
	}
	for _, e := range entries {
		if !piece(e.off, e.size) {
			return false
		}
	}
	return piece(len(out)-footerLen, footerLen)
}

// names returns the drop guard's trunk names of out, scanning only the
// fragments not scanned before; false when out is not the last render or
// its lines span pieces.
func (f *fragments) names(re *regexp.Regexp, out []byte) (map[string]bool, bool) {
	if !f.aligned || len(out) == 0 || !bytes.Equal(out, f.out) {
		return nil, false
	}
	names := make(map[string]bool, len(f.entries))
	scanLines(re, out[:f.headerLen], func(n string) { names[n] = true })
	for i := range f.entries {
		e := &f.entries[i]
		if !e.scanned {
			e.names = nil
			scanLines(re, out[e.off:e.off+e.size], func(n string) { e.names = append(e.names, n) })
			e.scanned = true
		}
		for _, n := range e.names {
			names[n] = true
		}
	}
	scanLines(re, out[len(out)-f.footerLen:], func(n string) { names[n] = true })
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
