package registry

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// newFileComment heads every file the store creates.
const newFileComment = "Created through the trunkd API. Edit freely: comments and key order are kept on API updates."

// encodeNew renders a provider as a new YAML file, keys in the seed's order.
func encodeNew(p *Provider) ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode, HeadComment: newFileComment}
	for _, f := range Fields {
		setNode(root, f, p)
	}
	return encodeDoc(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}})
}

func encodeDoc(doc *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode provider YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode provider YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// editDoc sets, in the file's node tree, every field whose value differs
// between old and p. Comments, key order and untouched values stay.
func editDoc(doc *yaml.Node, old, p *Provider) {
	root := doc.Content[0]
	for _, f := range Fields {
		if f.Text(old) != f.Text(p) {
			setNode(root, f, p)
		}
	}
}

// setNode writes field f of p into the mapping root, adding the key (and
// its group mapping) at the end when absent.
func setNode(root *yaml.Node, f *Field, p *Provider) {
	m := root
	key := f.Path
	if group, leaf, ok := strings.Cut(f.Path, "."); ok {
		m = childMapping(root, group)
		key = leaf
	}
	val := valueNode(f, p)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			old := m.Content[i+1]
			val.HeadComment, val.LineComment, val.FootComment = old.HeadComment, old.LineComment, old.FootComment
			if old.Kind == yaml.ScalarNode && val.Tag == "!!str" && old.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
				val.Style = old.Style
			}
			m.Content[i+1] = val
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val)
}

func childMapping(root *yaml.Node, group string) *yaml.Node {
	if v := child(root, group); v != nil {
		if v.Kind != yaml.MappingNode { // "lic:" with a null value
			*v = yaml.Node{Kind: yaml.MappingNode, LineComment: v.LineComment}
		}
		return v
	}
	v := &yaml.Node{Kind: yaml.MappingNode}
	root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: group}, v)
	return v
}

// lookup finds the key and value nodes of key in the top mapping (group
// "") or in the group's mapping; nil when absent.
func lookup(root *yaml.Node, group, key string) (*yaml.Node, *yaml.Node) {
	m := root
	if group != "" {
		m = child(root, group)
		if m == nil || m.Kind != yaml.MappingNode {
			return nil, nil
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func child(m *yaml.Node, key string) *yaml.Node {
	_, v := lookup(m, "", key)
	return v
}

func valueNode(f *Field, p *Provider) *yaml.Node {
	if f.Kind == KindInt {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: f.Text(p)}
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.Text(p)}
	if n.Value == "" {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}
