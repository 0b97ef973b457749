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
	open, top, inner := "", 0, 0
	for _, f := range sh.fields {
		group, leaf, nested := strings.Cut(f.Path, ".")
		if flat || !nested {
			group, leaf = "", f.Path
		}
		if group != open {
			if open != "" {
				b = closeGroup(b, prefix)
			}
			if group != "" {
				if top > 0 {
					b = append(b, ',')
				}
				b = appendKey(b, prefix, "  ", group)
				b = append(b, '{')
				top, inner = top+1, 0
			}
			open = group
		}
		if open == "" {
			if top > 0 {
				b = append(b, ',')
			}
			b = appendKey(b, prefix, "  ", leaf)
			top++
		} else {
			if inner > 0 {
				b = append(b, ',')
			}
			b = appendKey(b, prefix, "    ", leaf)
			inner++
		}
		b = appendValue(b, f, p)
	}
	if open != "" {
		b = closeGroup(b, prefix)
	}
	b = append(b, '\n')
	b = append(b, prefix...)
	return append(b, '}')
}

func appendKey(b []byte, prefix, indent, key string) []byte {
	b = append(b, '\n')
	b = append(b, prefix...)
	b = append(b, indent...)
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':', ' ')
}

func closeGroup(b []byte, prefix string) []byte {
	b = append(b, '\n')
	b = append(b, prefix...)
	return append(b, ' ', ' ', '}')
}
