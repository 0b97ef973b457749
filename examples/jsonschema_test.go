package examples

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// This file is a small JSON Schema (draft 2020-12) validator for the subset
// of keywords provider.schema.json uses: type, enum, const, minimum,
// maximum, minLength, maxLength, pattern, required, properties,
// additionalProperties (false) and anyOf. Annotations ($schema, $id, title,
// description, default, format) are ignored. A keyword outside the subset is
// an error, so the schema cannot grow past what the test checks.
//
// Instances are YAML-decoded values (map[string]any, string, int, float64,
// bool, nil). A float is a "number", never an "integer", as in trunkd,
// which rejects 1.0 for an integer field.

type schemaNode = map[string]any

var annotationKeywords = map[string]bool{
	"$schema": true, "$id": true, "title": true, "description": true, "default": true, "format": true,
}

// loadSchema reads a schema file; numbers stay json.Number.
func loadSchema(t *testing.T, path string) schemaNode {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.UseNumber()
	var s schemaNode
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

// validate returns the violations of v against schema s; path names the
// instance location ("" is the root, "lic.siptrunks" a nested field).
func validate(s schemaNode, v any, path string) []string {
	var errs []string
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Sprintf("%s: %s", orRoot(path), fmt.Sprintf(format, args...)))
	}
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kw := s[k]
		switch k {
		case "type":
			if !typeMatches(kw, v) {
				fail("type %s, want %v", jsonType(v), kw)
				return errs // the other keywords assume the type
			}
		case "enum":
			if !inList(kw.([]any), v) {
				fail("%v is not one of %v", v, kw)
			}
		case "const":
			if !sameValue(kw, v) {
				fail("%v is not %v", v, kw)
			}
		case "minimum", "maximum":
			if n, ok := number(v); ok {
				lim, _ := number(kw)
				if k == "minimum" && n < lim || k == "maximum" && n > lim {
					fail("%v is out of %s %v", v, k, lim)
				}
			}
		case "minLength", "maxLength":
			if str, ok := v.(string); ok {
				lim, _ := number(kw)
				n := float64(utf8.RuneCountInString(str))
				if k == "minLength" && n < lim || k == "maxLength" && n > lim {
					fail("length %v is out of %s %v", n, k, lim)
				}
			}
		case "pattern":
			if str, ok := v.(string); ok && !regexp.MustCompile(kw.(string)).MatchString(str) {
				fail("%q does not match the pattern", str)
			}
		case "required":
			if m, ok := v.(map[string]any); ok {
				for _, r := range kw.([]any) {
					if _, has := m[r.(string)]; !has {
						fail("%s is required", r)
					}
				}
			}
		case "properties":
			errs = append(errs, validateProperties(s, v, path)...)
		case "additionalProperties":
			if kw != false {
				fail("schema: only additionalProperties: false is supported")
			}
		case "anyOf":
			if !anyOfMatches(kw.([]any), v, path) {
				fail("%v matches none of anyOf", v)
			}
		default:
			if !annotationKeywords[k] {
				fail("schema: keyword %s is not supported by the test validator", k)
			}
		}
	}
	return errs
}

func validateProperties(s schemaNode, v any, path string) []string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	props := s["properties"].(map[string]any)
	var errs []string
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		sub, known := props[k]
		switch {
		case known:
			errs = append(errs, validate(sub.(schemaNode), m[k], join(path, k))...)
		case s["additionalProperties"] == false:
			errs = append(errs, fmt.Sprintf("%s: unknown property", join(path, k)))
		}
	}
	return errs
}

func anyOfMatches(options []any, v any, path string) bool {
	for _, o := range options {
		if len(validate(o.(schemaNode), v, path)) == 0 {
			return true
		}
	}
	return false
}

func typeMatches(kw, v any) bool {
	switch want := kw.(type) {
	case string:
		return want == jsonType(v) || want == "number" && jsonType(v) == "integer"
	case []any:
		for _, w := range want {
			if typeMatches(w, v) {
				return true
			}
		}
	}
	return false
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int, int64, uint64:
		return "integer"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// number returns a numeric value of an instance or of a json.Number.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return math.NaN(), false
}

func sameValue(a, b any) bool {
	na, aNum := number(a)
	nb, bNum := number(b)
	if aNum || bNum {
		return aNum && bNum && na == nb && jsonType(normalize(a)) == jsonType(normalize(b))
	}
	return a == b
}

// normalize turns a json.Number into int or float64 for type comparison.
func normalize(v any) any {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return int(i)
		}
		f, _ := n.Float64()
		return f
	}
	return v
}

func inList(list []any, v any) bool {
	for _, e := range list {
		if sameValue(e, v) {
			return true
		}
	}
	return false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "(document)"
	}
	return path
}

func TestJSONSchemaValidator(t *testing.T) {
	s := schemaNode{
		"type": "object", "required": []any{"a"}, "additionalProperties": false,
		"properties": map[string]any{
			"a": schemaNode{"type": []any{"integer", "null"}, "anyOf": []any{
				schemaNode{"const": json.Number("0")}, schemaNode{"minimum": json.Number("60"), "maximum": json.Number("90")}}},
			"b": schemaNode{"type": "string", "enum": []any{"x", "y"}, "pattern": "^[xy]$", "maxLength": json.Number("1")},
		},
	}
	for _, tc := range []struct {
		doc  map[string]any
		errs int
	}{
		{map[string]any{"a": 0}, 0},
		{map[string]any{"a": 60, "b": "y"}, 0},
		{map[string]any{"a": nil}, 0},
		{map[string]any{"a": 30}, 1},
		{map[string]any{"a": 61.0}, 1},
		{map[string]any{"a": 70, "b": "z"}, 2},
		{map[string]any{"b": "x"}, 1},
		{map[string]any{"a": 0, "c": 1}, 1},
		{map[string]any{"a": "0"}, 1},
	} {
		if errs := validate(s, tc.doc, ""); len(errs) != tc.errs {
			t.Errorf("validate(%v) = %q, want %d errors", tc.doc, errs, tc.errs)
		}
	}
	if errs := validate(schemaNode{"oneOf": []any{}}, 1, ""); len(errs) != 1 || !strings.Contains(errs[0], "not supported") {
		t.Errorf("unsupported keyword: %q", errs)
	}
}
