package api

import (
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// orderKey is one sort key of the order parameter.
type orderKey struct {
	field *registry.Field
	desc  bool
}

// parseOrder parses the order parameter: a JSON array of field names and
// {"field":"asc"|"desc"} objects, or a comma list of names where a leading
// "-" means descending. A name in the JSON form may carry the "-" too.
func parseOrder(text string) ([]orderKey, error) {
	var keys orderKeys
	trimmed := strings.TrimSpace(text)
	if !strings.HasPrefix(trimmed, "[") && !strings.HasPrefix(trimmed, "{") {
		for _, item := range strings.Split(text, ",") {
			if err := keys.addName(strings.TrimSpace(item)); err != nil {
				return nil, err
			}
		}
		return keys, nil
	}
	v, err := parseJSON(trimmed)
	if err != nil {
		return nil, badRequest("order: %s", err.Error())
	}
	if v.kind != jArray {
		return nil, badRequest(`order: must be a JSON array like ["code",{"ext.lwt":"desc"}] or a list like code,-ext.lwt, got %s`, v.kind)
	}
	for _, item := range v.items {
		if err := keys.addJSON(item); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// orderKeys collects the keys of an order parameter, refusing a field
// named twice.
type orderKeys []orderKey

// add appends the key of field name.
func (ks *orderKeys) add(name string, desc bool) error {
	k, err := orderField(name, desc)
	if err != nil {
		return err
	}
	for _, have := range *ks {
		if have.field == k.field {
			return badRequest("order: %s is named twice", name)
		}
	}
	*ks = append(*ks, k)
	return nil
}

// addName appends a name that a leading "-" makes descending.
func (ks *orderKeys) addName(name string) error {
	return ks.add(strings.TrimPrefix(name, "-"), strings.HasPrefix(name, "-"))
}

// addJSON appends one item of the JSON form: a name, or an object of
// field → "asc"|"desc" members.
func (ks *orderKeys) addJSON(item jvalue) error {
	switch item.kind {
	case jString:
		return ks.addName(item.text)
	case jObject:
		if len(item.members) == 0 {
			return badRequest(`order: an empty object names no field; write {"field":"asc"}`)
		}
		for _, m := range item.members {
			if m.val.kind != jString || m.val.text != "asc" && m.val.text != "desc" {
				return badRequest(`order: %s: direction must be "asc" or "desc"`, m.key)
			}
			if err := ks.add(m.key, m.val.text == "desc"); err != nil {
				return err
			}
		}
		return nil
	default:
		return badRequest("order: items must be field names or {\"field\":\"asc\"|\"desc\"} objects, got %s", item.kind)
	}
}

// orderField is the key of field name, if the list can be ordered by it.
func orderField(name string, desc bool) (orderKey, error) {
	if name == "" {
		return orderKey{}, badRequest("order: empty field name")
	}
	if leaves, group := registry.Groups[name]; group {
		return orderKey{}, badRequest("order: %s is a group of fields: order by one of them, like %s.%s", name, name, leaves[0])
	}
	f := registry.FieldByPath(name)
	if f == nil {
		return orderKey{}, badRequest("order: unknown field %q", name)
	}
	if !shapeList.has(name) {
		return orderKey{}, badRequest("order: cannot order by %s", name)
	}
	return orderKey{field: f, desc: desc}, nil
}

// orderSpec is the canonical text of an order, the key of cached sorts.
func orderSpec(keys []orderKey) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if k.desc {
			b.WriteByte('-')
		}
		b.WriteString(k.field.Path)
	}
	return b.String()
}
