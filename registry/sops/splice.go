package sops

import (
	"errors"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/trunkd/trunkd/registry/yamlsplice"
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
	at := yamlsplice.NewLines(data)
	spans := make([]yamlsplice.Edit, len(edits))
	for i, e := range edits {
		start, end, err := at.Scalar(e.node, e.flow)
		if err != nil {
			return nil, spliceError(e.node.Line, err)
		}
		spans[i] = yamlsplice.Edit{Start: start, End: end, Text: e.text}
	}
	out := yamlsplice.Apply(data, spans)
	if d == nil || d.sopsKey == nil {
		return out, nil
	}
	lines := cutSection(strings.SplitAfter(string(out), "\n"), d)
	return []byte(strings.Join(lines, "")), nil
}

// spliceError says why the value on line cannot be encrypted in place.
func spliceError(line int, err error) *Error {
	if errors.Is(err, yamlsplice.ErrBlockScalar) {
		return fault(Layout, line, "a block scalar (| or >) cannot be encrypted; write the value on one line")
	}
	return fault(Layout, line, "a value on several lines cannot be encrypted; write it on one line")
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
