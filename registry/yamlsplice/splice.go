// Package yamlsplice edits the values of a YAML file in place: it finds the
// bytes of a one-line scalar from the line and column yaml.v3 records for
// its node, and replaces them, so that every other byte of the operator's
// file (alignment, comments, quoting, blank lines, line numbers) stays as
// it was. registry uses it to write an update, registry/sops to put
// encrypted values in and take them out.
//
// It locates plain, single- and double-quoted scalars and aliases that end
// on the line they start on; anything else is an error the caller turns
// into its own fallback or message. A located span is only as good as
// yaml.v3's positions: callers parse their result back and compare.
package yamlsplice

import (
	"bytes"
	"errors"
	"slices"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

var (
	// ErrBlockScalar: the value is a block scalar (| or >).
	ErrBlockScalar = errors.New("a block scalar (| or >)")
	// ErrNotOneLine: the value's text does not end on the line it starts
	// on (or is not where its node says it is).
	ErrNotOneLine = errors.New("the value does not end on its line")
)

// Lines indexes the lines of a file.
type Lines struct {
	data   []byte
	starts []int // the offset of the start of every line; index 0 is line 1
}

// NewLines indexes the lines of data.
func NewLines(data []byte) *Lines {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return &Lines{data: data, starts: starts}
}

// Data is the file the lines index.
func (l *Lines) Data() []byte { return l.data }

// Start returns the offset of the start of line (1-based).
func (l *Lines) Start(line int) (int, bool) {
	if line < 1 || line > len(l.starts) {
		return 0, false
	}
	return l.starts[line-1], true
}

// Offset turns a yaml.v3 line and column (1-based, the column counting
// characters) into a byte offset; false when it lies past the line's end.
func (l *Lines) Offset(line, column int) (int, bool) {
	off, ok := l.Start(line)
	if !ok {
		return 0, false
	}
	for range column - 1 {
		if off >= len(l.data) || l.data[off] == '\n' {
			return 0, false
		}
		_, size := utf8.DecodeRune(l.data[off:])
		off += size
	}
	return off, true
}

// Scalar returns the byte span [start, end) of the text of the scalar or
// alias n: a quoted scalar with its quotes; a plain one up to a comment,
// the line's end or, when flow is true (n sits in a flow collection {…}
// or […]), a flow indicator, without trailing blanks. A tag or anchor
// written before the value is not part of the span: replacing the span
// keeps it.
func (l *Lines) Scalar(n *yaml.Node, flow bool) (start, end int, err error) {
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return 0, 0, ErrBlockScalar
	}
	start, ok := l.Offset(n.Line, n.Column)
	if !ok {
		return 0, 0, ErrNotOneLine
	}
	line := l.data[start:]
	if eol := bytes.IndexByte(line, '\n'); eol >= 0 {
		line = line[:eol]
	}
	skip := properties(line)
	line = line[skip:]
	var size int
	switch {
	case n.Kind == yaml.ScalarNode && n.Style&yaml.DoubleQuotedStyle != 0:
		size, ok = closingQuote(line, '"')
	case n.Kind == yaml.ScalarNode && n.Style&yaml.SingleQuotedStyle != 0:
		size, ok = closingQuote(line, '\'')
	case n.Kind == yaml.ScalarNode:
		size = plainEnd(line, flow)
		ok = string(line[:size]) == n.Value // else it goes on over more lines
	case n.Kind == yaml.AliasNode:
		size = plainEnd(line, flow)
		ok = string(line[:size]) == "*"+n.Value
	}
	if !ok {
		return 0, 0, ErrNotOneLine
	}
	return start + skip, start + skip + size, nil
}

// properties returns the length of the tag (!…) and anchor (&…) written
// at the start of line, with the blanks after them.
func properties(line []byte) int {
	n := 0
	for n < len(line) && (line[n] == '!' || line[n] == '&') {
		for n < len(line) && line[n] != ' ' && line[n] != '\t' {
			n++
		}
		for n < len(line) && (line[n] == ' ' || line[n] == '\t') {
			n++
		}
	}
	return n
}

// closingQuote returns the length of the scalar quoted with q at the start
// of s, up to and including its closing quote.
func closingQuote(s []byte, q byte) (int, bool) {
	if len(s) == 0 || s[0] != q {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case s[i] == q && q == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++ // '' is a quote inside single quotes
		case s[i] == q:
			return i + 1, true
		}
	}
	return 0, false
}

// plainEnd returns the length of the plain scalar at the start of s: up to
// a comment (# after a blank), the end of the line or, in a flow
// collection, a flow indicator; without trailing blanks.
func plainEnd(s []byte, flow bool) int {
	end := len(s)
	for i := 0; i < len(s) && end == len(s); i++ {
		switch {
		case s[i] == '\r':
			end = i
		case s[i] == '#' && i > 0 && (s[i-1] == ' ' || s[i-1] == '\t'):
			end = i
		case flow && (s[i] == ',' || s[i] == '}' || s[i] == ']'):
			end = i
		}
	}
	return len(bytes.TrimRight(s[:end], " \t"))
}

// An Edit replaces data[Start:End] with Text.
type Edit struct {
	Start, End int
	Text       string
}

// Apply returns a copy of data with the edits, which must not overlap,
// applied.
func Apply(data []byte, edits []Edit) []byte {
	edits = slices.Clone(edits)
	slices.SortStableFunc(edits, func(a, b Edit) int { return a.Start - b.Start })
	grow := 0
	for _, e := range edits {
		grow += len(e.Text) - (e.End - e.Start)
	}
	out := make([]byte, 0, len(data)+max(grow, 0))
	at := 0
	for _, e := range edits {
		out = append(out, data[at:e.Start]...)
		out = append(out, e.Text...)
		at = e.End
	}
	return append(out, data[at:]...)
}
