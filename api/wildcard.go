package api

import (
	"strings"
	"unicode/utf8"
)

// maxLikePattern bounds a $like pattern, in characters. Matching costs
// O(len(value) × ⌈segment length / 64⌉), so the bound keeps even a
// megabyte value to a few milliseconds.
const maxLikePattern = 1024

// wildcard is a $like pattern: * matches any run of characters (also
// none), ? exactly one character, a backslash makes the next character
// literal. Matching is case-sensitive and covers the whole value.
//
// The pattern is split at its stars into segments of fixed length. The
// first must match at the start, the last at the end, and each one between
// at its leftmost place after the previous one: taking the leftmost place
// never loses a match, so no step is ever undone and matching is linear in
// the value (a literal segment is found with strings.Index, one with ?
// with the bit-parallel Shift-And algorithm).
type wildcard struct {
	segs []segment // len(segs) == stars + 1; segments may be empty
}

// segment is a run of the pattern between stars.
type segment struct {
	runes   []rune
	anyAt   []bool // positions holding ?
	literal string // the segment's text when it has no ?, else ""
	isLit   bool
	sa      *shiftAnd // for segments with ?, built at compile time
}

// compileWildcard parses a $like pattern; a pattern longer than
// maxLikePattern characters is an error.
func compileWildcard(pattern string) (*wildcard, error) {
	if n := utf8.RuneCountInString(pattern); n > maxLikePattern {
		return nil, badRequest("$like pattern has %d characters; at most %d are allowed", n, maxLikePattern)
	}
	w := &wildcard{}
	cur := segment{}
	for i := 0; i < len(pattern); {
		r, size := utf8.DecodeRuneInString(pattern[i:])
		i += size
		switch {
		case r == '\\' && i < len(pattern):
			r, size = utf8.DecodeRuneInString(pattern[i:])
			i += size
			cur.add(r, false)
		case r == '*':
			w.segs = append(w.segs, cur.done())
			cur = segment{}
		case r == '?':
			cur.add(0, true)
		default:
			cur.add(r, false)
		}
	}
	w.segs = append(w.segs, cur.done())
	return w, nil
}

func (s *segment) add(r rune, any bool) {
	s.runes = append(s.runes, r)
	s.anyAt = append(s.anyAt, any)
}

// done finishes a segment: a literal one keeps its text, one with ? its
// Shift-And tables.
func (s segment) done() segment {
	s.isLit = true
	for _, a := range s.anyAt {
		s.isLit = s.isLit && !a
	}
	if s.isLit {
		s.literal = string(s.runes)
	} else {
		s.sa = newShiftAnd(s.runes, s.anyAt)
	}
	return s
}

// match reports whether v matches the whole pattern.
func (w *wildcard) match(v string) bool {
	first, last := w.segs[0], w.segs[len(w.segs)-1]
	if len(w.segs) == 1 {
		end, ok := first.matchAt(v, 0)
		return ok && end == len(v)
	}
	start, ok := first.matchAt(v, 0)
	if !ok {
		return false
	}
	end, ok := last.startOfSuffix(v, start)
	if !ok {
		return false
	}
	body := v[:end]
	for _, seg := range w.segs[1 : len(w.segs)-1] {
		if start, ok = seg.find(body, start); !ok {
			return false
		}
	}
	return true
}

// matchAt matches the segment at byte offset i of v and returns the
// offset after it.
func (s *segment) matchAt(v string, i int) (int, bool) {
	for k, r := range s.runes {
		if i >= len(v) {
			return 0, false
		}
		c, size := utf8.DecodeRuneInString(v[i:])
		if !s.anyAt[k] && c != r {
			return 0, false
		}
		i += size
	}
	return i, true
}

// startOfSuffix matches the segment at the end of v, not before offset
// min, and returns the offset where it starts.
func (s *segment) startOfSuffix(v string, min int) (int, bool) {
	i := len(v)
	for k := len(s.runes) - 1; k >= 0; k-- {
		if i <= min {
			return 0, false
		}
		c, size := utf8.DecodeLastRuneInString(v[min:i])
		if !s.anyAt[k] && c != s.runes[k] {
			return 0, false
		}
		i -= size
	}
	return i, true
}

// find returns the offset after the segment's leftmost occurrence in v at
// or after offset from.
func (s *segment) find(v string, from int) (int, bool) {
	if s.isLit {
		k := strings.Index(v[from:], s.literal)
		if k < 0 {
			return 0, false
		}
		return from + k + len(s.literal), true
	}
	return s.sa.find(v, from)
}

// shiftAnd finds a fixed-length pattern with "any character" positions in
// one pass over the text: bit j of the state is set when the last j+1
// characters read match the pattern's first j+1.
type shiftAnd struct {
	n     int                     // pattern length in characters
	words int                     // uint64 words per mask
	any   []uint64                // positions holding ?
	ascii [utf8.RuneSelf][]uint64 // per ASCII character: positions it matches
	other map[rune][]uint64       // the same for other characters
}

func newShiftAnd(runes []rune, anyAt []bool) *shiftAnd {
	words := (len(runes) + 63) / 64
	sa := &shiftAnd{n: len(runes), words: words, any: make([]uint64, words), other: map[rune][]uint64{}}
	for j, a := range anyAt {
		if a {
			sa.any[j/64] |= 1 << (j % 64)
		}
	}
	for j, r := range runes {
		if anyAt[j] {
			continue
		}
		m := sa.own(r)
		m[j/64] |= 1 << (j % 64)
	}
	return sa
}

// own returns r's own mask, creating it from the ? positions.
func (sa *shiftAnd) own(r rune) []uint64 {
	table := func() []uint64 { return append([]uint64(nil), sa.any...) }
	if r >= 0 && r < utf8.RuneSelf {
		if sa.ascii[r] == nil {
			sa.ascii[r] = table()
		}
		return sa.ascii[r]
	}
	if sa.other[r] == nil {
		sa.other[r] = table()
	}
	return sa.other[r]
}

// mask is the set of pattern positions character r matches.
func (sa *shiftAnd) mask(r rune) []uint64 {
	var m []uint64
	if r >= 0 && r < utf8.RuneSelf {
		m = sa.ascii[r]
	} else {
		m = sa.other[r]
	}
	if m == nil {
		return sa.any
	}
	return m
}

// find returns the offset after the leftmost match in v at or after from.
func (sa *shiftAnd) find(v string, from int) (int, bool) {
	state := make([]uint64, sa.words)
	top, topBit := (sa.n-1)/64, uint64(1)<<((sa.n-1)%64)
	for i := from; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		i += size
		m := sa.mask(r)
		carry := uint64(1)
		for k := range state {
			next := state[k] >> 63
			state[k] = (state[k]<<1 | carry) & m[k]
			carry = next
		}
		if state[top]&topBit != 0 {
			return i, true
		}
	}
	return 0, false
}
