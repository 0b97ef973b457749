package api

import (
	"strconv"
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// cond is one condition of a filter: field op value(s). Integer fields
// hold ints, the others text (timestamps normalised to the seed's form).
type cond struct {
	field *registry.Field
	op    string
	ints  []int
	strs  []string
	like  *wildcard
}

// filter is a parsed filter parameter: its conditions are ANDed.
type filter []cond

var filterOps = map[string]bool{
	"$eq": true, "$ne": true, "$gt": true, "$gte": true, "$lt": true, "$lte": true,
	"$in": true, "$nin": true, "$like": true,
}

// parseFilter parses the filter parameter (DESIGN.md §5): a JSON object of
// field paths to a value (equality), an array (any of) or an object of
// $-operators. A group name takes a nested object of its fields.
func parseFilter(text string) (filter, error) {
	v, err := parseJSON(text)
	if err != nil {
		return nil, badRequest("filter: %s", err.Error())
	}
	if v.kind != jObject {
		return nil, badRequest(`filter: must be a JSON object like {"code":"Oktell"}, got %s`, v.kind)
	}
	var fl filter
	if err := fl.addObject(v, ""); err != nil {
		return nil, err
	}
	return fl, nil
}

func (fl *filter) addObject(v jvalue, prefix string) error {
	for _, m := range v.members {
		path := prefix + m.key
		if _, group := registry.Groups[path]; group && prefix == "" {
			if m.val.kind != jObject || len(m.val.members) == 0 || isOperatorObject(m.val) {
				return badRequest("filter: %s is a group of fields: filter on one of them, like %s.%s", path, path, registry.Groups[path][0])
			}
			if err := fl.addObject(m.val, path+"."); err != nil {
				return err
			}
			continue
		}
		f := registry.FieldByPath(path)
		if f == nil {
			return badRequest("filter: unknown field %q", path)
		}
		if !shapeList.has(path) {
			return badRequest("filter: %s cannot be filtered on", path)
		}
		if err := fl.addField(f, m.val); err != nil {
			return err
		}
	}
	return nil
}

func isOperatorObject(v jvalue) bool {
	for _, m := range v.members {
		if strings.HasPrefix(m.key, "$") {
			return true
		}
	}
	return false
}

func (fl *filter) addField(f *registry.Field, v jvalue) error {
	switch v.kind {
	case jArray:
		return fl.add(f, "$in", v)
	case jObject:
		if len(v.members) == 0 {
			return badRequest("filter: %s: an empty object is not a condition", f.Path)
		}
		for _, m := range v.members {
			if !strings.HasPrefix(m.key, "$") {
				return badRequest("filter: %s: %q is not an operator; operators are $eq $ne $gt $gte $lt $lte $in $nin $like", f.Path, m.key)
			}
			if err := fl.add(f, m.key, m.val); err != nil {
				return err
			}
		}
		return nil
	}
	return fl.add(f, "$eq", v)
}

// add appends the condition f op v after checking v's type.
func (fl *filter) add(f *registry.Field, op string, v jvalue) error {
	if !filterOps[op] {
		return badRequest("filter: %s: unknown operator %q; operators are $eq $ne $gt $gte $lt $lte $in $nin $like", f.Path, op)
	}
	c := cond{field: f, op: op}
	switch op {
	case "$like":
		if f.Kind == registry.KindInt {
			return badRequest("filter: %s: $like applies to text fields only", f.Path)
		}
		if v.kind != jString {
			return badRequest("filter: %s: $like takes a string pattern with * and ?, got %s", f.Path, v.kind)
		}
		like, err := compileWildcard(v.text)
		if err != nil {
			return badRequest("filter: %s: %s", f.Path, err.Error())
		}
		c.like = like
	case "$in", "$nin":
		if v.kind != jArray {
			return badRequest("filter: %s: %s takes an array, got %s", f.Path, op, v.kind)
		}
		for _, item := range v.items {
			if err := c.addScalar(item); err != nil {
				return err
			}
		}
	default:
		if err := c.addScalar(v); err != nil {
			return err
		}
	}
	*fl = append(*fl, c)
	return nil
}

// addScalar converts one JSON value to the field's type: integer fields
// take JSON integers, the others JSON strings (no coercion either way).
func (c *cond) addScalar(v jvalue) error {
	f := c.field
	switch f.Kind {
	case registry.KindInt:
		if v.kind != jNumber {
			return badRequest("filter: %s: must be an integer, got %s", f.Path, v.kind)
		}
		n, err := strconv.ParseInt(v.text, 10, 64)
		if err != nil {
			return badRequest("filter: %s: must be an integer, got %s", f.Path, v.text)
		}
		c.ints = append(c.ints, int(n))
	case registry.KindTime:
		if v.kind != jString {
			return badRequest("filter: %s: must be a time string like 2019-08-27T08:03:14.84Z, got %s", f.Path, v.kind)
		}
		t, err := registry.ParseTimestamp(v.text)
		if err != nil {
			return badRequest("filter: %s: %s", f.Path, err.Error())
		}
		c.strs = append(c.strs, t.String())
	default:
		if v.kind != jString {
			return badRequest("filter: %s: must be a string, got %s", f.Path, v.kind)
		}
		c.strs = append(c.strs, v.text)
	}
	return nil
}

// bind turns the filter into a predicate over the positions of v.
func (fl filter) bind(v *view) func(i int) bool {
	if len(fl) == 0 {
		return nil
	}
	preds := make([]func(int) bool, len(fl))
	for k, c := range fl {
		preds[k] = c.bind(v.column(c.field))
	}
	if len(preds) == 1 {
		return preds[0]
	}
	return func(i int) bool {
		for _, p := range preds {
			if !p(i) {
				return false
			}
		}
		return true
	}
}

func (c cond) bind(col *column) func(int) bool {
	if c.like != nil {
		strs, w := col.strs, c.like
		return func(i int) bool { return w.match(strs[i]) }
	}
	if col.isInt {
		return bindOp(c.op, col.ints, c.ints)
	}
	return bindOp(c.op, col.strs, c.strs)
}

func bindOp[T int | string](op string, col, vals []T) func(int) bool {
	switch op {
	case "$in", "$nin":
		in := op == "$in"
		return func(i int) bool {
			x := col[i]
			for _, v := range vals {
				if x == v {
					return in
				}
			}
			return !in
		}
	}
	v := vals[0]
	switch op {
	case "$ne":
		return func(i int) bool { return col[i] != v }
	case "$gt":
		return func(i int) bool { return col[i] > v }
	case "$gte":
		return func(i int) bool { return col[i] >= v }
	case "$lt":
		return func(i int) bool { return col[i] < v }
	case "$lte":
		return func(i int) bool { return col[i] <= v }
	}
	return func(i int) bool { return col[i] == v }
}
