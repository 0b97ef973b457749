package examples

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
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
		extra := slices.DeleteFunc(slices.Clone(types), func(ty string) bool {
			return ty == want || ty == "null" || f.Kind == registry.KindString && ty == "integer" // login: 3528769
		})
		if !slices.Contains(types, want) || len(extra) > 0 {
			t.Errorf("field %s: schema type %v, want %s (optionally with null, and integer for text)", f.Path, types, want)
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
	s := schemaValidators(t, schemaPath)
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
		for _, e := range validate(t, s, doc) {
			t.Errorf("%s: schema: %s", f, e)
		}
	}
}

// schemaProbe is one field value tried on both the schema and registry.Parse.
type schemaProbe struct{ field, value string }

// schemaProbes cover every field with values both must accept and values
// both must refuse, among them every disagreement issue 9 measured with
// real validators (jv, ajv, the YAML language server).
var schemaProbes = []schemaProbe{
	{"id", `""`}, {"id", "c581b67c-016c-d219-b121-50e54938780c"}, {"id", "not-a-uuid"},
	{"id", "c581b67c016cd219b12150e54938780c"}, {"id", "C581B67C-016C-D219-B121-50E54938780C"}, {"id", "12345"},
	{"code", `"3528769"`}, {"code", "Oktell"}, {"code", `""`}, {"code", "a/b"},
	{"code", `'a\b'`}, {"code", `"tab\there"`}, {"code", strings.Repeat("x", 64)},
	{"code", strings.Repeat("x", 65)}, {"code", strings.Repeat("я", 64)}, {"code", "3528770"},
	{"code", `"a b"`}, {"code", `"Oktell "`}, {"code", `" "`}, {"code", `"a\u00a0b"`}, {"code", `"a\u200bb"`},
	{"code", "a.b_c+d-e"}, {"code", "-5"}, {"code", "_x"}, {"code", "0x1F"}, {"code", "true"}, {"code", "1.5"},
	{"enabled", "0"}, {"enabled", "1"}, {"enabled", "2"}, {"enabled", "true"},
	{"enabled", `"1"`}, {"enabled", "1.0"}, {"enabled", "~"}, {"enabled", "1.5"},
	{"username", "alice"}, {"username", `"line\nbreak"`}, {"username", "1001"}, {"username", `"a b"`},
	{"username", `"a\tb"`}, {"username", `"%41b"`}, {"username", `"a@b"`}, {"username", "true"},
	{"login", `""`}, {"login", "3528769"}, {"login", `"1001@sip.example"`}, {"login", `'a"b'`},
	{"pwd", `"p@ss:w;rd<&>"`}, {"pwd", `"nul\0"`}, {"pwd", ""}, {"pwd", "123456"}, {"pwd", `"a\eb"`},
	{"pwd", `"a${b}"`}, {"pwd", `"a$b{c}"`}, {"pwd", `"secret "`}, {"pwd", `"\u00a0secret"`}, {"pwd", `">arrow"`},
	{"pwd", `"a\x7fb"`}, {"pwd", `"a\u0085b"`}, {"pwd", `"a\u2028b"`}, {"pwd", "1.5"},
	{"domain", "sip.example.com"}, {"domain", "198.51.100.20"}, {"domain", `"2001:db8::1"`},
	{"domain", "sip.example.com."}, {"domain", "bad host"}, {"domain", "-bad.example"},
	{"domain", `""`}, {"domain", "a..b"}, {"domain", strings.Repeat("a", 64) + ".example"}, {"domain", `"1:2"`},
	{"domain", `"::ffff:192.0.2.1"`}, {"domain", `"fe80::1%eth0"`}, {"domain", `"fe80::1%"`}, {"domain", `"1::2::3"`},
	{"domain", `"1:2:3:4:5:6:7:8:9"`}, {"domain", `"::"`}, {"domain", `"1:2:3:4:5:6:7::"`}, {"domain", "1234"},
	{"domain", `"[2001:db8::1]"`}, {"domain", `"a_b.example"`},
	{"proxyaddr", `""`}, {"proxyaddr", "sbc.example"}, {"proxyaddr", "sbc example"}, {"proxyaddr", `"1:2"`},
	{"proxyport", "0"}, {"proxyport", "65535"}, {"proxyport", "65536"},
	{"proxyport", "-1"}, {"proxyport", "5060.5"}, {"proxyport", `"5060"`}, {"proxyport", "5060.0"},
	{"transport", "udp"}, {"transport", "tcp"}, {"transport", "tls"},
	{"transport", "sctp"}, {"transport", "UDP"},
	{"alternative_proxies", `""`}, {"alternative_proxies", `"tcp:1.2.3.4:5060, udp:[2001:db8::1]:5080"`},
	{"alternative_proxies", "tcp:1.2.3.4"}, {"alternative_proxies", "sctp:1.2.3.4:5060"},
	{"alternative_proxies", `"tcp:a.example:5060,,udp:b.example:5060"`}, {"alternative_proxies", `"tcp:[a.example]:5060"`},
	{"alternative_proxies", "tcp:a.example:0"}, {"alternative_proxies", "tcp:a.example:65536"},
	{"alternative_proxies", "tcp:a.example:05060"}, {"alternative_proxies", `"tcp:a.example:5060 "`},
	{"extaddrs", `"a.example, 1.2.3.4"`}, {"extaddrs", `"a.example,,b.example"`},
	{"extaddrs", "bad host"}, {"extaddrs", `"2001:db8::1,198.51.100.20"`}, {"extaddrs", `"a.example,"`},
	{"extaddrs", `"a.example\u00a0,\u00a0b.example"`},
	{"serveridx", "11"}, {"serveridx", "-1"}, {"serveridx", "2000000000000"}, {"serveridx", "1099511627776"},
	{"reg", "0"}, {"reg", "3"},
	{"expires", "0"}, {"expires", "60"}, {"expires", "86400"}, {"expires", "30"}, {"expires", "6e2"},
	{"expires", "59"}, {"expires", "86401"}, {"expires", "-60"}, {"expires", "600.5"},
	{"pingmode", "options"}, {"pingmode", "rn"}, {"pingmode", "none"}, {"pingmode", "ping"},
	{"pingsrv", `""`}, {"pingsrv", ""}, {"pingsrv", "sbc.example:5061"},
	{"pingsrv", `"[2001:db8::1]:5060"`}, {"pingsrv", "sbc.example:0"}, {"pingsrv", `"2001:db8::1"`},
	{"pingsrv", "sbc.example:99999"}, {"pingsrv", "bad host"}, {"pingsrv", "sbc.example:sip"},
	{"pingsrv", `"sbc.example:"`}, {"pingsrv", `"[2001:db8::1]:"`}, {"pingsrv", `"sbc.example:+5060"`}, {"pingsrv", `"[sbc.example]"`},
	{"pingtimeout", "1"}, {"pingtimeout", "3600"}, {"pingtimeout", "0"}, {"pingtimeout", "3601"},
	{"localdomain", "pbx.example"}, {"localdomain", "bad/host"},
	{"media", "1"}, {"reinvite", "0"}, {"translit", "1"}, {"translit", "-1"},
	{"lic.siptrunks", "5"}, {"lic.siptrunks", "-5"}, {"lic.siptrunks", "five"},
	{"trunksout", "0"}, {"trunksout", "-1"},
	{"opts.title", "Title"}, {"opts.comment", "note"}, {"opts.title", `"a\rb"`}, {"opts.title", `"a\tb"`},
	{"opts.title", `" spaced "`}, {"opts.title", "true"}, {"opts.comment", "42"},
	{"ext.ct", `"2019-08-27T08:03:14.84Z"`}, {"ext.ct", "yesterday"}, {"ext.lwt", `""`},
	{"ext.lwt", `"2019-08-27T11:03:14+03:00"`},
	{"unknown", "1"}, {"opts.unknown", "x"}, {"lic", "5"}, {"lic", "~"},
	{"opts", "[a, b]"}, {"username", "[a, b]"}, {"domain", "{a: b}"},
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
// field on both the schema and registry.Parse: they must judge alike.
func TestSchemaAgreesWithRegistry(t *testing.T) {
	s := schemaValidators(t, schemaPath)
	covered := map[string]bool{}
	accepted, rejected := 0, 0
	for _, p := range schemaProbes {
		covered[p.field] = true
		if agree(t, s, p.field+": "+p.value, probeDoc(p)) {
			accepted++
		} else {
			rejected++
		}
	}
	if accepted < 50 || rejected < 80 {
		t.Errorf("probes: %d accepted and %d rejected by trunkd; the table should exercise both", accepted, rejected)
	}
	for _, f := range registry.Fields {
		if !covered[f.Path] {
			t.Errorf("field %s has no probe in schemaProbes", f.Path)
		}
	}
	for _, doc := range []string{"code: only\n", "domain: only.example\n", "- a\n- b\n", "just text\n", "{}\n",
		"code: x\ndomain: d.example\nlogin: \"a b\"\n", "code: x\ndomain: d.example\nusername: \"\"\nlogin: \"a@b\"\n",
		"code: x\ndomain: d.example\nusername: u\nlogin: \"a b@c\"\n"} {
		agree(t, s, doc, doc)
	}
}

// TestSchemaAgreesOnFixtures: every provider file of the registry's test
// fixtures and of the examples is judged alike by the schema and trunkd
// (files that are not one YAML mapping are left to trunkd).
func TestSchemaAgreesOnFixtures(t *testing.T) {
	s := schemaValidators(t, schemaPath)
	files, _ := filepath.Glob("../registry/testdata/*.yaml")
	more, _ := filepath.Glob("providers/*.yaml")
	files = append(files, more...)
	if len(files) < 60 {
		t.Fatalf("only %d fixture files", len(files))
	}
	for _, f := range files {
		data := readFile(t, f)
		var inst map[string]any
		if err := yaml.Unmarshal(data, &inst); err != nil || inst == nil || strings.Contains(string(data), "\n---") {
			if _, err := registry.Parse(f, data); err == nil {
				t.Errorf("%s: not one YAML mapping, yet trunkd accepts it", f)
			}
			continue
		}
		agree(t, s, f, string(data))
	}
}

// agree checks that trunkd and the schema judge doc alike and returns
// whether trunkd accepts it.
func agree(t *testing.T, s []*jsonschema.Schema, what, doc string) bool {
	t.Helper()
	_, regErr := registry.Parse("probe.yaml", []byte(doc))
	var inst any
	if err := yaml.Unmarshal([]byte(doc), &inst); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	schemaErrs := validate(t, s, inst)
	if regOK, schemaOK := regErr == nil, len(schemaErrs) == 0; regOK != schemaOK {
		t.Errorf("%s: trunkd ok=%v (%v), schema ok=%v %q", what, regOK, regErr, schemaOK, schemaErrs)
	}
	return regErr == nil
}

// TestSchemaHostsAreIsHost compares the schema's host pattern with
// registry.IsHost over generated strings of the characters that matter.
func TestSchemaHostsAreIsHost(t *testing.T) {
	s := loadSchema(t, schemaPath)
	pattern := s["$defs"].(map[string]any)["host"].(map[string]any)["pattern"].(string)
	re := regexp.MustCompile(pattern)
	ecma, err := ecmaRegexp(pattern)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const chars = "0123456789abcdefAF::::....%%ez-_"
	for i := range 200000 {
		n := rng.IntN(24)
		if i < 40 {
			n = i % 4
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = chars[rng.IntN(len(chars))]
		}
		h := string(b)
		want := registry.IsHost(h)
		if re.MatchString(h) != want || ecma.MatchString(h) != want {
			t.Fatalf("host %q: IsHost %v, Go pattern %v, ECMAScript pattern %v", h, want, re.MatchString(h), ecma.MatchString(h))
		}
	}
}

// TestSchemaExpiresMessage: "expires: 30" must not read "Value must be 0."
// in an editor, which anyOf [const 0, 60-86400] produced.
func TestSchemaExpiresMessage(t *testing.T) {
	e := schemaLeaf(loadSchema(t, schemaPath), "expires")
	if _, bad := e["anyOf"]; bad || e["errorMessage"] == nil {
		t.Errorf("expires: %v; want no anyOf with const and an errorMessage", e)
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
