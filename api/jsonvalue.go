package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// jkind is the type of a parsed JSON value.
type jkind int

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

// String names the JSON kind in error messages.
func (k jkind) String() string {
	return [...]string{"null", "a boolean", "a number", "a string", "an array", "an object"}[k]
}

// jvalue is a JSON value with object members in document order (the query
// language depends on it: order keys apply in the order written).
type jvalue struct {
	kind    jkind
	text    string // a string's value, a number's literal
	items   []jvalue
	members []jmember
}

type jmember struct {
	key string
	val jvalue
}

// maxJSONDepth bounds the nesting of query parameters.
const maxJSONDepth = 16

var errTooDeep = fmt.Errorf("nested deeper than %d levels", maxJSONDepth)

// parseJSON parses one JSON value; trailing data is an error.
func parseJSON(text string) (jvalue, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return jvalue{}, jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return jvalue{}, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// parseValue parses the value whose first token comes next from dec, at
// nesting depth depth.
func parseValue(dec *json.Decoder, depth int) (jvalue, error) {
	if depth > maxJSONDepth {
		return jvalue{}, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return jvalue{}, err
	}
	switch v := tokenValue(tok); v.kind {
	case jArray:
		return parseArray(dec, depth)
	case jObject:
		return parseObject(dec, depth)
	default:
		return v, nil
	}
}

// tokenValue is the value of a scalar token, or the kind alone of the
// array or object a delimiter opens (Token returns a closing delimiter
// only where no value can start).
func tokenValue(tok json.Token) jvalue {
	switch t := tok.(type) {
	case bool:
		return jvalue{kind: jBool, text: strconv.FormatBool(t)}
	case json.Number:
		return jvalue{kind: jNumber, text: t.String()}
	case string:
		return jvalue{kind: jString, text: t}
	case json.Delim:
		if t == '[' {
			return jvalue{kind: jArray}
		}
		return jvalue{kind: jObject}
	}
	return jvalue{kind: jNull}
}

// parseArray parses the items of an array whose '[' was read.
func parseArray(dec *json.Decoder, depth int) (jvalue, error) {
	v := jvalue{kind: jArray}
	for dec.More() {
		item, err := parseValue(dec, depth+1)
		if err != nil {
			return jvalue{}, err
		}
		v.items = append(v.items, item)
	}
	_, err := dec.Token()
	return v, err
}

// parseObject parses the members of an object whose '{' was read; Token
// returns a key (a string) or an error where a member starts.
func parseObject(dec *json.Decoder, depth int) (jvalue, error) {
	v := jvalue{kind: jObject}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return jvalue{}, err
		}
		val, err := parseValue(dec, depth+1)
		if err != nil {
			return jvalue{}, err
		}
		v.members = append(v.members, jmember{key: key.(string), val: val})
	}
	_, err := dec.Token()
	return v, err
}

// jsonError phrases a decoding error for a client.
func jsonError(err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, errTooDeep):
		return err
	case errors.As(err, &syn):
		return fmt.Errorf("malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("malformed JSON: unexpected end of input")
	}
	return fmt.Errorf("malformed JSON: %s", err.Error())
}
