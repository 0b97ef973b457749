package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/trunkd/trunkd/registry"
)

// maxBody is the largest request body accepted (413 above).
const maxBody = 1 << 20

// readJSONBody checks the Content-Type (415) and reads the body, at most
// maxBody bytes (413).
func readJSONBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil, errorf(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	mt, ps, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return nil, errorf(http.StatusUnsupportedMediaType, "Content-Type must be application/json, got %q", ct)
	}
	if cs, ok := ps["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, errorf(http.StatusUnsupportedMediaType, "charset must be utf-8, got %q", cs)
	}
	if r.ContentLength > maxBody {
		return nil, errorf(http.StatusRequestEntityTooLarge, "request body is larger than 1 MiB")
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, errorf(http.StatusRequestEntityTooLarge, "request body is larger than 1 MiB")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		w.Header().Set("Connection", "close")
		return nil, errorf(http.StatusRequestTimeout, "the request body did not arrive within the server's read timeout")
	}
	if err != nil {
		w.Header().Set("Connection", "close")
		return nil, badRequest("cannot read the request body: it ended early or is malformed")
	}
	return data, nil
}

// leaf is one field value of a request body, already of the field's type.
type leaf struct {
	field *registry.Field
	num   int
	str   string
}

// entityBody is a decoded provider entity: the fields it sets, in order.
// ext is ignored, as the contract says.
type entityBody struct {
	leaves []leaf
	pwd    string // the password it sets, for scrubbing error messages
}

// maxInt bounds integers as the file decoder does.
const maxInt = 1 << 40

// decodeEntity decodes a provider entity strictly: a JSON object of known
// fields, integers as JSON integers, strings as JSON strings, composite
// fields as objects; unknown or repeated fields, nulls and trailing data
// are errors naming the field. The value of a wrong-typed field is never
// echoed.
func decodeEntity(data []byte) (*entityBody, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, badRequest("request body is empty: expected a provider entity (a JSON object)")
	}
	if !utf8.Valid(data) {
		return nil, badRequest("request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	b := &entityBody{}
	tok, err := dec.Token()
	if err != nil {
		return nil, badRequest("%s", jsonError(err).Error())
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, badRequest("request body must be a provider entity (a JSON object), got %s", tokenValue(tok).kind)
	}
	if err := b.object(dec, "", map[string]bool{}); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest("unexpected data after the JSON object")
	}
	return b, nil
}

// object decodes the members of an object whose '{' was read; prefix is
// "" at the top and "lic." etc. inside a composite field.
func (b *entityBody) object(dec *json.Decoder, prefix string, seen map[string]bool) error {
	for dec.More() {
		key, err := dec.Token() // a string where a member starts (see parseObject)
		if err != nil {
			return badRequest("%s", jsonError(err).Error())
		}
		path := prefix + key.(string)
		if seen[path] {
			return badRequest("%s: field given twice", path)
		}
		seen[path] = true
		if err := b.member(dec, path, prefix, seen); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return badRequest("%s", jsonError(err).Error())
	}
	return nil
}

func (b *entityBody) member(dec *json.Decoder, path, prefix string, seen map[string]bool) error {
	if path == "ext" {
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return badRequest("ext: %s", jsonError(err).Error())
		}
		return nil
	}
	tok, err := dec.Token()
	if err != nil {
		return badRequest("%s: %s", path, jsonError(err).Error())
	}
	if _, group := registry.Groups[path]; group && prefix == "" {
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return badRequest("%s: must be an object, got %s", path, tokenValue(tok).kind)
		}
		return b.object(dec, path+".", seen)
	}
	f := registry.FieldByPath(path)
	if f == nil || prefix == "" && strings.Contains(path, ".") {
		return badRequest("%s", unknownField(path))
	}
	return b.scalar(f, tok)
}

// scalar stores one value of field f.
func (b *entityBody) scalar(f *registry.Field, tok json.Token) error {
	switch f.Kind {
	case registry.KindInt:
		n, ok := tok.(json.Number)
		if !ok {
			return badRequest("%s: must be an integer, got %s", f.Path, tokenValue(tok).kind)
		}
		v, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			if strings.ContainsAny(n.String(), ".eE") {
				return badRequest("%s: must be an integer, got a decimal number", f.Path)
			}
			return badRequest("%s: integer out of range", f.Path)
		}
		if v > maxInt || v < -maxInt {
			return badRequest("%s: integer out of range", f.Path)
		}
		b.leaves = append(b.leaves, leaf{field: f, num: int(v)})
	default:
		s, ok := tok.(string)
		if !ok {
			return badRequest("%s: must be a string, got %s", f.Path, tokenValue(tok).kind)
		}
		if f.Path == "pwd" {
			b.pwd = s
		}
		b.leaves = append(b.leaves, leaf{field: f, str: s})
	}
	return nil
}

func unknownField(path string) string {
	if group, leaf, ok := strings.Cut(path, "."); ok && registry.FieldByPath(path) != nil {
		return "unknown field " + strconv.Quote(path) + ": nest it as {\"" + group + "\": {\"" + leaf + "\": …}}"
	}
	for _, f := range registry.Fields {
		if strings.EqualFold(f.Path, path) {
			return "unknown field " + strconv.Quote(path) + " (field names are lower case: " + f.Path + ")"
		}
	}
	return "unknown field " + strconv.Quote(path)
}

// apply sets the body's fields in p, leaving the others as they are. The
// body holds no ext field (ext is ignored), so every leaf is a string or
// an integer.
func (b *entityBody) apply(p *registry.Provider) {
	for _, l := range b.leaves {
		if l.field.Kind == registry.KindInt {
			l.field.SetInt(p, l.num)
		} else {
			l.field.SetString(p, l.str)
		}
	}
}

// decodeLookup decodes the LOOKUP body: exactly one JSON string.
func decodeLookup(data []byte) (string, error) {
	if !utf8.Valid(data) {
		return "", badRequest("request body is not valid UTF-8")
	}
	v, err := parseJSON(string(data))
	if err != nil {
		return "", badRequest("LOOKUP body must be one JSON string like \"Oktell\": %s", err.Error())
	}
	if v.kind != jString {
		return "", badRequest("LOOKUP body must be one JSON string like \"Oktell\", got %s", v.kind)
	}
	return v.text, nil
}
