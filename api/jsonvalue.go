package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

func parseValue(dec *json.Decoder, depth int) (jvalue, error) {
	if depth > maxJSONDepth {
		return jvalue{}, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return jvalue{}, err
	}
	switch t := tok.(type) {
	case nil:
		return jvalue{kind: jNull}, nil
	case bool:
		return jvalue{kind: jBool, text: fmt.Sprint(t)}, nil
	case json.Number:
		return jvalue{kind: jNumber, text: t.String()}, nil
	case string:
		return jvalue{kind: jString, text: t}, nil
	case json.Delim:
		if t == '[' {
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
		v := jvalue{kind: jObject}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return jvalue{}, err
			}
			key, ok := tok.(string)
			if !ok {
				return jvalue{}, errors.New("an object key must be a string")
			}
			val, err := parseValue(dec, depth+1)
			if err != nil {
				return jvalue{}, err
			}
			v.members = append(v.members, jmember{key: key, val: val})
		}
		_, err := dec.Token()
		return v, err
	}
	return jvalue{}, fmt.Errorf("unexpected token %v", tok)
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
