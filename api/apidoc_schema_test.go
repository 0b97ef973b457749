package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// schemaAnchor is the HTML id of a schema's section in the reference.
func schemaAnchor(name string) string { return "schema-" + strings.ToLower(name) }

// schemaType names a schema's type in Markdown, linking named schemas.
func (d *apiDoc) schemaType(s *jobj) string {
	if s == nil {
		return "any"
	}
	if s.has("$ref") {
		_, name := d.resolve(s)
		return fmt.Sprintf("[%s](#%s)", name, schemaAnchor(name))
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if l := s.list(k); len(l) > 0 {
			var alts []string
			for _, it := range l {
				it, _ := it.(*jobj)
				alts = append(alts, d.schemaType(it))
			}
			return strings.Join(alts, map[string]string{"anyOf": " or ", "oneOf": " or ", "allOf": " and "}[k])
		}
	}
	switch t := s.vals["type"].(type) {
	case string:
		if t == "array" {
			return "array of " + d.schemaType(s.obj("items"))
		}
		if props := s.obj("properties"); t == "object" && props != nil {
			return "object with " + codeList(props.keys)
		}
		return t
	case []any:
		var names []string
		for _, n := range t {
			names = append(names, fmt.Sprint(n))
		}
		return strings.Join(names, " or ")
	}
	return "any"
}

// schemaRules lists a schema's constraints: enum, bounds, pattern, default.
func (d *apiDoc) schemaRules(s *jobj) string {
	if s == nil {
		return ""
	}
	var rules []string
	if enum := s.list("enum"); len(enum) > 0 {
		var vals []string
		for _, v := range enum {
			vals = append(vals, "`"+encodeOrdered(v)+"`")
		}
		rules = append(rules, "one of "+strings.Join(vals, ", "))
	}
	if s.has("const") {
		rules = append(rules, "always `"+encodeOrdered(s.vals["const"])+"`")
	}
	rules = appendBounds(rules, s, "minimum", "maximum", "")
	rules = appendBounds(rules, s, "minLength", "maxLength", " characters")
	if p := s.str("pattern"); p != "" {
		rules = append(rules, "matches `"+p+"`")
	}
	if f := s.str("format"); f != "" {
		rules = append(rules, "format "+f)
	}
	if s.has("default") {
		rules = append(rules, "default `"+encodeOrdered(s.vals["default"])+"`")
	}
	if ro, _ := s.vals["readOnly"].(bool); ro {
		rules = append(rules, "read-only")
	}
	return strings.Join(rules, "; ")
}

func appendBounds(rules []string, s *jobj, lo, hi, unit string) []string {
	min, hasMin := s.vals[lo].(json.Number)
	max, hasMax := s.vals[hi].(json.Number)
	switch {
	case hasMin && hasMax:
		return append(rules, fmt.Sprintf("%s to %s%s", min, max, unit))
	case hasMin:
		if min == "1" {
			unit = strings.TrimSuffix(unit, "s")
		}
		return append(rules, fmt.Sprintf("at least %s%s", min, unit))
	case hasMax:
		return append(rules, fmt.Sprintf("at most %s%s", max, unit))
	}
	return rules
}

// schemas describes every component schema. An object schema that shares
// most of its fields (identically) with an earlier one is described as a
// change of it, so that the provider's fields are explained once.
func (d *apiDoc) schemas() []*docSchema {
	comps := d.root.obj("components").obj("schemas")
	var out []*docSchema
	for _, name := range comps.keys {
		s := comps.obj(name)
		ds := &docSchema{Name: name, Description: s.str("description"), Rules: d.schemaRules(s)}
		for _, r := range s.list("required") {
			ds.Required = append(ds.Required, fmt.Sprint(r))
		}
		if ap, ok := s.vals["additionalProperties"].(bool); ok && !ap {
			ds.Closed = true
		}
		if s.has("example") {
			ds.Example = indentOrdered(s.vals["example"])
		}
		switch {
		case s.obj("properties") != nil:
			d.describeFields(ds, s, comps, out)
		case s.list("allOf") != nil:
			for _, it := range s.list("allOf") {
				it, _ := it.(*jobj)
				ds.AllOf = append(ds.AllOf, d.schemaType(it))
			}
		default:
			ds.Type = d.schemaType(s)
		}
		out = append(out, ds)
	}
	return out
}

// describeFields fills ds.Fields: every property, or, when an earlier
// schema shares most of them, the base, the fields it lacks and only the
// added or changed ones.
func (d *apiDoc) describeFields(ds *docSchema, s, comps *jobj, earlier []*docSchema) {
	props := s.obj("properties")
	var base *jobj
	best, bestMissing := 0, 0
	for _, e := range earlier {
		ep := comps.obj(e.Name).obj("properties")
		if ep == nil {
			continue
		}
		shared := 0
		for _, k := range props.keys {
			if ep.has(k) && encodeOrdered(ep.vals[k]) == encodeOrdered(props.vals[k]) {
				shared++
			}
		}
		missing := len(ep.keys) - shared
		if shared > best || shared == best && missing < bestMissing {
			best, bestMissing, base, ds.Base = shared, missing, ep, e.Name
		}
	}
	if best < 3 || best*3 < len(props.keys)*2 {
		base, ds.Base = nil, ""
	}
	for _, k := range base.keysOrNil() {
		if !props.has(k) {
			ds.Without = append(ds.Without, k)
		}
	}
	for _, k := range props.keys {
		p := props.obj(k)
		if base != nil && base.has(k) && encodeOrdered(base.vals[k]) == encodeOrdered(p) {
			continue
		}
		ds.Fields = append(ds.Fields, d.field(k, p))
	}
}

func (o *jobj) keysOrNil() []string {
	if o == nil {
		return nil
	}
	return o.keys
}

func (d *apiDoc) field(name string, p *jobj) docField {
	f := docField{Name: name, Type: d.schemaType(p), Rules: d.schemaRules(p), Description: p.str("description")}
	if f.Description == "" && p.has("$ref") {
		target, _ := d.resolve(p)
		f.Description = target.str("description")
	}
	if ex := p.list("examples"); len(ex) > 0 {
		f.Description = strings.TrimSpace(f.Description + " Example: `" + encodeOrdered(ex[0]) + "`.")
	}
	return f
}

// indentOrdered is v as JSON indented by two spaces, keys in order.
func indentOrdered(v any) string {
	var out bytes.Buffer
	if err := json.Indent(&out, []byte(encodeOrdered(v)), "", "  "); err != nil {
		return encodeOrdered(v)
	}
	return out.String()
}
