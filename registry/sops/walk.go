package sops

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// leaf is a scalar value whose key path matches the encryption rule.
type leaf struct {
	node *yaml.Node
	path string // "pwd:" — the additional data of its encryption
	flow bool   // inside a flow collection
}

// document is a parsed provider file: its root mapping and, when
// present, the sops section's key and value.
type document struct {
	root          *yaml.Node
	sopsKey, sops *yaml.Node
}

// parseDocument parses a YAML file with one mapping at its root.
func parseDocument(name string, data []byte) (*document, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{File: name, Kind: Broken, Msg: err.Error(), Err: err}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &Error{File: name, Kind: Broken, Msg: "not a YAML mapping"}
	}
	d := &document{root: doc.Content[0]}
	for i := 0; i+1 < len(d.root.Content); i += 2 {
		if d.root.Content[i].Value == "sops" {
			d.sopsKey, d.sops = d.root.Content[i], d.root.Content[i+1]
		}
	}
	return d, nil
}

// leaves lists, in document order (the order of the MAC), the scalar
// values the rule encrypts: those with any key on their path matching re,
// as the sops tool decides. Null values are skipped, as sops does.
func (d *document) leaves(re *regexp.Regexp) ([]leaf, error) {
	var out []leaf
	var walk func(n *yaml.Node, path []string, matched, flow bool) error
	walk = func(n *yaml.Node, path []string, matched, flow bool) error {
		flow = flow || n.Style&yaml.FlowStyle != 0
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if n == d.root && k == d.sopsKey {
					continue
				}
				if err := walk(n.Content[i+1], append(path, k.Value), matched || re.MatchString(k.Value), flow); err != nil {
					return err
				}
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				if err := walk(c, path, matched, flow); err != nil {
					return err
				}
			}
		case yaml.AliasNode:
			return fault(Layout, n.Line, "%s: YAML aliases are not supported in encrypted files", strings.Join(path, "."))
		case yaml.ScalarNode:
			if matched && n.ShortTag() != "!!null" {
				out = append(out, leaf{node: n, path: strings.Join(path, ":") + ":", flow: flow})
			}
		}
		return nil
	}
	return out, walk(d.root, nil, false, false)
}

// yamlText is a plaintext value as YAML: strings double-quoted (Go's
// escapes are all valid YAML escapes), other types as they are.
func (v plainValue) yamlText() string {
	if v.typ == "str" {
		return strconv.Quote(v.text)
	}
	return v.text
}
