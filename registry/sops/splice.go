package sops

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// edit replaces the text of one scalar value of the file; flow tells that
// the value sits in a flow collection ({…} or […]).
type edit struct {
	node *yaml.Node
	flow bool
	text string // the new text in the file
	want string // the value the new text must parse to
}

// splice applies the edits to the file's text and blanks the lines of the
// sops section (cut), so that every other byte, comment and line number of
// the operator's file stays as it was: errors about the decrypted file
// still point at the right line.
func splice(data []byte, edits []edit, d *document) ([]byte, error) {
	lines := strings.SplitAfter(string(data), "\n")
	edits = append([]edit(nil), edits...)
	sort.Slice(edits, func(i, j int) bool { // last first: offsets stay valid
		a, b := edits[i].node, edits[j].node
		return a.Line > b.Line || (a.Line == b.Line && a.Column > b.Column)
	})
	for _, e := range edits {
		i := e.node.Line - 1
		if i < 0 || i >= len(lines) {
			return nil, fmt.Errorf("line %d: out of the file", e.node.Line)
		}
		start, end, err := scalarSpan(lines[i], e.node, e.flow)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", e.node.Line, err)
		}
		lines[i] = lines[i][:start] + e.text + lines[i][end:]
	}
	if d != nil && d.sopsKey != nil {
		lines = cutSection(lines, d)
	}
	return []byte(strings.Join(lines, "")), nil
}

// cutSection removes the sops section: truncated when it is last (as the
// sops tool writes it), blanked line by line otherwise.
func cutSection(lines []string, d *document) []string {
	from, to := d.sopsKey.Line-1, len(lines)
	for i := 0; i+1 < len(d.root.Content); i += 2 {
		if k := d.root.Content[i]; k.Line > d.sopsKey.Line && k.Line-1 < to {
			to = k.Line - 1
		}
	}
	if to == len(lines) {
		return lines[:from]
	}
	for i := from; i < to; i++ {
		lines[i] = "\n"
	}
	return lines
}

// scalarSpan finds the byte span of a single-line scalar in its line, from
// its column (counted in characters) to the end of its plain or quoted
// text.
func scalarSpan(line string, n *yaml.Node, flow bool) (int, int, error) {
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return 0, 0, errors.New("a block scalar (| or >) cannot be encrypted; write the value on one line")
	}
	start := 0
	for c := 1; c < n.Column && start < len(line); c++ {
		_, w := utf8.DecodeRuneInString(line[start:])
		start += w
	}
	rest := line[start:]
	var end int
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		end = closingQuote(rest, '"')
	case n.Style&yaml.SingleQuotedStyle != 0:
		end = closingQuote(rest, '\'')
	default:
		end = plainEnd(rest, flow)
	}
	if end < 0 {
		return 0, 0, errors.New("a value on several lines cannot be encrypted; write it on one line")
	}
	return start, start + end, nil
}

// closingQuote returns the length of a quoted scalar at the start of s, or
// -1 when it does not close on this line.
func closingQuote(s string, q byte) int {
	for i := 1; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case s[i] == q && q == '\'' && i+1 < len(s) && s[i+1] == '\'':
			i++
		case s[i] == q:
			return i + 1
		}
	}
	return -1
}

// plainEnd returns the length of a plain scalar at the start of s: up to a
// comment, the end of the line or, in a flow collection, a flow indicator;
// without trailing blanks.
func plainEnd(s string, flow bool) int {
	end := len(s)
	for i := 0; i < len(s) && end == len(s); i++ {
		switch {
		case s[i] == '\n' || s[i] == '\r':
			end = i
		case s[i] == '#' && i > 0 && (s[i-1] == ' ' || s[i-1] == '\t'):
			end = i
		case flow && (s[i] == ',' || s[i] == '}' || s[i] == ']'):
			end = i
		}
	}
	return len(strings.TrimRight(s[:end], " \t"))
}
