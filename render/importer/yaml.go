package importer

import (
	"bytes"
	"fmt"
	"maps"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/trunkd/trunkd/registry"
)

// EncodeOptions tune Trunk.YAML.
type EncodeOptions struct {
	// RedactPassword writes pwd as "" with a comment (for --dry-run output
	// on a terminal); the file would then not hold the credential.
	RedactPassword bool
}

// YAML renders the trunk as a provider file: a header saying where it was
// imported from, then every field in the seed's order except ext (the
// daemon keeps it), each guessed value with a comment saying why.
func (t *Trunk) YAML(opts EncodeOptions) ([]byte, error) {
	p := t.Provider
	comments := map[string]string{}
	maps.Copy(comments, t.Comments)
	if opts.RedactPassword && p.Pwd != "" {
		p.Pwd = ""
		comments["pwd"] = fmt.Sprintf("redacted by --dry-run (%d characters in the source)", len([]rune(t.Provider.Pwd)))
	}
	root := &yaml.Node{Kind: yaml.MappingNode, HeadComment: t.header()}
	groups := map[string]*yaml.Node{}
	for _, f := range registry.Fields {
		if strings.HasPrefix(f.Path, "ext.") {
			continue
		}
		m, key := root, f.Path
		if group, leaf, ok := strings.Cut(f.Path, "."); ok {
			if groups[group] == nil {
				groups[group] = &yaml.Node{Kind: yaml.MappingNode}
				root.Content = append(root.Content, scalar("!!str", group), groups[group])
			}
			m, key = groups[group], leaf
		}
		val := valueNode(f, &p)
		if c := comments[f.Path]; c != "" {
			val.LineComment = "# " + c
		}
		m.Content = append(m.Content, scalar("!!str", key), val)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, fmt.Errorf("encode provider %q: %w", p.Code, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode provider %q: %w", p.Code, err)
	}
	return buf.Bytes(), nil
}

// header is the file's head comment.
func (t *Trunk) header() string {
	lines := []string{"# Imported by `trunkd import --from " + t.Format + "` from:"}
	for _, o := range t.Origin {
		lines = append(lines, "#   "+o)
	}
	lines = append(lines,
		"# A comment on a value means it was not written as such in the source: check it.",
		"# Fields the source cannot carry have trunkd's defaults.")
	return strings.Join(lines, "\n")
}

func valueNode(f *registry.Field, p *registry.Provider) *yaml.Node {
	if f.Kind == registry.KindInt {
		return scalar("!!int", f.Text(p))
	}
	n := scalar("!!str", f.Text(p))
	if n.Value == "" {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}
