package registry

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/trunkd/trunkd/registry/yamlsplice"
)

// An update writes into the operator's file the way a careful person would
// edit it: only the bytes of the changed values are replaced (found by the
// line and column yaml.v3 records for every node), and a field the file
// does not have yet is added as a new line at the end of its mapping.
// Every other byte - alignment, comments, quoting, blank lines - stays.
// Where a value's text cannot be located safely (a block or multi-line
// scalar, a flow mapping, a tag) the edit falls back to re-encoding the
// node tree, which keeps comments and key order but not spacing.

// errNotSpliceable makes an edit fall back to re-encoding the node tree.
var errNotSpliceable = errors.New("value cannot be edited in place")

// AnchorError refuses an update that would change a value shared through a
// YAML anchor (&name): every alias (*name) of it would change as well.
type AnchorError struct {
	File, Field, Anchor string
}

// Error names the field and says what to do.
func (e *AnchorError) Error() string {
	return fmt.Sprintf("%s: %s: its value is the YAML anchor &%s, shared by aliases in the file; an update would change them too, so edit the file by hand",
		e.File, e.Field, e.Anchor)
}

// Unwrap makes the refusal a conflict (409) for API clients.
func (e *AnchorError) Unwrap() error { return ErrConflict }

// spliceChanges returns data with every field whose text differs between
// old and p written as p's value. doc is data's node tree.
func spliceChanges(name string, data []byte, doc *yaml.Node, old, p *Provider) ([]byte, error) {
	root := doc.Content[0]
	if root.Style&yaml.FlowStyle != 0 {
		return nil, errNotSpliceable
	}
	lines := yamlsplice.NewLines(data)
	var edits []yamlsplice.Edit
	var add additions
	for _, f := range Fields {
		if f.Text(old) == f.Text(p) {
			continue
		}
		group, key := splitPath(f.Path)
		k, val := lookup(root, group, key)
		if val == nil {
			if err := add.add(group, key, f, p); err != nil {
				return nil, err
			}
			continue
		}
		if val.Anchor != "" {
			return nil, &AnchorError{File: name, Field: f.Path, Anchor: val.Anchor}
		}
		e, err := replaceValue(lines, k, val, f, p)
		if err != nil {
			return nil, err
		}
		edits = append(edits, e)
	}
	for _, group := range add.groups {
		e, err := insertLines(data, lines, root, group, add.lines[group])
		if err != nil {
			return nil, err
		}
		edits = append(edits, e)
	}
	return yamlsplice.Apply(data, edits), nil
}

// splitPath splits a field path into its group ("" for a top-level field)
// and key: "lic.siptrunks" is "lic", "siptrunks".
func splitPath(path string) (group, key string) {
	group, key, ok := strings.Cut(path, ".")
	if !ok {
		return "", path
	}
	return group, key
}

// additions collects the "key: value" lines of fields the file lacks, per
// group ("" for the top mapping), groups in field order.
type additions struct {
	groups []string
	lines  map[string][]string
}

func (a *additions) add(group, key string, f *Field, p *Provider) error {
	text, err := scalarText(f, p, 0)
	if err != nil {
		return err
	}
	if a.lines == nil {
		a.lines = map[string][]string{}
	}
	if _, seen := a.lines[group]; !seen {
		a.groups = append(a.groups, group)
	}
	a.lines[group] = append(a.lines[group], key+": "+text)
	return nil
}

// replaceValue is the edit that writes f's value of p over the scalar val
// of key (an empty value, "key:", gets the value after the colon).
func replaceValue(lines *yamlsplice.Lines, key, val *yaml.Node, f *Field, p *Provider) (yamlsplice.Edit, error) {
	if val.Kind != yaml.ScalarNode && val.Kind != yaml.AliasNode || key.Style != 0 {
		return yamlsplice.Edit{}, errNotSpliceable
	}
	if val.Tag == "!!null" && val.Value == "" {
		k, ok := lines.Offset(key.Line, key.Column)
		colon := k + len(key.Value)
		if !ok || colon >= len(lines.Data()) || lines.Data()[colon] != ':' {
			return yamlsplice.Edit{}, errNotSpliceable
		}
		text, err := scalarText(f, p, 0)
		return yamlsplice.Edit{Start: colon + 1, End: colon + 1, Text: " " + text}, err
	}
	start, end, err := lines.Scalar(val, false)
	if err != nil {
		return yamlsplice.Edit{}, errNotSpliceable
	}
	style := val.Style
	if val.Kind == yaml.AliasNode {
		style = 0
	}
	text, err := scalarText(f, p, style)
	if err != nil {
		return yamlsplice.Edit{}, err
	}
	return yamlsplice.Edit{Start: start, End: end, Text: text}, nil
}

// scalarText encodes f's value of p as one line of YAML: an integer as
// is, a string plain where YAML reads it back as the same string, else
// quoted (in the style the old value had, when it was quoted).
func scalarText(f *Field, p *Provider, style yaml.Style) (string, error) {
	n := valueNode(f, p)
	if n.Tag == "!!str" && style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		n.Style = style
	}
	out, err := yaml.Marshal(n)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", f.Path, err)
	}
	text := strings.TrimSuffix(string(out), "\n")
	if strings.ContainsAny(text, "\n") {
		return "", errNotSpliceable
	}
	return text, nil
}

// insertLines is the edit that adds "key: value" lines at the end of the
// group's block mapping (the top one for group ""), or a new group at the
// end of the file.
func insertLines(data []byte, at *yamlsplice.Lines, root *yaml.Node, group string, lines []string) (yamlsplice.Edit, error) {
	end := len(data)
	prefix := ""
	if len(data) > 0 && data[len(data)-1] != '\n' {
		prefix = "\n"
	}
	indent := ""
	if len(root.Content) > 0 {
		indent = strings.Repeat(" ", root.Content[0].Column-1)
	}
	if group != "" {
		g := child(root, group)
		switch {
		case g == nil:
			lines = append([]string{group + ":"}, indentAll(lines, "  ")...)
			lines = indentAll(lines, indent)
		case g.Kind != yaml.MappingNode || g.Style&yaml.FlowStyle != 0 || len(g.Content) == 0:
			return yamlsplice.Edit{}, errNotSpliceable
		default:
			lines = indentAll(lines, strings.Repeat(" ", g.Content[0].Column-1))
			if next, ok := at.Start(lastLine(g) + 1); ok {
				end, prefix = next, ""
			}
		}
	} else {
		lines = indentAll(lines, indent)
	}
	text := prefix + strings.Join(lines, "\n") + "\n"
	return yamlsplice.Edit{Start: end, End: end, Text: text}, nil
}

func indentAll(lines []string, indent string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = indent + l
	}
	return out
}

// lastLine is the highest line number of any node below n.
func lastLine(n *yaml.Node) int {
	last := n.Line
	for _, c := range n.Content {
		last = max(last, lastLine(c))
	}
	return last
}

// editFile returns the new content of a provider file whose provider was
// base and is to be p, and that content parsed back. It splices the changed
// values into data and, when a value cannot be located, re-encodes the
// edited node tree. Either result must read back as exactly p (with the id
// unwritten when base kept it unwritten); a result that does not is never
// returned.
func editFile(name string, data []byte, doc *yaml.Node, base, p *Provider) ([]byte, *parsed, error) {
	out, err := spliceChanges(name, data, doc, base, p)
	if err == nil {
		if pr, verr := verifyWrite(name, out, p); verr == nil {
			return out, pr, nil
		}
	} else if !errors.Is(err, errNotSpliceable) {
		return nil, nil, err
	}
	editDoc(doc, base, p)
	if out, err = encodeDoc(doc); err != nil {
		return nil, nil, err
	}
	pr, err := verifyWrite(name, out, p)
	return out, pr, err
}

// ErrUnsafeWrite refuses a write whose file would not read back as the
// intended provider; the file is left as it was.
var ErrUnsafeWrite = errors.New("the file would not read back as the intended provider")

// verifyWrite parses data as the daemon will and checks that it holds
// exactly p: every field, and the id (written, or derived from the code).
func verifyWrite(name string, data []byte, p *Provider) (*parsed, error) {
	pr, probs := parse(name, data)
	if len(probs) > 0 {
		return nil, fmt.Errorf("%w: %s: %w: %v; edit the file by hand", ErrConflict, name, ErrUnsafeWrite, probs[0])
	}
	got := pr.p
	if got.ID == "" {
		got.ID = DeriveID(got.Code)
	}
	for _, f := range Fields {
		if f.Text(&got) != f.Text(p) {
			return nil, fmt.Errorf("%w: %s: %w (%s would change); edit the file by hand", ErrConflict, name, ErrUnsafeWrite, f.Path)
		}
	}
	return pr, nil
}
