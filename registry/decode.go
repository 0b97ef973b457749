package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// parsed is one provider file decoded: the provider with defaults applied,
// the node tree it came from (for comment-preserving edits) and the line of
// every key that was present (a key is present when it has a line).
type parsed struct {
	p     Provider
	doc   *yaml.Node
	lines map[string]int
}

// Parse decodes one provider file: known keys only, defaults for absent
// fields, then validation. name is used in problems (file:line: field: problem).
func Parse(name string, data []byte) (Provider, error) {
	pr, probs := parse(name, data)
	if len(probs) > 0 {
		return Provider{}, probs
	}
	return pr.p, nil
}

func parse(name string, data []byte) (*parsed, Problems) {
	pr, probs := decode(name, data)
	if pr == nil {
		return nil, probs
	}
	pr.p.normalize()
	decoded := make(map[string]bool, len(probs))
	for _, p := range probs {
		decoded[p.Field] = true
	}
	for _, p := range Validate(&pr.p) {
		if decoded[p.Field] {
			continue // a value that did not decode left the default behind
		}
		p.File, p.Line = name, pr.lineOf(p.Field)
		probs = append(probs, p)
	}
	if len(probs) > 0 {
		return nil, capProblems(probs)
	}
	return pr, nil
}

// MaxProblemsPerFile caps the problems reported for one file: a file of
// 10,000 unknown keys must not flood the log and /status.
const MaxProblemsPerFile = 20

// capProblems sorts the problems of one file by line (stable: field order
// within a line) and keeps the first MaxProblemsPerFile, followed by one
// problem that says how many more there are.
func capProblems(probs Problems) Problems {
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
	if len(probs) <= MaxProblemsPerFile {
		return probs
	}
	next := probs[MaxProblemsPerFile]
	more := Problem{File: next.File, Line: next.Line,
		Msg: fmt.Sprintf("and %d more problems in this file, not shown", len(probs)-MaxProblemsPerFile)}
	return append(probs[:MaxProblemsPerFile:MaxProblemsPerFile], more)
}

// idLine is the line of the id key, or of the code key when the id is
// derived from the code.
func (pr *parsed) idLine() int {
	if l, ok := pr.lines["id"]; ok {
		return l
	}
	return pr.lineOf("code")
}

func (pr *parsed) lineOf(field string) int {
	if l, ok := pr.lines[field]; ok {
		return l
	}
	if i := strings.IndexByte(field, '.'); i > 0 {
		if l, ok := pr.lines[field[:i]]; ok {
			return l
		}
	}
	return 1
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func decode(name string, data []byte) (*parsed, Problems) {
	fail := func(line int, field, msg string) (*parsed, Problems) {
		return nil, Problems{{File: name, Line: line, Field: field, Msg: msg}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return fail(1, "", "empty file: a provider needs at least code and domain")
		}
		line, msg := syntaxError(err)
		return fail(line, "", msg)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return fail(max(extra.Line, 1), "", "more than one YAML document: one provider per file")
	} else if !errors.Is(err, io.EOF) {
		line, msg := syntaxError(err)
		return fail(line, "", msg)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		line := 1
		if len(doc.Content) > 0 {
			line = doc.Content[0].Line
		}
		return fail(line, "", "a provider file must be a mapping of field: value")
	}
	pr := &parsed{p: Default(), doc: &doc, lines: map[string]int{}}
	var probs Problems
	pr.mapping(doc.Content[0], "", &probs)
	for i := range probs {
		probs[i].File = name
	}
	return pr, probs
}

// syntaxError locates a yaml.v3 parse error ("yaml: line 3: ..."). yaml.v3
// numbers the lines of parser errors from 0 and of scanner errors from 1;
// the parser's messages are few and known, so they are moved down one line
// (an unclosed "[" on line 2 is reported on line 2, not 1).
func syntaxError(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if parserErrors[msg] {
		line++
	}
	return max(line, 1), "invalid YAML: " + msg
}

// parserErrors are the messages of yaml.v3's parser (parserc.go), whose
// line numbers count from 0; every other message comes from the scanner.
var parserErrors = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"found undefined tag handle":             true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
}

// mapping decodes the keys of m; prefix is "" at the top and "lic." etc. below.
func (pr *parsed) mapping(m *yaml.Node, prefix string, probs *Problems) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		path := prefix + k.Value
		if _, dup := pr.lines[path]; dup {
			*probs = append(*probs, Problem{Line: k.Line, Field: path, Msg: "duplicate key"})
			continue
		}
		pr.lines[path] = k.Line
		if _, group := Groups[path]; group && prefix == "" {
			if v.Kind != yaml.MappingNode {
				if v.Tag == "!!null" {
					continue
				}
				*probs = append(*probs, Problem{Line: v.Line, Field: path, Msg: "must be a mapping"})
				continue
			}
			pr.mapping(v, path+".", probs)
			continue
		}
		f := FieldByPath(path)
		if f == nil {
			*probs = append(*probs, Problem{Line: k.Line, Field: path, Msg: unknownMsg(path)})
			continue
		}
		if msg := setFromNode(f, &pr.p, v); msg != "" {
			*probs = append(*probs, Problem{Line: v.Line, Field: path, Msg: msg})
		}
	}
}

// setFromNode stores a scalar node in field f of p; it returns a problem
// message or "". A null value leaves the default in place.
func setFromNode(f *Field, p *Provider, v *yaml.Node) string {
	if v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	if v.Kind != yaml.ScalarNode {
		return "must be a single value, not a list or mapping"
	}
	if v.Tag == "!!null" {
		return ""
	}
	switch f.Kind {
	case KindInt:
		n, msg := intValue(v)
		if msg != "" {
			return msg
		}
		*f.num(p) = n
	case KindTime:
		t, err := ParseTimestamp(v.Value)
		if err != nil {
			return err.Error()
		}
		*f.ts(p) = t
	default:
		switch {
		case v.Tag == "!!binary":
			return "must be text"
		case v.Tag == "!!bool" || v.Tag == "!!float" || v.Tag == "!!int" && !digitsAsText[f.Path]:
			return fmt.Sprintf("must be text, got %s: quote it", describeText(v)) // no echo: it may be the pwd
		}
		*f.str(p) = v.Value
	}
	return ""
}

// digitsAsText are the string fields that take an unquoted integer as the
// text written ("login: 3528769"), as the JSON schema does: account names
// and free text (and id, whose UUID rule says more than "quote it"). Host
// and enumeration fields want text.
var digitsAsText = map[string]bool{
	"id": true, "code": true, "username": true, "login": true, "pwd": true, "opts.title": true, "opts.comment": true,
}

// maxInt bounds integer fields: far beyond any real value, and exact in a
// float64, so that the JSON schema's maximum says the same.
const maxInt = 1 << 40

// intValue reads an integer field. A YAML float with an integral value
// (1.0, 6e2) is that integer: JSON Schema and every YAML editor see 1.0 and
// 1 as the same number, so trunkd does too.
func intValue(v *yaml.Node) (int, string) {
	switch v.Tag {
	case "!!int":
		n, err := strconv.ParseInt(strings.ReplaceAll(v.Value, "_", ""), 0, 64)
		if err != nil || n > maxInt || n < -maxInt {
			return 0, "integer out of range"
		}
		return int(n), ""
	case "!!float":
		x, err := strconv.ParseFloat(strings.ReplaceAll(v.Value, "_", ""), 64)
		if err != nil || x != math.Trunc(x) {
			return 0, fmt.Sprintf("must be an integer, got %s", describe(v))
		}
		if x > maxInt || x < -maxInt {
			return 0, "integer out of range"
		}
		return int(x), ""
	}
	return 0, fmt.Sprintf("must be an integer, got %s", describe(v))
}

func describeText(v *yaml.Node) string {
	switch v.Tag {
	case "!!bool":
		return "a boolean"
	case "!!float":
		return "a decimal number"
	}
	return "a number"
}

func describe(v *yaml.Node) string {
	switch v.Tag {
	case "!!str":
		return fmt.Sprintf("the string %q", v.Value)
	case "!!bool":
		return "a boolean (write 1 or 0)"
	case "!!float":
		return "a decimal number"
	}
	return strings.TrimPrefix(v.Tag, "!!")
}

func unknownMsg(path string) string {
	if path == "<<" || strings.HasSuffix(path, ".<<") {
		// A merge key would share values between mappings that an update
		// could not edit one at a time (see the anchors in splice.go).
		return "YAML merge keys are not supported: write the fields out"
	}
	best, bestD := "", 3
	for _, f := range Fields {
		if d := editDistance(path, f.Path); d < bestD {
			best, bestD = f.Path, d
		}
	}
	for g := range Groups {
		if d := editDistance(path, g); d < bestD {
			best, bestD = g, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown field (did you mean %q?)", best)
	}
	return "unknown field"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
