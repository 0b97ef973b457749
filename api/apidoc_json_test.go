package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// jobj is a JSON object that remembers the order of its keys, so that the
// API reference lists paths, methods and fields in the order openapi.json
// gives them.
type jobj struct {
	keys []string
	vals map[string]any
}

// decodeOrdered decodes JSON into *jobj, []any, string, json.Number, bool
// and nil values.
func decodeOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := &jobj{vals: map[string]any{}}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			key := k.(string)
			if _, dup := o.vals[key]; dup {
				return nil, fmt.Errorf("duplicate key %q", key)
			}
			o.keys = append(o.keys, key)
			o.vals[key] = v
		}
		_, err := dec.Token() // '}'
		return o, err
	case json.Delim('['):
		list := []any{}
		for dec.More() {
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err := dec.Token() // ']'
		return list, err
	}
	return tok, nil
}

// obj returns the object under key (nil when absent or not an object).
func (o *jobj) obj(key string) *jobj {
	if o == nil {
		return nil
	}
	v, _ := o.vals[key].(*jobj)
	return v
}

// str returns the string under key ("" when absent).
func (o *jobj) str(key string) string {
	if o == nil {
		return ""
	}
	s, _ := o.vals[key].(string)
	return s
}

// list returns the array under key.
func (o *jobj) list(key string) []any {
	if o == nil {
		return nil
	}
	l, _ := o.vals[key].([]any)
	return l
}

// has reports whether key is present.
func (o *jobj) has(key string) bool {
	if o == nil {
		return false
	}
	_, ok := o.vals[key]
	return ok
}

// encodeOrdered writes v back as compact JSON, keys in their order.
func encodeOrdered(v any) string {
	var b strings.Builder
	writeOrdered(&b, v)
	return b.String()
}

func writeOrdered(b *strings.Builder, v any) {
	switch x := v.(type) {
	case *jobj:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeOrdered(b, k)
			b.WriteByte(':')
			writeOrdered(b, x.vals[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, it := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeOrdered(b, it)
		}
		b.WriteByte(']')
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			panic(fmt.Sprintf("encode %T: %v", x, err))
		}
		b.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
}
