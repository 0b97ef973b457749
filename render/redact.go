package render

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trunkd/trunkd/registry"
)

// redactor masks passwords (as written raw, in each engine's escaping, and
// as HA1) in command output and error messages before they reach the log
// or /status. Used by the applying goroutine only.
//
// Memory is bounded by the passwords in force plus those that may still
// be in a live file: a password no provider has any more is "retired" and
// forgotten once every target has applied a snapshot without it (see
// forget).
//
// The masking rule: a password of at least longMask bytes is replaced by
// *** wherever it occurs. A shorter one is replaced only where it stands
// as a whole value: at the start or end of the text or next to a
// character that is neither a letter, a digit, a backslash nor one of
// "_-.+~%" (white space, ':', '=', quotes, brackets, ...). So with passwords "a" or ">",
// "template: kamailio/uacreg" and "<sipUser .AORUser>" stay as they are
// (masking letters inside words would make the text unreadable and show
// where the password is), while "auth_password: a" and a db_text field
// ":a:" are masked.
type redactor struct {
	inForce map[string]int    // secret → providers of the last snapshot that have it
	retired map[string]uint64 // secret no provider has → generation of the first snapshot without it
	seen    []*registry.Provider
	stale   bool // the secrets changed since the masks were built

	long  *strings.Replacer
	short map[string]bool
}

// mask is what a password is replaced with.
const mask = "***"

// longMask is the length from which a password is masked wherever it
// occurs, also inside a word.
const longMask = 8

// learn takes the passwords of snap's providers (active or not). Only
// providers that changed since the last snapshot are looked at (the
// registry shares unchanged ones). The masks are rebuilt when next used,
// not here: learning is on the way from a file write to the reload.
func (rd *redactor) learn(snap *registry.Snapshot) {
	if rd.inForce == nil {
		rd.inForce, rd.retired = map[string]int{}, map[string]uint64{}
	}
	providers := snap.Providers()
	kept := make([]bool, len(rd.seen))
	j := 0
	for _, p := range providers {
		if k := findSame(rd.seen, p, &j); k >= 0 {
			kept[k] = true
			continue
		}
		for _, s := range secretsOf(p) {
			rd.inForce[s]++
			delete(rd.retired, s)
			rd.stale = true
		}
	}
	for i, p := range rd.seen {
		if kept[i] {
			continue
		}
		for _, s := range secretsOf(p) {
			if rd.inForce[s]--; rd.inForce[s] <= 0 {
				delete(rd.inForce, s)
				rd.retired[s] = snap.Generation()
			}
		}
	}
	rd.seen = providers
}

// forget drops the retired passwords that left before generation applied:
// every live file is the render of applied or a later snapshot.
func (rd *redactor) forget(applied uint64) {
	for s, gen := range rd.retired {
		if gen <= applied {
			delete(rd.retired, s)
			rd.stale = true
		}
	}
}

// secretsOf lists p's password in every form it can take in a file.
func secretsOf(p *registry.Provider) []string {
	if p.Pwd == "" {
		return nil
	}
	out := []string{p.Pwd, escapeDBText(p.Pwd), digestHA1(cmp.Or(p.Login, p.Username), p.Domain, p.Pwd)}
	if s, err := escapePJSIP(p.Pwd); err == nil {
		out = append(out, s)
	}
	if s, err := escapeXML(p.Pwd); err == nil {
		out = append(out, s)
	}
	return out
}

// build makes the masks from the secrets in force and retired.
func (rd *redactor) build() {
	var long []string
	rd.short = map[string]bool{}
	add := func(s string) {
		if len(s) >= longMask {
			long = append(long, s)
		} else {
			rd.short[s] = true
		}
	}
	for s := range rd.inForce {
		add(s)
	}
	for s := range rd.retired {
		add(s)
	}
	// strings.Replacer tries the old strings in argument order at each
	// position: longer first, so a password containing another is masked
	// whole.
	slices.SortFunc(long, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	pairs := make([]string, 0, 2*len(long))
	for _, s := range long {
		pairs = append(pairs, s, mask)
	}
	rd.long = strings.NewReplacer(pairs...)
}

// apply masks every known password in s.
func (rd *redactor) apply(s string) string {
	if rd.stale || rd.long == nil {
		rd.build()
		rd.stale = false
	}
	if s == "" {
		return s
	}
	s = rd.long.Replace(s)
	if len(rd.short) == 0 {
		return s
	}
	return rd.maskShort(s)
}

// maskShort replaces the short passwords that stand as whole values in s.
func (rd *redactor) maskShort(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if n := rd.shortAt(s, i); n > 0 {
			b.WriteString(s[last:i])
			b.WriteString(mask)
			i += n
			last = i
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// shortAt returns the length of the longest short password that stands
// as a whole value at s[i:], or 0.
func (rd *redactor) shortAt(s string, i int) int {
	if i > 0 {
		if r, _ := utf8.DecodeLastRuneInString(s[:i]); !isBoundary(r) {
			return 0
		}
	}
	for n := min(longMask-1, len(s)-i); n > 0; n-- {
		if !rd.short[s[i:i+n]] {
			continue
		}
		if i+n == len(s) {
			return n
		}
		if r, _ := utf8.DecodeRuneInString(s[i+n:]); isBoundary(r) {
			return n
		}
	}
	return 0
}

// isBoundary reports whether r ends a value: anything but a letter, a
// digit, a backslash (an escape inside a value) or one of "_-.+~%".
func isBoundary(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_-.+~%\\", r)
}

// findSame returns the index of p itself (the same pointer) in prev, or
// -1. prev and the providers p is taken from are sorted by code and
// visited in order: *j carries the search position from one call to the
// next, so a whole snapshot is matched in one pass without a map.
func findSame(prev []*registry.Provider, p *registry.Provider, j *int) int {
	for *j < len(prev) && prev[*j] != p && prev[*j].Code < p.Code {
		*j++
	}
	if *j < len(prev) && prev[*j] == p {
		*j++
		return *j - 1
	}
	return -1
}
