package api

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// apiDoc is openapi.json read in document order, with the problems found
// while turning it into the reference (an unresolved $ref, a path without
// operations, ...).
type apiDoc struct {
	root     *jobj
	problems []string
}

// docModel is what the API reference templates render.
type docModel struct {
	Title, Version, OpenAPI, Description string
	Base                                 string // the URL the curl examples use
	Tags                                 []*docTag
	Ops                                  []*docOp
	Schemas                              []*docSchema
	Queries                              []*docExample // the query language examples
}

// docTag is one section of operations.
type docTag struct {
	Name, Description string
	Ops               []*docOp
}

// docOp is one operation (path and method) of the document.
type docOp struct {
	Method, Path, ID, Summary, Description, Tag string
	Public                                      bool   // security: [] in the document
	Role                                        string // probed on the router: none, reader, writer or admin
	Params                                      []docParam
	Body                                        *docBody
	Responses                                   []docResponse
	Example                                     *docExample
	bodyExample                                 any // the request body example of the document
}

// docParam is a parameter of an operation.
type docParam struct {
	Name, In, Type, Rules, Description string
	Required                           bool
	Examples                           []string
}

// docBody is an operation's request body.
type docBody struct {
	ContentType, Type string
	Required          bool
}

// docResponse is one status an operation answers.
type docResponse struct {
	Status, Description, Headers, ContentType, Type string
}

// docSchema is one schema of the components.
type docSchema struct {
	Name, Description, Type, Rules string
	Closed                         bool     // additionalProperties: false
	Base                           string   // described as a change of this earlier schema
	Without                        []string // fields of Base it lacks
	Fields                         []docField
	Required                       []string
	AllOf                          []string
	Example                        string
}

// docField is one property of an object schema.
type docField struct{ Name, Type, Rules, Description string }

func loadAPIDoc(path string) (*apiDoc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the OpenAPI document: %w", err)
	}
	v, err := decodeOrdered(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	root, ok := v.(*jobj)
	if !ok {
		return nil, fmt.Errorf("%s is not a JSON object", path)
	}
	return &apiDoc{root: root}, nil
}

func (d *apiDoc) problemf(format string, args ...any) {
	d.problems = append(d.problems, fmt.Sprintf(format, args...))
}

// model builds everything the templates need from the document alone.
func (d *apiDoc) model() *docModel {
	info := d.root.obj("info")
	m := &docModel{Title: info.str("title"), Version: info.str("version"),
		OpenAPI: d.root.str("openapi"), Description: info.str("description")}
	m.Ops = d.operations()
	m.Tags = d.tags(m.Ops)
	m.Schemas = d.schemas()
	return m
}

// resolve follows a "$ref" into the components; it returns the target
// and its component name ("" when o is not a reference).
func (d *apiDoc) resolve(o *jobj) (*jobj, string) {
	ref := o.str("$ref")
	if ref == "" {
		return o, ""
	}
	parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
	target := d.root.obj("components").obj(parts[0])
	if len(parts) == 2 {
		target = target.obj(parts[1])
	}
	if !strings.HasPrefix(ref, "#/components/") || len(parts) != 2 || target == nil {
		d.problemf("unresolved $ref %s", ref)
		return &jobj{vals: map[string]any{}}, ref
	}
	return target, parts[1]
}

// operations lists every path and method in document order, the custom
// methods of additionalOperations included.
func (d *apiDoc) operations() []*docOp {
	var ops []*docOp
	paths := d.root.obj("paths")
	for _, path := range paths.keys {
		item := paths.obj(path)
		n := len(ops)
		for _, key := range item.keys {
			switch {
			case slices.Contains(pathItemMethods, key):
				ops = append(ops, d.operation(path, strings.ToUpper(key), item, item.obj(key)))
			case key == "additionalOperations":
				extra := item.obj(key)
				for _, method := range extra.keys {
					ops = append(ops, d.operation(path, method, item, extra.obj(method)))
				}
			}
		}
		if len(ops) == n {
			d.problemf("path %s has no operation", path)
		}
	}
	return ops
}

func (d *apiDoc) operation(path, method string, item, op *jobj) *docOp {
	o := &docOp{Method: method, Path: path, ID: op.str("operationId"), Summary: op.str("summary"),
		Description: op.str("description")}
	if o.ID == "" {
		d.problemf("%s %s has no operationId", method, path)
	}
	if tags := op.list("tags"); len(tags) > 0 {
		o.Tag, _ = tags[0].(string)
	}
	sec := op.list("security")
	if !op.has("security") {
		sec = d.root.list("security")
	}
	o.Public = len(sec) == 0
	o.Params = d.params(item.list("parameters"), op.list("parameters"))
	if rb := op.obj("requestBody"); rb != nil {
		rb, _ = d.resolve(rb)
		o.Body, o.bodyExample = d.body(rb)
	}
	o.Responses = d.responses(op.obj("responses"))
	return o
}

// params merges the path item's parameters with the operation's (which
// override those of the same name and location).
func (d *apiDoc) params(lists ...[]any) []docParam {
	var out []docParam
	for _, list := range lists {
		for _, raw := range list {
			p, ok := raw.(*jobj)
			if !ok {
				d.problemf("a parameter is not an object")
				continue
			}
			p, _ = d.resolve(p)
			dp := d.param(p)
			out = slices.DeleteFunc(out, func(q docParam) bool { return q.Name == dp.Name && q.In == dp.In })
			out = append(out, dp)
		}
	}
	return out
}

func (d *apiDoc) param(p *jobj) docParam {
	dp := docParam{Name: p.str("name"), In: p.str("in"), Description: p.str("description")}
	dp.Required, _ = p.vals["required"].(bool)
	schema := p.obj("schema")
	if content := p.obj("content"); content != nil && len(content.keys) > 0 {
		media := content.obj(content.keys[0])
		schema = media.obj("schema")
		dp.Type = "JSON " + d.schemaType(schema)
		if media.has("example") {
			dp.Examples = append(dp.Examples, encodeOrdered(media.vals["example"]))
		}
	} else {
		dp.Type = d.schemaType(schema)
	}
	dp.Rules = d.schemaRules(schema)
	if p.has("example") {
		dp.Examples = append(dp.Examples, exampleText(p.vals["example"]))
	}
	if ex := p.obj("examples"); ex != nil {
		for _, k := range ex.keys {
			dp.Examples = append(dp.Examples, exampleText(ex.obj(k).vals["value"]))
		}
	}
	return dp
}

// exampleText is a parameter example as typed in a URL: strings as is.
func exampleText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return encodeOrdered(v)
}

func (d *apiDoc) body(rb *jobj) (*docBody, any) {
	content := rb.obj("content")
	if content == nil || len(content.keys) == 0 {
		d.problemf("a request body has no content")
		return &docBody{}, nil
	}
	b := &docBody{ContentType: content.keys[0]}
	b.Required, _ = rb.vals["required"].(bool)
	media := content.obj(b.ContentType)
	b.Type = d.schemaType(media.obj("schema"))
	if media.has("example") {
		return b, media.vals["example"]
	}
	schema, _ := d.resolve(media.obj("schema"))
	return b, schema.vals["example"]
}

func (d *apiDoc) responses(rs *jobj) []docResponse {
	codes := slices.Clone(rs.keys)
	sort.SliceStable(codes, func(i, j int) bool { return statusRank(codes[i]) < statusRank(codes[j]) })
	var out []docResponse
	for _, code := range codes {
		r, _ := d.resolve(rs.obj(code))
		dr := docResponse{Status: code, Description: r.str("description")}
		var hs []string
		for _, name := range r.obj("headers").keysOrNil() {
			h, _ := d.resolve(r.obj("headers").obj(name))
			hs = append(hs, "`"+name+"`: "+h.str("description"))
		}
		dr.Headers = strings.Join(hs, " ")
		if content := r.obj("content"); content != nil && len(content.keys) > 0 {
			dr.ContentType = content.keys[0]
			dr.Type = d.schemaType(content.obj(dr.ContentType).obj("schema"))
		}
		out = append(out, dr)
	}
	if len(out) == 0 {
		d.problemf("an operation has no responses")
	}
	return out
}

// statusRank orders status codes numerically, "default" and ranges last.
func statusRank(code string) int {
	if n, err := strconv.Atoi(code); err == nil {
		return n
	}
	return 1000
}

// tags groups the operations by their first tag, in the document's tag
// order; operations without a known tag come last.
func (d *apiDoc) tags(ops []*docOp) []*docTag {
	var out []*docTag
	byName := map[string]*docTag{}
	for _, raw := range d.root.list("tags") {
		t, _ := raw.(*jobj)
		dt := &docTag{Name: t.str("name"), Description: t.str("description")}
		out = append(out, dt)
		byName[dt.Name] = dt
	}
	for _, op := range ops {
		t := byName[op.Tag]
		if t == nil {
			t = &docTag{Name: op.Tag}
			if op.Tag == "" {
				t.Name = "other"
			}
			out = append(out, t)
			byName[op.Tag] = t
		}
		t.Ops = append(t.Ops, op)
	}
	return slices.DeleteFunc(out, func(t *docTag) bool { return len(t.Ops) == 0 })
}
