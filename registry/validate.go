package registry

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Validate checks every rule of a provider whose defaults are applied and
// returns one problem per broken rule, in field order. Problems carry the
// field but no file or line.
func Validate(p *Provider) Problems {
	var ps Problems
	add := func(field, format string, args ...any) {
		ps = append(ps, Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	for _, f := range Fields {
		if f.Kind == KindString {
			if s := *f.str(p); strings.ContainsAny(s, "\r\n\x00") {
				add(f.Path, "must not contain CR, LF or NUL characters")
			} else if !utf8.ValidString(s) {
				add(f.Path, "must be valid UTF-8")
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
	for _, f := range []struct {
		name string
		v    int
	}{{"enabled", p.Enabled}, {"reg", p.Reg}, {"media", p.Media}, {"reinvite", p.Reinvite}, {"translit", p.Translit}} {
		if f.v != 0 && f.v != 1 {
			add(f.name, "must be 0 or 1, got %d", f.v)
		}
	}
	validateAddresses(p, add)
	validateNumbers(p, add)
	if !oneOf(p.PingMode, "none", "rn", "options") {
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
	if !oneOf(p.Transport, "udp", "tcp", "tls") {
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

func checkCode(code string) string {
	if code == "" {
		return "is required"
	}
	if n := utf8.RuneCountInString(code); n > 64 {
		return fmt.Sprintf("must be at most 64 characters, got %d", n)
	}
	for _, r := range code {
		if r == '/' || r == '\\' {
			return "must not contain / or \\"
		}
		if !unicode.IsPrint(r) {
			return fmt.Sprintf("must contain printable characters only, found %U", r)
		}
	}
	return ""
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}
