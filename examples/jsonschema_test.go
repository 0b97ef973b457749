package examples

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The schema is checked with a maintained JSON Schema (draft 2020-12)
// validator, santhosh-tekuri/jsonschema, compiled twice: with Go's regexp
// and with an ECMAScript regexp engine (dlclark/regexp2), the dialect
// editors' YAML language server uses, so a pattern cannot mean one thing
// in the tests and another in an editor. Both are test-only dependencies.

type schemaNode = map[string]any

// loadSchema reads a schema file as a plain JSON tree (numbers stay
// json.Number) for the structural tests.
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

// schemaValidators compiles the schema with both regexp engines.
func schemaValidators(t *testing.T, path string) []*jsonschema.Schema {
	t.Helper()
	var out []*jsonschema.Schema
	for _, ecma := range []bool{false, true} {
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		if ecma {
			c.UseRegexpEngine(ecmaRegexp)
		}
		s, err := c.Compile(path)
		if err != nil {
			t.Fatalf("compile %s (ECMAScript regexps %v): %v", path, ecma, err)
		}
		out = append(out, s)
	}
	return out
}

// validate judges a YAML-decoded instance with every validator and returns
// the violations; it fails the test when the two engines disagree.
func validate(t *testing.T, vs []*jsonschema.Schema, inst any) []string {
	t.Helper()
	inst = jsonInstance(inst)
	var errs []string
	for i, v := range vs {
		var got []string
		if err := v.Validate(inst); err != nil {
			got = strings.Split(strings.TrimSpace(fmt.Sprintf("%v", err)), "\n")
		}
		if i > 0 && (len(got) == 0) != (len(errs) == 0) {
			t.Errorf("Go and ECMAScript regexps judge %v differently: %q vs %q", inst, errs, got)
		}
		errs = got
	}
	return errs
}

// jsonInstance turns a YAML-decoded value into what the validator expects
// of JSON: map[string]any, []any, string, bool, nil, json.Number.
func jsonInstance(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonInstance(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonInstance(e)
		}
		return out
	case int:
		return json.Number(fmt.Sprint(x))
	case uint64:
		return json.Number(fmt.Sprint(x))
	case float64:
		return json.Number(fmt.Sprint(x))
	case time.Time: // yaml.v3 reads YAML 1.1 timestamps; JSON and YAML 1.2 editors see text
		return x.Format(time.RFC3339Nano)
	}
	return v
}

type ecmaRe regexp2.Regexp

func (re *ecmaRe) MatchString(s string) bool {
	ok, err := (*regexp2.Regexp)(re).MatchString(s)
	return err == nil && ok
}

func (re *ecmaRe) String() string { return (*regexp2.Regexp)(re).String() }

func ecmaRegexp(s string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(s, regexp2.ECMAScript|regexp2.Unicode)
	if err != nil {
		return nil, err
	}
	return (*ecmaRe)(re), nil
}

// normalize turns a json.Number into int or float64 for comparisons.
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
