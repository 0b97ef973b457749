package importer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/trunkd/trunkd/registry"
)

// sipAddr is the part of a SIP URI (or of a FreeSWITCH "host:port" proxy
// value) the importer uses.
type sipAddr struct {
	Scheme         string // "sip", "sips", or "" when the value had none
	User           string // user part, "" when absent
	Host           string // host name or IP address (IPv6 without brackets)
	Port           int    // 0 when absent
	TransportParam string // the ;transport= parameter, lower case; "" when absent
}

// transport returns the URI's transport parameter, or "tls" for a sips:
// URI without one, or "".
func (a sipAddr) transport() string {
	if a.TransportParam != "" {
		return a.TransportParam
	}
	if a.Scheme == "sips" {
		return "tls"
	}
	return ""
}

// parseSIPAddr parses "sip:user@host:port;params?headers", with or without
// angle brackets, or a bare "host:port;params" (FreeSWITCH proxy values).
func parseSIPAddr(s string) (sipAddr, error) {
	var a sipAddr
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if i := strings.IndexByte(s, ':'); i > 0 && isScheme(s[:i]) {
		a.Scheme = strings.ToLower(s[:i])
		if a.Scheme != "sip" && a.Scheme != "sips" {
			return a, fmt.Errorf("%s: URIs are not SIP URIs", a.Scheme)
		}
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i]
	}
	hostport, params, _ := strings.Cut(s, ";")
	for _, p := range strings.Split(params, ";") {
		if k, v, _ := strings.Cut(p, "="); strings.EqualFold(strings.TrimSpace(k), "transport") {
			a.TransportParam = strings.ToLower(strings.TrimSpace(v))
		}
	}
	if i := strings.LastIndexByte(hostport, '@'); i >= 0 {
		a.User, hostport = hostport[:i], hostport[i+1:]
		if user, _, hasPassword := strings.Cut(a.User, ":"); hasPassword {
			return a, errors.New("the URI holds a password (user:password@host): write the password in the auth section instead")
		} else if user == "" {
			return a, errors.New("empty user part before @")
		}
	}
	host, port, err := registry.SplitHostPort(hostport)
	if err != nil {
		return a, err
	}
	a.Host, a.Port = host, port
	return a, nil
}

// isScheme reports whether s is a URI scheme the importer may meet, so
// that a host name followed by a port is not taken for one: "sip" is a
// scheme, "sbc.example" in "sbc.example:5060" is not.
func isScheme(s string) bool {
	switch strings.ToLower(s) {
	case "sip", "sips", "tel", "urn", "http", "https", "mailto":
		return true
	}
	return false
}

// knownTransport maps a transport name to trunkd's, and reports whether
// it is one trunkd knows. "" stays "".
func knownTransport(t string) (string, bool) {
	switch t = strings.ToLower(t); t {
	case "", "udp", "tcp", "tls":
		return t, true
	}
	return t, false
}

// isOtherHop reports whether a is a next hop other than domain on its
// default port: another host, or a port that is not the transport's
// default (5061 for tls, else 5060).
func (a sipAddr) isOtherHop(domain string) bool {
	defaultPort := 5060
	if a.transport() == "tls" {
		defaultPort = 5061
	}
	return !strings.EqualFold(a.Host, domain) || a.Port != 0 && a.Port != defaultPort
}

// redactURI hides the password of a "sip:user:password@host" URI for
// messages.
func redactURI(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	start := strings.IndexByte(s, ':') + 1 // after the scheme (0 when none)
	if c := strings.IndexByte(s[start:at], ':'); c >= 0 {
		return s[:start+c+1] + "***" + s[at:]
	}
	return s
}
