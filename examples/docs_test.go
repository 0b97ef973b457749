package examples

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/trunkd/trunkd/registry/gitstore"
	"github.com/trunkd/trunkd/registry/sops"
	"github.com/trunkd/trunkd/render"
	"github.com/trunkd/trunkd/sipcheck"
)

// documentedKeys returns the keys named in the first column of the tables
// of a Markdown document: "| `key` | ...".
func documentedKeys(t *testing.T, path string) map[string]bool {
	t.Helper()
	re := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|")
	out := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(string(readFile(t, path)), -1) {
		out[m[1]] = true
	}
	return out
}

// TestMetricsDocumented checks docs/metrics.md against the metrics the
// daemon exports (DESIGN.md §7 and the Go sources), in both directions.
func TestMetricsDocumented(t *testing.T) {
	path := filepath.Join(repoRoot, "docs", "metrics.md")
	doc := documentedKeys(t, path)
	known := knownMetrics(t)
	for m := range known {
		if !doc[m] {
			t.Errorf("metric %s is not documented in docs/metrics.md", m)
		}
	}
	for m := range doc {
		if !known[m] {
			t.Errorf("docs/metrics.md documents %s, which trunkd does not export", m)
		}
	}
	for _, n := range metricToken.FindAllString(string(readFile(t, path)), -1) {
		if !known[metricBase(n, known)] {
			t.Errorf("docs/metrics.md mentions unknown metric %s", n)
		}
	}
}

// TestConfigurationDocumented checks docs/configuration.md against the
// config structs (cmd/trunkd/config.go read with go/parser, render.Config
// and sipcheck.Config by reflection), in both directions.
func TestConfigurationDocumented(t *testing.T) {
	keys := configKeys(t)
	if len(keys) < 20 {
		t.Fatalf("found only %d config keys: %v", len(keys), keys)
	}
	doc := documentedKeys(t, filepath.Join(repoRoot, "docs", "configuration.md"))
	for _, k := range keys {
		if !doc[k] {
			t.Errorf("config key %s is not documented in docs/configuration.md", k)
		}
	}
	have := map[string]bool{}
	for _, k := range keys {
		have[k] = true
	}
	for k := range doc {
		if !have[k] {
			t.Errorf("docs/configuration.md documents %s, which is not a config key", k)
		}
	}
}

// configKeys lists every key of the config file as a dotted path; list
// elements are written "targets[]". A section becomes a key of its own
// only when it is a list (render.targets).
func configKeys(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(repoRoot, "cmd", "trunkd", "config.go"), nil, 0)
	if err != nil {
		t.Fatalf("parse cmd/trunkd/config.go: %v", err)
	}
	structs := map[string]*ast.StructType{}
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok {
			if st, ok := ts.Type.(*ast.StructType); ok {
				structs[ts.Name.Name] = st
			}
		}
		return true
	})
	root, ok := structs["config"]
	if !ok {
		t.Fatal("cmd/trunkd/config.go has no config struct")
	}
	external := map[string]reflect.Type{
		"render.Config":   reflect.TypeOf(render.Config{}),
		"sipcheck.Config": reflect.TypeOf(sipcheck.Config{}),
		"sops.Config":     reflect.TypeOf(sops.Config{}),
		"gitstore.Config": reflect.TypeOf(gitstore.Config{}),
	}
	var keys []string
	var walkAST func(prefix string, st *ast.StructType)
	walkAST = func(prefix string, st *ast.StructType) {
		for _, fld := range st.Fields.List {
			if fld.Tag == nil {
				continue
			}
			tag := reflect.StructTag(strings.Trim(fld.Tag.Value, "`"))
			name := yamlName(tag)
			ty := fld.Type
			if star, ok := ty.(*ast.StarExpr); ok {
				ty = star.X // an optional section (git)
			}
			if sel, ok := ty.(*ast.SelectorExpr); ok && strings.Contains(tag.Get("yaml"), "inline") {
				keys = append(keys, reflectKeys(prefix, external[sel.X.(*ast.Ident).Name+"."+sel.Sel.Name])...)
				continue
			}
			if name == "" {
				continue
			}
			key := prefix + name
			switch ty := ty.(type) {
			case *ast.Ident:
				if sub, ok := structs[ty.Name]; ok {
					walkAST(key+".", sub)
					continue
				}
			case *ast.SelectorExpr:
				if rt, ok := external[ty.X.(*ast.Ident).Name+"."+ty.Sel.Name]; ok {
					keys = append(keys, reflectKeys(key+".", rt)...)
					continue
				}
			}
			keys = append(keys, key)
		}
	}
	walkAST("", root)
	sort.Strings(keys)
	return keys
}

// reflectKeys lists the yaml keys of a struct type.
func reflectKeys(prefix string, rt reflect.Type) []string {
	var keys []string
	for i := range rt.NumField() {
		f := rt.Field(i)
		name := yamlName(f.Tag)
		if name == "" || !f.IsExported() {
			continue
		}
		ft := f.Type
		switch {
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			keys = append(keys, prefix+name)
			keys = append(keys, reflectKeys(prefix+name+"[].", ft.Elem())...)
		case ft.Kind() == reflect.Struct && ft.String() != "time.Time":
			keys = append(keys, reflectKeys(prefix+name+".", ft)...)
		default:
			keys = append(keys, prefix+name)
		}
	}
	return keys
}

func yamlName(tag reflect.StructTag) string {
	name, _, _ := strings.Cut(tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// TestExampleConfigsUseKnownKeys checks that the example config files and
// the example in docs/configuration.md use only keys the daemon knows (it
// rejects unknown keys at start).
func TestExampleConfigsUseKnownKeys(t *testing.T) {
	known := map[string]bool{}
	for _, k := range configKeys(t) {
		known[k] = true
	}
	docText := string(readFile(t, filepath.Join(repoRoot, "docs", "configuration.md")))
	_, rest, _ := strings.Cut(docText, "```yaml\n")
	docExample, _, _ := strings.Cut(rest, "```")
	sources := map[string][]byte{
		"trunkd.yaml":            readFile(t, "trunkd.yaml"),
		"kubernetes/trunkd.yaml": readFile(t, filepath.Join("kubernetes", "trunkd.yaml")),
		"docs/configuration.md":  []byte(docExample),
	}
	for name, data := range sources {
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		used := flattenKeys("", doc)
		if len(used) < 3 {
			t.Errorf("%s: only %d keys found", name, len(used))
		}
		for _, k := range used {
			if !known[k] {
				t.Errorf("%s: unknown config key %s", name, k)
			}
		}
	}
}

// flattenKeys lists the dotted keys of a decoded YAML mapping; the
// elements of a list of mappings contribute "key[].sub" keys.
func flattenKeys(prefix string, m map[string]any) []string {
	var out []string
	for k, v := range m {
		key := prefix + k
		switch v := v.(type) {
		case map[string]any:
			if key == "render.targets[].vars" {
				out = append(out, key)
				continue
			}
			out = append(out, flattenKeys(key+".", v)...)
		case []any:
			out = append(out, key)
			for _, e := range v {
				if em, ok := e.(map[string]any); ok {
					out = append(out, flattenKeys(key+"[].", em)...)
				}
			}
		default:
			out = append(out, key)
		}
	}
	return out
}
