package main

import (
	"fmt"
	"maps"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// checkKeys walks a config document against the config's Go type and
// returns the first key that names no setting, with its path, line and
// the nearest known key ("did you mean"): yaml.v3's own error for it names
// a Go type ("field timeuot not found in type sipcheck.Config").
func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		return nil // decodes itself
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := checkKeys(c, t, path); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return nil
		}
		for i, c := range n.Content {
			if err := checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		return checkMapping(n, t, path)
	case yaml.ScalarNode:
		return checkScalar(n, t, path)
	}
	return nil
}

// checkScalar refuses a duration that does not parse, naming its key
// (yaml.v3's own error names only the Go type).
func checkScalar(n *yaml.Node, t reflect.Type, path string) error {
	if t != reflect.TypeFor[time.Duration]() || n.Tag == "!!null" {
		return nil
	}
	if _, err := time.ParseDuration(n.Value); err != nil {
		return &keyError{line: n.Line, msg: fmt.Sprintf("%s: want a duration such as 3s or 500ms, got %q", path, n.Value)}
	}
	return nil
}

// checkMapping checks one mapping's keys against struct (or map) type t.
func checkMapping(n *yaml.Node, t reflect.Type, path string) error {
	if t.Kind() == reflect.Map {
		for i := 1; i < len(n.Content); i += 2 {
			if err := checkKeys(n.Content[i], t.Elem(), join(path, n.Content[i-1].Value)); err != nil {
				return err
			}
		}
		return nil
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	fields := yamlFields(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ft, ok := fields[k.Value]
		if !ok {
			return &keyError{line: k.Line, msg: join(path, k.Value) + ": unknown key" + suggest(k.Value, fields)}
		}
		if err := checkKeys(n.Content[i+1], ft, join(path, k.Value)); err != nil {
			return err
		}
	}
	return nil
}

// keyError is a key of the config file that names no setting.
type keyError struct {
	line int
	msg  string // "probe.timeuot: unknown key (did you mean "timeout"?)"
}

func (e *keyError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// yamlFields maps the yaml keys of struct t (inline structs included) to
// their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		switch {
		case name == "-" || !f.IsExported():
		case strings.Contains(opts, "inline"):
			maps.Copy(out, yamlFields(f.Type))
		case name == "":
			out[strings.ToLower(f.Name)] = f.Type
		default:
			out[name] = f.Type
		}
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// suggest names the known key nearest to key, when one is near enough to
// be a typo.
func suggest(key string, known map[string]reflect.Type) string {
	best, bestD := "", len(key)/2+2
	for k := range known {
		if d := editDistance(strings.ToLower(key), k); d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
