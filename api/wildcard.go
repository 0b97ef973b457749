package api

import "unicode/utf8"

// wildcard is a $like pattern: * matches any run of characters (also
// none), ? exactly one character, a backslash makes the next character
// literal. Matching is case-sensitive and covers the whole value.
type wildcard struct {
	toks []wtok
}

type wtok struct {
	kind byte // 'l' literal rune, '?' one rune, '*' any run
	r    rune
}

func compileWildcard(pattern string) *wildcard {
	w := &wildcard{}
	for i := 0; i < len(pattern); {
		r, size := utf8.DecodeRuneInString(pattern[i:])
		i += size
		switch {
		case r == '\\' && i < len(pattern):
			r, size = utf8.DecodeRuneInString(pattern[i:])
			i += size
			w.toks = append(w.toks, wtok{kind: 'l', r: r})
		case r == '*':
			if n := len(w.toks); n == 0 || w.toks[n-1].kind != '*' {
				w.toks = append(w.toks, wtok{kind: '*'})
			}
		case r == '?':
			w.toks = append(w.toks, wtok{kind: '?'})
		default:
			w.toks = append(w.toks, wtok{kind: 'l', r: r})
		}
	}
	return w
}

// match reports whether s matches the whole pattern. It backtracks only to
// the last *, so it runs in O(len(s) * len(pattern)) at worst.
func (w *wildcard) match(s string) bool {
	t, i := 0, 0
	starT, starI := -1, 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if t < len(w.toks) {
			switch tok := w.toks[t]; {
			case tok.kind == '*':
				starT, starI = t, i
				t++
				continue
			case tok.kind == '?' || tok.r == r:
				t++
				i += size
				continue
			}
		}
		if starT < 0 {
			return false
		}
		_, size = utf8.DecodeRuneInString(s[starI:])
		starI += size
		t, i = starT+1, starI
	}
	for t < len(w.toks) && w.toks[t].kind == '*' {
		t++
	}
	return t == len(w.toks)
}
