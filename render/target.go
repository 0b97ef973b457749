package render

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"text/template"
	"time"
)

// target is one configured render target. cfg and the fields set by
// newTarget never change; the rest is guarded by Renderer.mu.
type target struct {
	cfg     TargetConfig
	builtin bool
	parsed  *program // built-in templates are parsed once
	timeout time.Duration
	mode    os.FileMode
	failRe  *regexp.Regexp
	trunkRe *regexp.Regexp

	// Applying goroutine only (or one goroutine it waits for).
	liveBuf  []byte    // read buffer of the live file
	outputs  [2][]byte // the last output and the one before (a buffer for the next)
	names    [2]namesMemo
	frags    fragments // per-trunk outputs of a block program
	file     *program  // the template file's program of the last render
	verified string    // key of the file program whose blocks matched the whole template
	mismatch string    // key of the file program whose blocks did not
	// pendingReload: the live file may not be loaded by the engine (its
	// reload failed and could not be rolled back). Applying goroutine only.
	pendingReload bool

	st        TargetStatus
	due       time.Time       // zero: nothing to do until a trigger
	lastRun   time.Time       // end of the last render attempt
	failures  int             // consecutive failures, for the retry backoff
	confirmed map[string]bool // removals the operator confirmed
}

// parseTemplate parses a template with the helper functions; a missing map
// key is an error.
func parseTemplate(name, text string, vars map[string]string) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Funcs(funcs(vars)).Parse(text)
}

// program returns the target's template; a template file is read again
// for every render, so an edited file is picked up without a restart.
func (t *target) program() (*program, error) {
	if t.builtin {
		return t.parsed, nil
	}
	p, err := loadProgram(t.cfg.Template, t.cfg.Vars, t.file)
	if err != nil {
		return nil, err
	}
	t.file = p
	return p, nil
}

// render executes prog over data: trunk by trunk with the kept fragments
// when it has blocks, else as a whole. The blocks of a template file are
// used once they rendered the same bytes as the whole template; blocks
// that did not are never used for that text, and warned reports it.
func (t *target) render(prog *program, data *Data) (out []byte, warned bool, err error) {
	buf := t.outputBuffer()
	out, warned, err = t.renderInto(prog, data, buf)
	if err != nil {
		t.outputs[1] = buf
		return nil, false, err
	}
	t.outputs[0], t.outputs[1] = out, t.outputs[0]
	return out, warned, nil
}

// renderInto renders into buf when the program renders by blocks.
func (t *target) renderInto(prog *program, data *Data, buf []byte) (out []byte, warned bool, err error) {
	if !prog.blocks() || prog.key == t.mismatch {
		t.frags.reset("")
		out, err = execute(prog.whole, data)
		return out, false, err
	}
	if !prog.verify || prog.key == t.verified {
		out, err = t.frags.render(prog, data, buf)
		return out, false, err
	}
	whole, err := execute(prog.whole, data)
	if err != nil {
		return nil, false, err
	}
	if out, err = t.frags.render(prog, data, buf); err == nil && bytes.Equal(out, whole) {
		t.verified = prog.key
		return out, false, nil
	}
	t.frags.reset("")
	t.mismatch = prog.key
	return whole, true, nil
}

// outputBuffer returns the buffer of the output before the last one, for
// the next output to be written into, after forgetting what is remembered
// about its content. The last output is kept: it is usually the live file.
func (t *target) outputBuffer() []byte {
	buf := t.outputs[1]
	t.outputs[1] = nil
	if cap(buf) == 0 {
		return nil
	}
	buf = buf[:cap(buf)]
	for i, m := range t.names {
		if cap(m.data) > 0 && &m.data[:cap(m.data)][0] == &buf[0] {
			t.names[i] = namesMemo{}
		}
	}
	return buf[:0]
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
		one := *data
		one.Trunks = []*Trunk{tr}
		one.Registering = nil
		if tr.Registers {
			one.Registering = one.Trunks
		}
		if tmpl.Execute(io.Discard, &one) != nil {
			return nil, fmt.Errorf("trunk %q: %w", tr.Code, err)
		}
	}
	return nil, err
}

// trunkNames returns the trunks found in a file by the target's trunk
// pattern, matched per line (the first group names a trunk, else the whole
// match). The last two results are remembered with their content: the
// live file of one render is usually the output of the previous one.
func (t *target) trunkNames(data []byte) map[string]bool {
	if names := t.rememberedNames(data); names != nil {
		return names
	}
	names := scanNames(t.trunkRe, data)
	t.rememberNames(bytes.Clone(data), names) // data may be the read buffer
	return names
}

// outputNames returns the trunk names of the output just rendered, from
// its fragments when it was rendered trunk by trunk.
func (t *target) outputNames(out []byte) map[string]bool {
	if names := t.rememberedNames(out); names != nil {
		return names
	}
	names, ok := t.frags.names(t.trunkRe, out)
	if !ok {
		names = scanNames(t.trunkRe, out)
	}
	t.rememberNames(out, names)
	return names
}

func (t *target) rememberedNames(data []byte) map[string]bool {
	for _, m := range t.names {
		if m.names != nil && bytes.Equal(m.data, data) {
			return m.names
		}
	}
	return nil
}

func (t *target) rememberNames(data []byte, names map[string]bool) {
	t.names[1], t.names[0] = t.names[0], namesMemo{data: data, names: names}
}

// namesMemo is a remembered trunkNames result and the content it is for
// (never modified: outputs and live files are not written to after).
type namesMemo struct {
	data  []byte
	names map[string]bool
}

// scanNames matches re against each line of data.
func scanNames(re *regexp.Regexp, data []byte) map[string]bool {
	names := map[string]bool{}
	scanLines(re, data, func(n string) { names[n] = true })
	return names
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

// removedNames lists the names of old that are not in next, sorted.
func removedNames(old, next map[string]bool) []string {
	var out []string
	for n := range old {
		if !next[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
