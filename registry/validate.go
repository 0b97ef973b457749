package registry

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Validate checks every rule of a provider whose defaults are applied and
// returns one problem per broken rule, in field order. Problems carry the
// field but no file or line.
//
// The rules are the one gate between the outside (files, the API) and the
// engines: whatever passes renders with every built-in template. See the
// package doc ("Values") for the rule of each field and why.
func Validate(p *Provider) Problems {
	var ps Problems
	add := func(field, format string, args ...any) {
		ps = append(ps, Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	for _, f := range Fields {
		if f.Kind == KindString {
			if msg := checkText(f.Path, *f.str(p)); msg != "" {
				add(f.Path, "%s", msg)
			}
		}
	}
	if len(ps) > 0 {
		return ps // the rules below would quote the injected text
	}
	if p.ID != "" && !IsUUID(p.ID) {
		add("id", "must be a UUID like c581b67c-016c-d219-b121-50e54938780c")
	}
	if msg := checkCode(p.Code); msg != "" {
		add("code", "%s", msg)
	}
	validateUsers(p, add)
	validateFlags(p, add)
	validateAddresses(p, add)
	validateNumbers(p, add)
	if !slices.Contains([]string{"none", "rn", "options"}, p.PingMode) {
		add("pingmode", "must be one of none, rn, options, got %q", p.PingMode)
	}
	if p.PingSrv != "" {
		if _, _, err := SplitHostPort(p.PingSrv); err != nil {
			add("pingsrv", "must be host or host:port, %v", err)
		}
	}
	if p.LocalDomain != "" && !IsHost(p.LocalDomain) {
		add("localdomain", "must be a host name or IP address, got %q", p.LocalDomain)
	}
	return ps
}

// checkText applies the rules every string field shares: valid UTF-8, no
// control character (C0 with TAB, DEL, C1, U+2028, U+2029), no "${"
// (FreeSWITCH expands it, and no escape hides it), and for every field but
// the free-form opts no white space at either end (Asterisk strips it).
func checkText(path, s string) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for _, r := range s {
		if isControl(r) {
			return fmt.Sprintf("must not contain control characters, found %U", r)
		}
	}
	if strings.Contains(s, "${") {
		return `must not contain "${" (FreeSWITCH would expand it as a variable)`
	}
	if !strings.HasPrefix(path, "opts.") && strings.TrimFunc(s, unicode.IsSpace) != s {
		return "must not begin or end with white space"
	}
	return ""
}

// isControl reports the characters no field may hold: C0 (TAB, CR, LF
// included), DEL, C1 and the Unicode line and paragraph separators.
func isControl(r rune) bool {
	return r < 0x20 || r >= 0x7f && r <= 0x9f || r == '\u2028' || r == '\u2029'
}

// validateUsers checks username and login. The AOR user (username, else
// login) is the user part of SIP URIs; the digest user (login, else
// username) is written into quoted strings without escapes.
func validateUsers(p *Provider, add func(field, format string, args ...any)) {
	if p.Username != "" {
		if c, bad := badSIPUser(p.Username); bad {
			add("username", "must be the user part of a SIP URI (letters, digits, %s or %%HH escapes), found %q", sipUserMarks, c)
		}
	} else if p.Login != "" {
		if c, bad := badSIPUser(p.Login); bad {
			add("login", "must be the user part of a SIP URI when username is empty (letters, digits, %s or %%HH escapes), found %q", sipUserMarks, c)
		}
	}
	if strings.ContainsAny(p.Login, `"\`) {
		add("login", `must not contain '"' or '\' (it is sent as a quoted digest username)`)
	}
}

// sipUserMarks are the characters besides letters and digits that RFC 3261
// allows unescaped in the user part of a SIP URI.
const sipUserMarks = "-_.!~*'()&=+$,;?/"

// badSIPUser returns the first character of s that cannot stand in the
// user part of a SIP URI, and whether there is one.
func badSIPUser(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlnum(c) || strings.IndexByte(sipUserMarks, c) >= 0:
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			i += 2
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return string(r), true
		}
	}
	return "", false
}

// validateFlags checks the 0/1 fields.
func validateFlags(p *Provider, add func(field, format string, args ...any)) {
	for _, f := range []struct {
		name string
		v    int
	}{{"enabled", p.Enabled}, {"reg", p.Reg}, {"media", p.Media}, {"reinvite", p.Reinvite}, {"translit", p.Translit}} {
		if f.v != 0 && f.v != 1 {
			add(f.name, "must be 0 or 1, got %d", f.v)
		}
	}
}

// validateAddresses checks domain, proxy, transport and address lists.
func validateAddresses(p *Provider, add func(field, format string, args ...any)) {
	if p.Domain == "" {
		add("domain", "is required")
	} else if !IsHost(p.Domain) {
		add("domain", "must be a host name or IP address, got %q", p.Domain)
	}
	if p.ProxyAddr != "" && !IsHost(p.ProxyAddr) {
		add("proxyaddr", "must be a host name or IP address, got %q", p.ProxyAddr)
	}
	if p.ProxyPort < 0 || p.ProxyPort > 65535 {
		add("proxyport", "must be a port 0-65535, got %d", p.ProxyPort)
	}
	if !isTransport(p.Transport) {
		add("transport", "must be one of udp, tcp, tls, got %q", p.Transport)
	}
	if _, err := ParseProxies(p.AlternativeProxies); err != nil {
		add("alternative_proxies", "%v", err)
	}
	for _, h := range SplitList(p.ExtAddrs) {
		if !IsHost(h) {
			add("extaddrs", "must be a comma-separated list of host names or IP addresses, %q is neither", h)
			break
		}
	}
}

func validateNumbers(p *Provider, add func(field, format string, args ...any)) {
	if p.ServerIdx < 0 {
		add("serveridx", "must not be negative, got %d", p.ServerIdx)
	}
	if p.TrunksOut < 0 {
		add("trunksout", "must not be negative, got %d", p.TrunksOut)
	}
	if p.Lic.SipTrunks < 0 {
		add("lic.siptrunks", "must not be negative, got %d", p.Lic.SipTrunks)
	}
	if p.Expires != 0 && (p.Expires < 60 || p.Expires > 86400) {
		add("expires", "must be 0 or 60-86400 seconds, got %d", p.Expires)
	}
	if p.PingTimeout < 1 || p.PingTimeout > 3600 {
		add("pingtimeout", "must be 1-3600 seconds, got %d", p.PingTimeout)
	}
}

// MaxCodeLen is the longest code, in characters.
const MaxCodeLen = 64

// checkCode: a code names the trunk in every engine (pjsip section,
// FreeSWITCH gateway, Kamailio l_uuid and duid), in metrics and in file
// names, so it is an engine object name: ASCII letters, digits, '.', '_',
// '+', '-', starting with a letter or digit.
func checkCode(code string) string {
	if code == "" {
		return "is required"
	}
	if n := utf8.RuneCountInString(code); n > MaxCodeLen {
		return fmt.Sprintf("must be at most %d characters, got %d", MaxCodeLen, n)
	}
	if !isAlnum(code[0]) {
		r, _ := utf8.DecodeRuneInString(code)
		return fmt.Sprintf("must start with a letter or digit, found %q", string(r))
	}
	for _, r := range code {
		if r >= utf8.RuneSelf || !isAlnum(byte(r)) && !strings.ContainsRune("._+-", r) {
			return fmt.Sprintf("must be letters, digits, '.', '_', '+' or '-' only, found %q", string(r))
		}
	}
	return ""
}
