package examples

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/trunkd/trunkd/registry"
)

const (
	schemaPath   = "schema/provider.schema.json"
	schemaHeader = "# yaml-language-server: $schema=../schema/provider.schema.json"
)

// schemaLeaf returns the schema of a dotted field path, or nil.
func schemaLeaf(s schemaNode, path string) schemaNode {
	node := s
	for _, part := range strings.Split(path, ".") {
		props, _ := node["properties"].(map[string]any)
		next, ok := props[part].(schemaNode)
		if !ok {
			return nil
		}
		node = next
	}
	return node
}

func schemaTypes(n schemaNode) []string {
	switch ty := n["type"].(type) {
	case string:
		return []string{ty}
	case []any:
		out := make([]string, len(ty))
		for i, v := range ty {
			out[i] = v.(string)
		}
		sort.Strings(out)
		return out
	}
	return nil
}

// TestSchemaMatchesRegistryFields checks the schema against registry.Fields
// and registry.Groups in both directions: every field is a property of the
// right JSON type, every property is a field, groups are objects without
// additional properties.
func TestSchemaMatchesRegistryFields(t *testing.T) {
	s := loadSchema(t, schemaPath)
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", s["$schema"])
	}
	if s["additionalProperties"] != false {
		t.Error("top level: additionalProperties must be false")
	}
	if req := fmt.Sprint(s["required"]); req != "[code domain]" {
		t.Errorf("required = %s, want [code domain]", req)
	}
	for _, f := range registry.Fields {
		leaf := schemaLeaf(s, f.Path)
		if leaf == nil {
			t.Errorf("field %s is missing from the schema", f.Path)
			continue
		}
		want := map[registry.Kind]string{registry.KindString: "string", registry.KindInt: "integer", registry.KindTime: "string"}[f.Kind]
		types := schemaTypes(leaf)
		if !slices.Contains(types, want) || len(types) > 2 || len(types) == 2 && !slices.Contains(types, "null") {
			t.Errorf("field %s: schema type %v, want %s (optionally with null)", f.Path, types, want)
		}
	}
	props := s["properties"].(map[string]any)
	for name, sub := range props {
		node := sub.(schemaNode)
		group, isGroup := registry.Groups[name]
		if !isGroup {
			if registry.FieldByPath(name) == nil {
				t.Errorf("schema property %s is not a registry field", name)
			}
			continue
		}
		if !slices.Contains(schemaTypes(node), "object") || node["additionalProperties"] != false {
			t.Errorf("group %s: want an object with additionalProperties false", name)
		}
		inner := node["properties"].(map[string]any)
		var got []string
		for leaf := range inner {
			got = append(got, leaf)
		}
		sort.Strings(got)
		want := slices.Clone(group)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("group %s: schema leaves %v, registry %v", name, got, want)
		}
	}
}

// TestSchemaDefaults checks every default in the schema against
// registry.Default, and that every optional field states its default.
func TestSchemaDefaults(t *testing.T) {
	s := loadSchema(t, schemaPath)
	def := registry.Default()
	noDefault := map[string]bool{"id": true, "code": true, "domain": true, "ext.ct": true, "ext.lwt": true}
	for _, f := range registry.Fields {
		leaf := schemaLeaf(s, f.Path)
		if leaf == nil {
			continue // reported by TestSchemaMatchesRegistryFields
		}
		d, has := leaf["default"]
		if noDefault[f.Path] {
			if has {
				t.Errorf("field %s: has no default in trunkd, schema says %v", f.Path, d)
			}
			continue
		}
		if !has {
			t.Errorf("field %s: schema states no default, trunkd's is %v", f.Path, f.Value(&def))
			continue
		}
		if got, want := fmt.Sprint(normalize(d)), fmt.Sprint(f.Value(&def)); got != want {
			t.Errorf("field %s: schema default %s, registry.Default %s", f.Path, got, want)
		}
	}
}

// TestExampleProvidersValidate checks every example provider file: the
// editor header on the first line, valid for trunkd and for the schema.
func TestExampleProvidersValidate(t *testing.T) {
	s := loadSchema(t, schemaPath)
	files, err := filepath.Glob(filepath.Join("providers", "*.y*ml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example provider files: %v", err)
	}
	for _, f := range files {
		data := readFile(t, f)
		if first, _, _ := strings.Cut(string(data), "\n"); first != schemaHeader {
			t.Errorf("%s: first line %q, want %q", f, first, schemaHeader)
		}
		if _, err := registry.Parse(f, data); err != nil {
			t.Errorf("%s: trunkd rejects it: %v", f, err)
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, e := range validate(s, doc, "") {
			t.Errorf("%s: schema: %s", f, e)
		}
	}
}

// schemaProbe is one field value tried on both the schema and registry.Parse.
type schemaProbe struct {
	field, value string
	// schemaStricter: trunkd accepts the value, the schema (deliberately)
	// does not; see the package doc.
	schemaStricter bool
}

var schemaProbes = []schemaProbe{
	{"id", `""`, false}, {"id", "c581b67c-016c-d219-b121-50e54938780c", false}, {"id", "not-a-uuid", false},
	{"id", "c581b67c016cd219b12150e54938780c", false},
	{"code", `"3528769"`, false}, {"code", "Oktell", false}, {"code", `""`, false}, {"code", "a/b", false},
	{"code", `'a\b'`, false}, {"code", `"tab\there"`, false}, {"code", strings.Repeat("x", 64), false},
	{"code", strings.Repeat("x", 65), false}, {"code", strings.Repeat("я", 64), false}, {"code", "3528769", true},
	{"enabled", "0", false}, {"enabled", "1", false}, {"enabled", "2", false}, {"enabled", "true", false},
	{"enabled", `"1"`, false}, {"enabled", "1.0", false}, {"enabled", "~", false},
	{"username", "alice", false}, {"username", `"line\nbreak"`, false}, {"username", "1001", true},
	{"login", `""`, false}, {"pwd", `"p@ss:w;rd<&>"`, false}, {"pwd", `"nul\0"`, false}, {"pwd", "", false},
	{"domain", "sip.example.com", false}, {"domain", "198.51.100.20", false}, {"domain", `"2001:db8::1"`, false},
	{"domain", "sip.example.com.", false}, {"domain", "bad host", false}, {"domain", "-bad.example", false},
	{"domain", `""`, false}, {"domain", "a..b", false}, {"domain", strings.Repeat("a", 64) + ".example", false},
	{"proxyaddr", `""`, false}, {"proxyaddr", "sbc.example", false}, {"proxyaddr", "sbc example", false},
	{"proxyport", "0", false}, {"proxyport", "65535", false}, {"proxyport", "65536", false},
	{"proxyport", "-1", false}, {"proxyport", "5060.5", false}, {"proxyport", `"5060"`, false},
	{"transport", "udp", false}, {"transport", "tcp", false}, {"transport", "tls", false},
	{"transport", "sctp", false}, {"transport", "UDP", false},
	{"alternative_proxies", `""`, false}, {"alternative_proxies", `"tcp:1.2.3.4:5060, udp:[2001:db8::1]:5080"`, false},
	{"alternative_proxies", "tcp:1.2.3.4", false}, {"alternative_proxies", "sctp:1.2.3.4:5060", false},
	{"alternative_proxies", `"tcp:a.example:5060,,udp:b.example:5060"`, false},
	{"alternative_proxies", "tcp:a.example:0", false}, {"alternative_proxies", "tcp:a.example:65536", false},
	{"extaddrs", `"a.example, 1.2.3.4"`, false}, {"extaddrs", `"a.example,,b.example"`, false},
	{"extaddrs", "bad host", false}, {"extaddrs", `"2001:db8::1,198.51.100.20"`, false},
	{"serveridx", "11", false}, {"serveridx", "-1", false},
	{"reg", "0", false}, {"reg", "3", false},
	{"expires", "0", false}, {"expires", "60", false}, {"expires", "86400", false},
	{"expires", "59", false}, {"expires", "86401", false}, {"expires", "-60", false},
	{"pingmode", "options", false}, {"pingmode", "rn", false}, {"pingmode", "none", false}, {"pingmode", "ping", false},
	{"pingsrv", `""`, false}, {"pingsrv", "", false}, {"pingsrv", "sbc.example:5061", false},
	{"pingsrv", `"[2001:db8::1]:5060"`, false}, {"pingsrv", "sbc.example:0", false},
	{"pingsrv", "sbc.example:99999", false}, {"pingsrv", "bad host", false}, {"pingsrv", "sbc.example:sip", false},
	{"pingtimeout", "1", false}, {"pingtimeout", "3600", false}, {"pingtimeout", "0", false}, {"pingtimeout", "3601", false},
	{"localdomain", "pbx.example", false}, {"localdomain", "bad/host", false},
	{"media", "1", false}, {"reinvite", "0", false}, {"translit", "1", false}, {"translit", "-1", false},
	{"lic.siptrunks", "5", false}, {"lic.siptrunks", "-5", false}, {"lic.siptrunks", "five", false},
	{"trunksout", "0", false}, {"trunksout", "-1", false},
	{"opts.title", "Title", false}, {"opts.comment", "note", false}, {"opts.title", `"a\rb"`, false},
	{"ext.ct", `"2019-08-27T08:03:14.84Z"`, false}, {"ext.ct", "yesterday", false}, {"ext.lwt", `""`, false},
	{"ext.lwt", `"2019-08-27T11:03:14+03:00"`, false},
	{"unknown", "1", false}, {"opts.unknown", "x", false}, {"lic", "5", false}, {"lic", "~", false},
	{"opts", "[a, b]", false}, {"username", "[a, b]", false}, {"domain", "{a: b}", false},
}

// probeDoc builds a provider document around one field value.
func probeDoc(p schemaProbe) string {
	base := map[string]string{"code": "probe", "domain": "probe.example"}
	group, leaf, nested := strings.Cut(p.field, ".")
	var b strings.Builder
	for _, k := range []string{"code", "domain"} {
		if k != p.field {
			fmt.Fprintf(&b, "%s: %s\n", k, base[k])
		}
	}
	if nested {
		fmt.Fprintf(&b, "%s:\n  %s: %s\n", group, leaf, p.value)
	} else {
		fmt.Fprintf(&b, "%s: %s\n", p.field, p.value)
	}
	return b.String()
}

// TestSchemaAgreesWithRegistry tries valid and invalid values of every
// field on both the schema and registry.Parse: they must agree, except
// where the schema is deliberately stricter (marked in the table).
func TestSchemaAgreesWithRegistry(t *testing.T) {
	s := loadSchema(t, schemaPath)
	covered := map[string]bool{}
	accepted, rejected := 0, 0
	for _, p := range schemaProbes {
		covered[p.field] = true
		doc := probeDoc(p)
		_, regErr := registry.Parse("probe.yaml", []byte(doc))
		var inst any
		if err := yaml.Unmarshal([]byte(doc), &inst); err != nil {
			t.Fatalf("probe %s=%s: %v", p.field, p.value, err)
		}
		schemaErrs := validate(s, inst, "")
		regOK, schemaOK := regErr == nil, len(schemaErrs) == 0
		if regOK {
			accepted++
		} else {
			rejected++
		}
		switch {
		case p.schemaStricter && (!regOK || schemaOK):
			t.Errorf("%s: %s: marked schema-stricter, but trunkd ok=%v (%v), schema ok=%v", p.field, p.value, regOK, regErr, schemaOK)
		case !p.schemaStricter && regOK != schemaOK:
			t.Errorf("%s: %s: trunkd ok=%v (%v), schema ok=%v %q", p.field, p.value, regOK, regErr, schemaOK, schemaErrs)
		}
	}
	if accepted < 30 || rejected < 30 {
		t.Errorf("probes: %d accepted and %d rejected by trunkd; the table should exercise both", accepted, rejected)
	}
	for _, f := range registry.Fields {
		if !covered[f.Path] {
			t.Errorf("field %s has no probe in schemaProbes", f.Path)
		}
	}
	for _, doc := range []string{"code: only\n", "domain: only.example\n", "- a\n- b\n", "just text\n", "{}\n"} {
		_, regErr := registry.Parse("probe.yaml", []byte(doc))
		var inst any
		_ = yaml.Unmarshal([]byte(doc), &inst)
		if regErr == nil || len(validate(s, inst, "")) == 0 {
			t.Errorf("document %q: want rejected by both, trunkd err=%v, schema errs=%q", doc, regErr, validate(s, inst, ""))
		}
	}
}

// TestSchemaIsJSON keeps the schema file plain JSON (no comments, no
// trailing commas) so that editors and the YAML language server load it.
func TestSchemaIsJSON(t *testing.T) {
	data, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(data) {
		t.Fatalf("%s is not valid JSON", schemaPath)
	}
}
