package api

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/trunkd/trunkd/registry"
)

// asciiEscapes holds the escape encoding/json writes for each ASCII byte
// it escapes (controls, quote, backslash and the HTML-unsafe <, >, &); ""
// for the bytes it writes as they are.
var asciiEscapes = func() (t [utf8.RuneSelf]string) {
	for c := range 0x20 {
		t[c] = fmt.Sprintf(`\u%04x`, c)
	}
	t['\b'], t['\f'], t['\n'], t['\r'], t['\t'] = `\b`, `\f`, `\n`, `\r`, `\t`
	t['"'], t['\\'] = `\"`, `\\`
	t['<'], t['>'], t['&'] = `\u003c`, `\u003e`, `\u0026`
	return t
}()

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it (HTML-safe escapes, U+2028/U+2029 escaped, invalid UTF-8 as
// U+FFFD), so cached and freshly encoded bodies are byte-identical.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf && asciiEscapes[c] == "" {
			i++
			continue
		}
		esc, size := jsonEscape(s[i:])
		if esc != "" {
			b = append(b, s[start:i]...)
			b = append(b, esc...)
			start = i + size
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonEscape returns the escape of the character s starts with ("" when
// it is written as it is) and that character's length in bytes.
func jsonEscape(s string) (esc string, size int) {
	if c := s[0]; c < utf8.RuneSelf {
		return asciiEscapes[c], 1
	}
	r, size := utf8.DecodeRuneInString(s)
	switch {
	case r == utf8.RuneError && size == 1:
		return `\ufffd`, size
	case r == '\u2028':
		return `\u2028`, size
	case r == '\u2029':
		return `\u2029`, size
	}
	return "", size
}

// appendValue appends the JSON value of field f of p.
func appendValue(b []byte, f *registry.Field, p *registry.Provider) []byte {
	if f.Kind == registry.KindInt {
		return strconv.AppendInt(b, int64(f.Value(p).(int)), 10)
	}
	return appendJSONString(b, f.Text(p))
}
