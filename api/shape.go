package api

import (
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// shape is the set of leaf fields a response outputs, in the entity's
// field order (the seed's order), whatever order a mask named them in.
type shape struct {
	fields []*registry.Field
}

// shapeOf selects the leaves for which keep is true.
func shapeOf(keep func(path string) bool) shape {
	var sh shape
	for _, f := range registry.Fields {
		if keep(f.Path) {
			sh.fields = append(sh.fields, f)
		}
	}
	return sh
}

// The fixed shapes: the list's (the seed's "available fields for output":
// no pwd, no opts.comment), the admin's full entity and everyone else's.
var (
	shapeList     = shapeOf(func(p string) bool { return p != "pwd" && p != "opts.comment" })
	shapeFull     = shapeOf(func(string) bool { return true })
	shapeRedacted = shapeOf(func(p string) bool { return p != "pwd" })
)

// has reports whether the shape outputs the field.
func (sh shape) has(path string) bool {
	for _, f := range sh.fields {
		if f.Path == path {
			return true
		}
	}
	return false
}

// appendEntity appends p as a JSON object laid out exactly as
// json.MarshalIndent(v, prefix, "  ") lays it out (the seed's layout).
// flat writes composite fields as dotted keys ("lic.siptrunks": 5).
func appendEntity(b []byte, p *registry.Provider, sh shape, flat bool, prefix string) []byte {
	if len(sh.fields) == 0 {
		return append(b, "{}"...)
	}
	b = append(b, '{')
	for fs := sh.fields; len(fs) > 0; {
		if len(fs) < len(sh.fields) {
			b = append(b, ',')
		}
		group, n := nextMember(fs, flat)
		if group == "" {
			b = appendKey(b, prefix, "  ", fs[0].Path)
			b = appendValue(b, fs[0], p)
		} else {
			b = appendGroup(b, p, fs[:n], group, prefix)
		}
		fs = fs[n:]
	}
	return appendClose(b, prefix, "")
}

// nextMember returns the composite field fs starts with ("" for a
// top-level field, and always when flat) and how many of fs it spans.
func nextMember(fs []*registry.Field, flat bool) (group string, n int) {
	group, _, nested := strings.Cut(fs[0].Path, ".")
	if flat || !nested {
		return "", 1
	}
	for n = 1; n < len(fs); n++ {
		if g, _, _ := strings.Cut(fs[n].Path, "."); g != group {
			break
		}
	}
	return group, n
}

// appendGroup appends the member group, an object of the leaves fs.
func appendGroup(b []byte, p *registry.Provider, fs []*registry.Field, group, prefix string) []byte {
	b = appendKey(b, prefix, "  ", group)
	b = append(b, '{')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		_, leaf, _ := strings.Cut(f.Path, ".")
		b = appendKey(b, prefix, "    ", leaf)
		b = appendValue(b, f, p)
	}
	return appendClose(b, prefix, "  ")
}

// appendKey starts a member on a new line: indentation, key and colon.
func appendKey(b []byte, prefix, indent, key string) []byte {
	b = append(b, '\n')
	b = append(b, prefix...)
	b = append(b, indent...)
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':', ' ')
}

// appendClose ends an object on a new line at the indentation of its key.
func appendClose(b []byte, prefix, indent string) []byte {
	b = append(b, '\n')
	b = append(b, prefix...)
	b = append(b, indent...)
	return append(b, '}')
}
